/**
 * mobilebert: google-research/google-research `mobilebert/` checkpoints → transformers
 * `MobileBertForPreTraining`, as convert_mobilebert_original_tf_checkpoint_to_pytorch.py maps them:
 * the embedding transformation (trigram input), per-layer bottlenecks, stacked FFNs (`ffn_layer_{i}` →
 * `ffn.{i}`), NoNorm stored as `FakeLayerNorm`, and `cls/predictions/extra_output_weights` [vocab,
 * hidden - embedding] transposed into `cls.predictions.dense`. Distillation checkpoints also hold the
 * teacher (`teacher/…`): skipped by name, never walked onto the student.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { jsonPreview } from '../io/python-json.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  BERT_DIMENSIONS,
  bertFeedForwardRules,
  bertLayerRules,
  denseAndNorm,
  embeddingTables,
  lmPredictionRules,
  outputLayer,
  tiedDecoderKeys,
} from './bert-family.js';
import {
  type Dim,
  dense,
  dim,
  layerNorm,
  layersKeys,
  linearKeys,
  normKeys,
  TRANSPOSE,
  TWO,
  tableKey,
  vectorKey,
} from './building-blocks.js';
import { checkDimensions, configFromFacts, countFact, presenceFact, shapeFact } from './checkpoint-facts.js';
import { wordPieceTokenizer } from './tokenizer.js';

const MODEL_CLASS = 'MobileBertForPreTraining';

/** MobileBertConfig() defaults (transformers configuration_mobilebert.py). */
const MOBILEBERT_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0.1,
  classifier_activation: true,
  classifier_dropout: null,
  embedding_size: 128,
  hidden_act: 'relu',
  hidden_dropout_prob: 0,
  hidden_size: 512,
  initializer_range: 0.02,
  intermediate_size: 512,
  intra_bottleneck_size: 128,
  key_query_shared_bottleneck: true,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  normalization_type: 'no_norm',
  num_attention_heads: 4,
  num_feedforward_networks: 4,
  num_hidden_layers: 24,
  pad_token_id: 0,
  trigram_input: true,
  type_vocab_size: 2,
  use_bottleneck: true,
  use_bottleneck_attention: false,
  vocab_size: 30522,
};

/** transformers' NORM2FN: the two normalizations it has, and the TF scope each is stored under. */
const NORM_SCOPES: Readonly<Record<string, string>> = { no_norm: 'FakeLayerNorm', layer_norm: 'LayerNorm' };

const LAYER0 = 'bert/encoder/layer_0';

function buildConfig(input: ConfigInput): ModelConfig {
  const { listing } = input;
  const fact = (field: string, name: string, axis: number) => shapeFact(listing, field, name, axis);
  const has = (name: string) => listing.some((t) => t.name === name);
  /** Whether anything lies under `scope`, as a true/false fact about `field`. */
  const present = (field: string, scope: string) =>
    presenceFact(listing, field, new RegExp(`^${scope}/`), [true, false], scope);
  const shape = (name: string) => listing.find((t) => t.name === name)?.shape;
  const word = shape('bert/embeddings/word_embeddings');
  const transformation = shape('bert/embeddings/embedding_transformation/kernel');
  const stacked = countFact(listing, 'num_feedforward_networks', /^bert\/encoder\/layer_0\/ffn_layer_(\d+)\//, '');
  const bottleneck = has(`${LAYER0}/bottleneck/input/dense/kernel`);
  const valueIn = shape(`${LAYER0}/attention/self/value/kernel`)?.[0];
  const [hidden, intra] = [
    shape('bert/embeddings/position_embeddings')?.[1],
    shape(`${LAYER0}/bottleneck/input/dense/kernel`)?.[1],
  ];
  const facts = [
    fact('vocab_size', 'bert/embeddings/word_embeddings', 0),
    fact('embedding_size', 'bert/embeddings/word_embeddings', 1),
    fact('hidden_size', 'bert/embeddings/position_embeddings', 1),
    fact('max_position_embeddings', 'bert/embeddings/position_embeddings', 0),
    fact('type_vocab_size', 'bert/embeddings/token_type_embeddings', 0),
    fact('intermediate_size', `${LAYER0}/intermediate/dense/kernel`, 1),
    countFact(listing, 'num_hidden_layers', /^bert\/encoder\/layer_(\d+)\//, 'bert/encoder/layer_{n}/'),
    {
      field: 'trigram_input',
      value:
        word && transformation ? transformation[0] === 3 * (word[1] as number) : transformation ? false : undefined,
      evidence: `bert/embeddings/embedding_transformation/kernel [${transformation?.join(', ') ?? 'absent'}] vs 3 × embedding_size`,
    },
    {
      field: 'num_feedforward_networks',
      // the stacked ones plus the layer's own intermediate/output
      value: has(`${LAYER0}/intermediate/dense/kernel`) ? ((stacked.value as number | undefined) ?? 0) + 1 : undefined,
      evidence: `${LAYER0}/ffn_layer_{i}/ count + 1`,
    },
    present('use_bottleneck', `${LAYER0}/bottleneck/input`),
    ...(bottleneck ? [fact('intra_bottleneck_size', `${LAYER0}/bottleneck/input/dense/kernel`, 1)] : []),
    present('key_query_shared_bottleneck', `${LAYER0}/bottleneck/attention`),
    presenceFact(
      listing,
      'normalization_type',
      /^bert\/.*\/FakeLayerNorm\//,
      ['no_norm', 'layer_norm'],
      'FakeLayerNorm',
    ),
    {
      // the value projection reads the bottleneck output (true) or the layer input (false); equal widths tell nothing
      field: 'use_bottleneck_attention',
      value: bottleneck && valueIn !== undefined && hidden !== intra ? valueIn === intra : undefined,
      evidence: `${LAYER0}/attention/self/value/kernel [${valueIn ?? '?'}, …] vs hidden_size ${hidden ?? '?'}, intra_bottleneck_size ${intra ?? '?'}`,
    },
    present('classifier_activation', 'bert/pooler/dense'),
  ];
  const config = configFromFacts(input, {
    defaults: MOBILEBERT_DEFAULTS,
    facts,
    assumptions: [
      { field: 'num_attention_heads', value: 4, why: 'as in every released MobileBERT config' },
      { field: 'hidden_act', value: 'relu', why: 'as in the released MobileBERT configs' },
      { field: 'use_bottleneck_attention', value: false, why: 'as in the released MobileBERT configs' },
    ],
    fixed: { architectures: [MODEL_CLASS], model_type: 'mobilebert' },
    hint: "Pass this checkpoint's MobileBERT config (the original JSON) with --config, or leave --config out to derive it.",
  });
  const where = input.userPath ?? 'the derived config';
  // MobileBertConfig computes it: the width inside the bottleneck
  config.true_hidden_size = config.use_bottleneck === true ? config.intra_bottleneck_size : config.hidden_size;
  checkDimensions(
    config,
    [...BERT_DIMENSIONS, 'embedding_size', 'intra_bottleneck_size', 'num_feedforward_networks'],
    where,
    { width: 'true_hidden_size', heads: 'num_attention_heads' },
  );
  if (NORM_SCOPES[config.normalization_type as string] === undefined)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: normalization_type ${jsonPreview(config.normalization_type)}: transformers has only ${Object.keys(NORM_SCOPES).join(', ')}`,
      { file: where },
    );
  return config;
}

function rules(config: ModelConfig): readonly Rule[] {
  const norm = NORM_SCOPES[config.normalization_type as string];
  const l = 'bert/encoder/layer_{layer}';
  const k = 'mobilebert.encoder.layer.{layer}';
  return [
    ...embeddingTables('bert/embeddings', 'mobilebert.embeddings'),
    ...dense('bert/embeddings/embedding_transformation', 'mobilebert.embeddings.embedding_transformation'),
    ...layerNorm('bert/embeddings', 'mobilebert.embeddings.LayerNorm', norm),
    ...bertLayerRules('bert/encoder', 'mobilebert.encoder', norm),
    ...denseAndNorm(`${l}/output/bottleneck`, `${k}.output.bottleneck`, norm),
    ...['input', 'attention'].flatMap((b) => denseAndNorm(`${l}/bottleneck/${b}`, `${k}.bottleneck.${b}`, norm)),
    ...bertFeedForwardRules(`${l}/ffn_layer_{ffn}`, `${k}.ffn.{ffn}`, norm),
    ...dense('bert/pooler/dense', 'mobilebert.pooler.dense'),
    // the prediction transform is a real LayerNorm whatever normalization_type says
    ...lmPredictionRules('cls/predictions', 'cls.predictions'),
    {
      from: 'cls/predictions/extra_output_weights',
      to: 'cls.predictions.dense.weight',
      transforms: TRANSPOSE,
      note: 'the output columns beyond embedding_size, [vocab, hidden - embedding]: transposed',
    },
    ...outputLayer('cls/seq_relationship', 'cls.seq_relationship', 'stored [out, in] already: no transpose'),
  ];
}

/** MobileBertLayer: attention, intermediate, output (+ its bottleneck), bottleneck, ffn — state_dict order. */
function layerKeys(p: string, config: ModelConfig): ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const T = dim(config, 'true_hidden_size');
  const I = dim(config, 'intermediate_size');
  const B = dim(config, 'intra_bottleneck_size');
  const valueIn = config.use_bottleneck_attention === true ? T : H;
  const keys: ExpectedKey[] = [
    ...linearKeys(`${p}.attention.self.query`, T, T),
    ...linearKeys(`${p}.attention.self.key`, T, T),
    ...linearKeys(`${p}.attention.self.value`, T, valueIn),
    ...linearKeys(`${p}.attention.output.dense`, T, T),
    ...normKeys(`${p}.attention.output.LayerNorm`, T),
    ...linearKeys(`${p}.intermediate.dense`, I, T),
    ...linearKeys(`${p}.output.dense`, T, I),
    ...normKeys(`${p}.output.LayerNorm`, T),
  ];
  if (config.use_bottleneck === true) {
    keys.push(
      ...linearKeys(`${p}.output.bottleneck.dense`, H, T),
      ...normKeys(`${p}.output.bottleneck.LayerNorm`, H),
      ...linearKeys(`${p}.bottleneck.input.dense`, B, H),
      ...normKeys(`${p}.bottleneck.input.LayerNorm`, B),
    );
    if (config.key_query_shared_bottleneck === true)
      keys.push(
        ...linearKeys(`${p}.bottleneck.attention.dense`, B, H),
        ...normKeys(`${p}.bottleneck.attention.LayerNorm`, B),
      );
  }
  for (let i = 0; i < (config.num_feedforward_networks as number) - 1; i++)
    keys.push(
      ...linearKeys(`${p}.ffn.${i}.intermediate.dense`, I, T),
      ...linearKeys(`${p}.ffn.${i}.output.dense`, T, I),
      ...normKeys(`${p}.ffn.${i}.output.LayerNorm`, T),
    );
  return keys;
}

/** MobileBertForPreTraining's state dict (transformers >= 4.31: no position_ids buffer). */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const V = dim(config, 'vocab_size');
  const E = dim(config, 'embedding_size');
  const H = dim(config, 'hidden_size');
  const trigram = config.trigram_input === true;
  const embeddedIn: Dim = trigram ? { size: 3 * E.size, field: '3 * embedding_size' } : E;
  const extra: Dim = { size: H.size - E.size, field: 'hidden_size - embedding_size' };
  return [
    tableKey('mobilebert.embeddings.word_embeddings.weight', V, E),
    tableKey('mobilebert.embeddings.position_embeddings.weight', dim(config, 'max_position_embeddings'), H),
    tableKey('mobilebert.embeddings.token_type_embeddings.weight', dim(config, 'type_vocab_size'), H),
    // the original creates it only with trigram input or a narrower embedding; transformers always has it
    ...linearKeys('mobilebert.embeddings.embedding_transformation', H, embeddedIn, {
      optional: !trigram && E.size === H.size,
    }),
    ...normKeys('mobilebert.embeddings.LayerNorm', H),
    ...layersKeys('mobilebert.encoder', config, layerKeys),
    ...(config.classifier_activation === true ? linearKeys('mobilebert.pooler.dense', H, H) : []),
    vectorKey('cls.predictions.bias', V),
    ...linearKeys('cls.predictions.transform.dense', H, H),
    ...normKeys('cls.predictions.transform.LayerNorm', H),
    ...linearKeys('cls.predictions.dense', extra, V, { bias: false, optional: extra.size === 0 }),
    ...tiedDecoderKeys('cls.predictions', V, E, 'mobilebert.embeddings.word_embeddings.weight'),
    ...linearKeys('cls.seq_relationship', TWO, H),
  ];
}

export const mobilebert: Architecture = {
  modelType: 'mobilebert',
  summary: `google-research mobilebert/ checkpoints (incl. distillation ones) → ${MODEL_CLASS}`,
  detect: {
    // bert's scopes plus what only MobileBERT's modeling.py creates
    names: [
      '^bert/encoder/layer_\\d+/(bottleneck|ffn_layer_\\d+)/',
      '^bert/embeddings/(embedding_transformation|FakeLayerNorm)/',
    ],
    specialises: ['bert'],
    baseClass: MODEL_CLASS,
  },
  buildConfig,
  skip: [
    {
      pattern: '^teacher/',
      reason: "distillation teacher, not part of the student (transformers' walker would land it on the student)",
    },
    {
      pattern: '^hidden_distill_\\d+/',
      reason: 'distillation loss normalisation (trainable=False), not a model weight',
    },
  ],
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  tokenizer: wordPieceTokenizer('MobileBertTokenizer'),
};
