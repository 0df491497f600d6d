/**
 * big_bird: google-research/bigbird pre-training checkpoints (bigbird/core/modeling.py BertModel under the
 * `bert` scope, encoder.py's PostnormEncoderLayer `layer_{n}` with BERT's scopes, utils.py's EmbeddingLayer
 * and NormLayer; bigbird/pretrain/run_pretraining.py's MaskedLMLayer `cls/predictions` and NSPLayer
 * `cls/seq_relationship`; optimization.py's AdamWeightDecayOptimizer slots) → `BigBirdForPreTraining`, as
 * transformers' convert_bigbird_original_tf_checkpoint_to_pytorch.py (load_tf_weights_in_big_bird) maps it:
 * BERT's layout but for the embeddings' LayerNorm, which EncoderStack keeps as `bert/encoder/LayerNorm`
 * (post-norm: applied to the embeddings before the first layer), the pooler (an nn.Linear of its own,
 * `bert.pooler`) and the MLM transform, whose kernel and norm sit directly in `cls/predictions/transform`.
 * Config: transformers' BigBirdConfig, or the original's own (`pretrain.config`, written beside the
 * checkpoints by flags.save), or the shapes with the original's defaults for what no tensor shows.
 *
 * The TriviaQA release is a TF2 SavedModel of Model Garden's TriviaQaModel (tensorflow/models
 * official/projects/triviaqa/modeling.py: projects/bigbird/encoder.py's BigBirdEncoder, whose layers are
 * `word_embeddings`, `position_embedding`, `type_embeddings`, `embeddings/layer_norm` and
 * `transformer_scaffold[_N]` with `big_bird_attention/{query,key,value,attention_output}`,
 * `self_attention_layer_norm`, `intermediate`, `output`, `output_layer_norm` (nlp/modeling/layers/
 * transformer_scaffold.py); then TriviaQaHead `trivia_qa_head` with `dense` (intermediate),
 * `layer_normalization`, `dense_1` (logits) and, built later in a scratch graph, a second `dense` (the
 * output dense)). transformers' --is_trivia_qa reads `tf.saved_model.load(path).variables` by `var.name`
 * and renames them (`savedModelNames`: _TRIVIA_QA_MAPPING, `transformer_scaffold_N` → `layer_N`, and the
 * last two variables, the repeated `dense`, as `output`) → `BigBirdForQuestionAnswering`.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  BERT_DIMENSIONS,
  BERT_HEADS,
  bertEmbeddingKeys,
  bertLayerKeys,
  bertLayerRulesAt,
  embeddingFacts,
  embeddingTables,
  outputLayer,
  tiedDecoderKeys,
} from './bert-family.js';
import {
  dense,
  dim,
  layerNorm,
  layersKeys,
  linearKeys,
  normKeys,
  TRANSPOSE,
  TWO,
  vectorKey,
} from './building-blocks.js';
import {
  checkDimensions,
  configFromFacts,
  countFact,
  shapeFact,
  shapeOf,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';

const MODEL_CLASS = 'BigBirdForPreTraining';
const QA_CLASS = 'BigBirdForQuestionAnswering';
const isQa = (config: ModelConfig) => (config.architectures as string[])[0] === QA_CLASS;
/** The file bigbird/pretrain/run_pretraining.py writes beside its checkpoints (flags.save: the flags as JSON). */
const PRETRAIN_CONFIG = 'pretrain.config';

/** BigBirdConfig() defaults (transformers configuration_big_bird.py). */
const BIG_BIRD_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0.1,
  attention_type: 'block_sparse',
  block_size: 64,
  bos_token_id: 1,
  classifier_dropout: null,
  eos_token_id: 2,
  hidden_act: 'gelu_new',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 4096,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  num_random_blocks: 3,
  pad_token_id: 0,
  rescale_embeddings: false,
  sep_token_id: 66,
  type_vocab_size: 2,
  use_bias: true,
  use_cache: true,
  vocab_size: 50358,
};

/**
 * The original's flags (bigbird/core/flags.py as_dictionary) that are BigBirdConfig fields, and their
 * names there; the rest (TPU, optimizer, data settings) describe training, not the model.
 */
const ORIGINAL_FIELDS: Readonly<Record<string, string>> = {
  attention_probs_dropout_prob: 'attention_probs_dropout_prob',
  attention_type: 'attention_type',
  block_size: 'block_size',
  hidden_act: 'hidden_act',
  hidden_dropout_prob: 'hidden_dropout_prob',
  hidden_size: 'hidden_size',
  initializer_range: 'initializer_range',
  intermediate_size: 'intermediate_size',
  max_position_embeddings: 'max_position_embeddings',
  num_attention_heads: 'num_attention_heads',
  num_hidden_layers: 'num_hidden_layers',
  num_rand_blocks: 'num_random_blocks',
  rescale_embedding: 'rescale_embeddings',
  type_vocab_size: 'type_vocab_size',
  use_bias: 'use_bias',
  vocab_size: 'vocab_size',
};
/** Keys only the original's flags have: such a --config is translated, not read as a BigBirdConfig. */
const ORIGINAL_ONLY = ['num_rand_blocks', 'norm_type', 'max_encoder_length', 'scope'];

/**
 * The original's flags as BigBirdConfig fields. Its `gelu` is utils.gelu, the tanh approximation:
 * transformers' `gelu_new`. A pre-norm model (`norm_type: prenorm`) has no BigBird class in transformers.
 */
function fromOriginalFlags(flags: ModelConfig, source: string, note?: (text: string) => void): ModelConfig {
  if (flags.norm_type !== undefined && flags.norm_type !== 'postnorm')
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source}: 'norm_type' is ${JSON.stringify(flags.norm_type)}: transformers' BigBird is post-norm only (the bigbr_* releases); a pre-norm encoder has no class to load it`,
      { file: source },
    );
  const out: ModelConfig = {};
  for (const [from, to] of Object.entries(ORIGINAL_FIELDS)) if (flags[from] !== undefined) out[to] = flags[from];
  if (out.hidden_act === 'gelu') out.hidden_act = 'gelu_new';
  note?.(
    `${source} is the original's flags file: its model fields read as BigBirdConfig's (num_rand_blocks → num_random_blocks, rescale_embedding → rescale_embeddings, gelu → gelu_new: the original's tanh approximation)`,
  );
  return out;
}

const isOriginalFlags = (config: ModelConfig): boolean => ORIGINAL_ONLY.some((k) => k in config);

function buildConfig(input: ConfigInput): ModelConfig {
  if (input.listing.some((t) => t.name === QA_OUTPUTS)) return triviaQaConfig(input);
  const source = input.userPath ?? '--config';
  const user =
    input.user !== undefined && isOriginalFlags(input.user)
      ? fromOriginalFlags(input.user, source, input.note)
      : input.user;
  const fact = (field: string, name: string, axis: number) => shapeFact(input.listing, field, name, axis);
  const config = configFromFacts(
    { ...input, user },
    {
      defaults: BIG_BIRD_DEFAULTS,
      facts: [
        ...embeddingFacts(input.listing, 'bert/embeddings', 'hidden_size'),
        fact('intermediate_size', 'bert/encoder/layer_0/intermediate/dense/kernel', 1),
        countFact(input.listing, 'num_hidden_layers', /^bert\/encoder\/layer_(\d+)\//, 'bert/encoder/layer_{n}/'),
      ],
      assumptions: [
        {
          field: 'num_attention_heads',
          value: Math.max(1, Math.floor((shapeOf(input.listing, 'bert/embeddings/word_embeddings')?.[1] ?? 768) / 64)),
          why: 'hidden_size / 64, as bigbr_base (768/12) and bigbr_large (1024/16)',
        },
        { field: 'attention_type', value: 'block_sparse', why: "the original's flags.py default" },
        { field: 'block_size', value: 16, why: "the original's flags.py default" },
        { field: 'num_random_blocks', value: 3, why: "the original's flags.py default (num_rand_blocks)" },
        { field: 'hidden_act', value: 'gelu_new', why: "the original's gelu, the tanh approximation" },
      ],
      fixed: { architectures: [MODEL_CLASS], model_type: 'big_bird', transformers_version: TRANSFORMERS_VERSION },
      hint: "Pass this checkpoint's BigBirdConfig (config.json) or the original's pretrain.config with --config, or leave --config out to derive it.",
    },
  );
  checkDimensions(config, BERT_DIMENSIONS, input.userPath ?? 'the derived config', BERT_HEADS);
  return config;
}

/**
 * An attention kernel as transformers loads it: reshaped to [hidden, hidden] first (a no-op on the 2-D
 * kernels google-research/bigbird's Dense3dLayer/Dense3dProjLayer store, in every version of utils.py;
 * [hidden, heads, head_dim] and [heads, head_dim, hidden] kernels of TF2 exports become the same matrix
 * load_tf_weights_in_big_bird's transposes give), then transposed.
 */
function attentionRules(hidden: number): Rule[] {
  const layer = 'bert/encoder/layer_{layer}';
  const pt = 'bert.encoder.layer.{layer}';
  const kernel = [{ op: 'reshape', shape: [hidden, hidden] }, ...TRANSPOSE] as const;
  const note = '2-D as the original stores it; a 3-D kernel is reshaped to [hidden, hidden] first (transformers)';
  return [
    ...(['query', 'key', 'value'] as const).flatMap((p) => [
      { from: `${layer}/attention/self/${p}/kernel`, to: `${pt}.attention.self.${p}.weight`, transforms: kernel, note },
      {
        from: `${layer}/attention/self/${p}/bias`,
        to: `${pt}.attention.self.${p}.bias`,
        transforms: [{ op: 'reshape', shape: [hidden] }] as const,
      },
    ]),
    {
      from: `${layer}/attention/output/dense/kernel`,
      to: `${pt}.attention.output.dense.weight`,
      transforms: kernel,
      note,
    },
  ];
}

function rules(config: ModelConfig): readonly Rule[] {
  if (isQa(config)) return triviaQaRules(config);
  return [
    ...embeddingTables('bert/embeddings', 'bert.embeddings'),
    ...layerNorm('bert/encoder', 'bert.embeddings.LayerNorm').map((r) => ({
      ...r,
      note: "EncoderStack's post-norm LayerNorm, applied to the embeddings: BigBirdEmbeddings' (transformers)",
    })),
    ...attentionRules(config.hidden_size as number),
    ...bertLayerRulesAt('bert/encoder/layer_{layer}', 'bert.encoder.layer.{layer}'),
    ...dense('bert/pooler/dense', 'bert.pooler'),
    { from: 'cls/predictions/output_bias', to: 'cls.predictions.bias' },
    // MaskedLMLayer: Dense2dLayer and NormLayer both named "transform" (run_pretraining.py)
    ...dense('cls/predictions/transform', 'cls.predictions.transform.dense'),
    { from: 'cls/predictions/transform/gamma', to: 'cls.predictions.transform.LayerNorm.weight' },
    { from: 'cls/predictions/transform/beta', to: 'cls.predictions.transform.LayerNorm.bias' },
    ...outputLayer('cls/seq_relationship', 'cls.seq_relationship', 'stored [out, in] already: no transpose'),
  ];
}

/**
 * BigBirdForPreTraining's state dict, in state_dict order; the decoder tied to the word table, its bias to
 * `cls.predictions.bias`. run_pretraining.py creates every one of these variables, so none may be absent.
 */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  if (isQa(config)) return triviaQaKeys(config);
  const V = dim(config, 'vocab_size');
  const H = dim(config, 'hidden_size');
  // position_ids is a persistent buffer up to transformers 4.30, and BigBirdForPreTraining does not ignore it:
  // without it, 4.29 reports the key missing and "newly initialized"
  const P = config.max_position_embeddings as number;
  return [
    { key: 'bert.embeddings.position_ids', shape: [1, P], dtype: 'int64', generate: { kind: 'arange', count: P } },
    ...bertEmbeddingKeys('bert.embeddings', config, H),
    ...layersKeys('bert.encoder', config, bertLayerKeys),
    ...linearKeys('bert.pooler', H, H),
    vectorKey('cls.predictions.bias', V),
    ...linearKeys('cls.predictions.transform.dense', H, H),
    ...normKeys('cls.predictions.transform.LayerNorm', H),
    ...tiedDecoderKeys('cls.predictions', V, H, 'bert.embeddings.word_embeddings.weight'),
    ...linearKeys('cls.seq_relationship', TWO, H),
  ];
}

/** transformers' _TRIVIA_QA_MAPPING (modeling_big_bird.py): Keras scope → the TF1 scope it loads as. */
const TRIVIA_QA_SCOPES: Readonly<Record<string, string>> = {
  big_bird_attention: 'attention/self',
  output_layer_norm: 'output/LayerNorm',
  attention_output: 'attention/output/dense',
  output: 'output/dense',
  self_attention_layer_norm: 'attention/output/LayerNorm',
  intermediate: 'intermediate/dense',
  word_embeddings: 'bert/embeddings/word_embeddings',
  position_embedding: 'bert/embeddings/position_embeddings',
  type_embeddings: 'bert/embeddings/token_type_embeddings',
  embeddings: 'bert/embeddings',
  layer_normalization: 'output/LayerNorm',
  layer_norm: 'LayerNorm',
  trivia_qa_head: 'qa_classifier',
  dense: 'intermediate/dense',
  dense_1: 'qa_outputs',
};
const SCAFFOLD = /^transformer_scaffold(?:_(\d+))?$/;
const QA_HEAD = 'trivia_qa_head/';

/**
 * The TriviaQA SavedModel's `var.name`s, in `.variables` order, as load_tf_weights_trivia_qa renames them:
 * `transformer_scaffold[_N]` → `bert/encoder/layer_N`, each scope through _TRIVIA_QA_MAPPING, `:0` dropped,
 * `self/attention/output` → `output`, and `intermediate` → `output` in the last two (the head's output
 * dense, a second `dense`). Undefined for a SavedModel without the encoder's layers and the head.
 */
function triviaQaNames(names: readonly string[]): readonly string[] | undefined {
  if (!names.some((n) => n.startsWith(QA_HEAD)) || !names.some((n) => SCAFFOLD.test(n.split('/')[0]!)))
    return undefined;
  return names.map((varName, i) => {
    const items = varName.split('/');
    const layer = SCAFFOLD.exec(items[0]!);
    if (layer !== null) items[0] = `bert/encoder/layer_${layer[1] ?? '0'}`;
    let name = items.map((x) => TRIVIA_QA_SCOPES[x] ?? x).join('/');
    if (name.endsWith(':0')) name = name.slice(0, -2);
    name = name.replaceAll('self/attention/output', 'output');
    return i >= names.length - 2 ? name.replaceAll('intermediate', 'output') : name;
  });
}

const QA_TABLE = (table: string) => `bert/embeddings/${table}_embeddings/embeddings`;
const QA_OUTPUTS = 'qa_classifier/qa_outputs/kernel';

/** The TriviaQA model's config: a BigBirdConfig, or its shapes and the BigBirdEncoder's defaults. */
function triviaQaConfig(input: ConfigInput): ModelConfig {
  const fact = (field: string, name: string, axis: number) => shapeFact(input.listing, field, name, axis);
  const query = 'bert/encoder/layer_0/attention/self/query/kernel';
  const config = configFromFacts(input, {
    defaults: BIG_BIRD_DEFAULTS,
    facts: [
      fact('vocab_size', QA_TABLE('word'), 0),
      fact('hidden_size', QA_TABLE('word'), 1),
      fact('max_position_embeddings', QA_TABLE('position'), 0),
      fact('type_vocab_size', QA_TABLE('token_type'), 0),
      fact('intermediate_size', 'bert/encoder/layer_0/intermediate/dense/kernel', 1),
      countFact(input.listing, 'num_hidden_layers', /^bert\/encoder\/layer_(\d+)\//, 'bert/encoder/layer_{n}/'),
      // EinsumDense's query kernel is [hidden, heads, head_dim]
      ...(shapeOf(input.listing, query)?.length === 3 ? [fact('num_attention_heads', query, 1)] : []),
    ],
    assumptions: [
      {
        field: 'num_attention_heads',
        value: Math.max(1, Math.floor((shapeOf(input.listing, QA_TABLE('word'))?.[1] ?? 768) / 64)),
        why: 'hidden_size / 64',
      },
      { field: 'attention_type', value: 'block_sparse', why: "BigBirdEncoder's attention" },
      { field: 'block_size', value: 64, why: "BigBirdEncoder's default" },
      { field: 'num_random_blocks', value: 3, why: "BigBirdEncoder's default (num_rand_blocks)" },
      { field: 'hidden_act', value: 'gelu_new', why: "Model Garden's gelu, the tanh approximation" },
    ],
    fixed: { architectures: [QA_CLASS], model_type: 'big_bird', transformers_version: TRANSFORMERS_VERSION },
    hint: "Pass the release's BigBirdConfig (config.json) with --config, or leave --config out to derive it.",
  });
  checkDimensions(config, BERT_DIMENSIONS, input.userPath ?? 'the derived config', BERT_HEADS);
  return config;
}

/** BigBirdForQuestionAnswering from the renamed TriviaQA variables (names as load_tf_weights_trivia_qa makes them). */
function triviaQaRules(config: ModelConfig): Rule[] {
  return [
    { from: QA_TABLE('word'), to: 'bert.embeddings.word_embeddings.weight' },
    { from: QA_TABLE('position'), to: 'bert.embeddings.position_embeddings.weight' },
    { from: QA_TABLE('token_type'), to: 'bert.embeddings.token_type_embeddings.weight' },
    ...layerNorm('bert/embeddings', 'bert.embeddings.LayerNorm'),
    ...attentionRules(config.hidden_size as number),
    ...bertLayerRulesAt('bert/encoder/layer_{layer}', 'bert.encoder.layer.{layer}'),
    ...dense('qa_classifier/intermediate/dense', 'qa_classifier.intermediate.dense'),
    ...dense('qa_classifier/output/dense', 'qa_classifier.output.dense'),
    ...layerNorm('qa_classifier/output', 'qa_classifier.output.LayerNorm'),
    ...dense('qa_classifier/qa_outputs', 'qa_classifier.qa_outputs'),
  ];
}

/** BigBirdForQuestionAnswering's state dict (no pooler: add_pooling_layer=False), in state_dict order. */
function triviaQaKeys(config: ModelConfig): readonly ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const I = dim(config, 'intermediate_size');
  return [
    ...bertEmbeddingKeys('bert.embeddings', config, H),
    ...layersKeys('bert.encoder', config, bertLayerKeys),
    ...linearKeys('qa_classifier.intermediate.dense', I, H),
    ...linearKeys('qa_classifier.output.dense', H, I),
    ...normKeys('qa_classifier.output.LayerNorm', H),
    ...linearKeys('qa_classifier.qa_outputs', TWO, H),
  ];
}

export const bigBird: Architecture = {
  modelType: 'big_bird',
  aliases: ['bigbird'],
  summary: `google-research/bigbird pre-training checkpoints (bigbr_base, bigbr_large) → ${MODEL_CLASS}; the TriviaQA SavedModel → ${QA_CLASS} (also --model_type bigbird)`,
  detect: {
    // BERT's scopes, but the embeddings' LayerNorm kept by the post-norm EncoderStack
    names: ['^bert/encoder/LayerNorm/gamma$'],
    requires: ['^bert/encoder/layer_\\d+/attention/self/query/kernel$'],
    absent: ['^bert/embeddings/LayerNorm/'],
    specialises: ['bert'],
    sidecars: [PRETRAIN_CONFIG],
    baseClass: MODEL_CLASS,
  },
  configFileNames: [PRETRAIN_CONFIG, 'config.json'],
  buildConfig,
  rules,
  expectedKeys,
  savedModelNames: triviaQaNames,
  tokenizerFiles: [{ from: ['spiece.model', 'gpt2.model'], to: 'spiece.model' }],
};
