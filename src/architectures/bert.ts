/**
 * bert: google-research/bert checkpoints (`bert/encoder/layer_{n}/…`, `cls/…`) → transformers
 * `BertForPreTraining`, as `transformers-cli convert --model_type bert` does it (REFERENCE D.1):
 * dense kernels are stored [in, out] and transposed; `cls/seq_relationship/output_weights` is already
 * [out, in]; the decoder is tied to the word embeddings and its bias to `cls.predictions.bias`.
 * Fine-tuned heads choose the class: run_classifier.py's root `output_weights` → `BertForSequenceClassification`,
 * run_squad.py's `cls/squad/output_weights` → `BertForQuestionAnswering` (whose BertModel has no pooler).
 * Optimizer slots and the step counter are skipped; a leading `module/` scope is accepted.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { HeadSignature } from '../mapping/detection.js';
import { normalizeName } from '../mapping/plan.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule, SkipRule } from '../mapping/types.js';
import { chooseHead, findHeads, numLabelsOf } from './heads.js';

/** BertConfig() defaults (transformers configuration_bert.py); extra keys of the user's file are kept. */
const BERT_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0.1,
  classifier_dropout: null,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 30522,
};

const DIMENSIONS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
  'type_vocab_size',
] as const;

const PRE_TRAINING = 'BertForPreTraining';
const SEQUENCE_CLASSIFICATION = 'BertForSequenceClassification';
const QUESTION_ANSWERING = 'BertForQuestionAnswering';

/** The heads of the original fine-tuning scripts, as their variables are named (after `module/`). */
const HEADS: readonly HeadSignature[] = [
  // run_classifier.py create_model: tf.get_variable("output_weights", [num_labels, hidden_size]) at the root.
  { variable: '^output_weights$', modelClass: SEQUENCE_CLASSIFICATION, labelsAxis: 0 },
  // run_squad.py create_model: tf.get_variable("cls/squad/output_weights", [2, hidden_size]).
  { variable: '^cls/squad/output_weights$', modelClass: QUESTION_ANSWERING },
];

const headClass = (config: ModelConfig) => (config.architectures as string[])[0];

function buildConfig(input: ConfigInput): ModelConfig {
  if (input.user === undefined) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      'bert needs its bert_config.json: pass --config <path>/bert_config.json (none found beside the checkpoint)',
    );
  }
  const where = input.userPath ?? 'the config';
  const chosen = chooseHead({
    found: findHeads(input.listing, HEADS, (n) => normalizeName(bert, n)),
    task: input.finetuningTask,
    baseClass: PRE_TRAINING,
    note: input.note,
  });
  const config: ModelConfig = {
    ...BERT_DEFAULTS,
    ...input.user,
    ...chosen.fields,
    architectures: [chosen.modelClass],
    model_type: 'bert',
  };
  const bad = DIMENSIONS.filter((f) => !Number.isSafeInteger(config[f]) || (config[f] as number) < 1);
  if (bad.length > 0) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: ${bad.map((f) => `${f} must be a positive integer (got ${JSON.stringify(config[f])})`).join('; ')}`,
      { file: where },
    );
  }
  if ((config.hidden_size as number) % (config.num_attention_heads as number) !== 0) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: hidden_size ${String(config.hidden_size)} is not a multiple of num_attention_heads ${String(config.num_attention_heads)}`,
      { file: where },
    );
  }
  return config;
}

const TRANSPOSE = [{ op: 'transpose' }] as const;

/** A dense layer: TF `kernel` [in, out] → `weight` [out, in], `bias` as is. */
const dense = (tf: string, pt: string): Rule[] => [
  { from: `${tf}/kernel`, to: `${pt}.weight`, transforms: TRANSPOSE },
  { from: `${tf}/bias`, to: `${pt}.bias` },
];
/** A LayerNorm: TF `gamma`/`beta` → `weight`/`bias`. */
const layerNorm = (tf: string, pt: string): Rule[] => [
  { from: `${tf}/gamma`, to: `${pt}.weight` },
  { from: `${tf}/beta`, to: `${pt}.bias` },
];

const LAYER = 'bert/encoder/layer_{layer}';
const LAYER_KEY = 'bert.encoder.layer.{layer}';

function rules(): readonly Rule[] {
  return [
    { from: 'bert/embeddings/word_embeddings', to: 'bert.embeddings.word_embeddings.weight' },
    { from: 'bert/embeddings/position_embeddings', to: 'bert.embeddings.position_embeddings.weight' },
    { from: 'bert/embeddings/token_type_embeddings', to: 'bert.embeddings.token_type_embeddings.weight' },
    ...layerNorm('bert/embeddings/LayerNorm', 'bert.embeddings.LayerNorm'),
    ...['query', 'key', 'value'].flatMap((p) =>
      dense(`${LAYER}/attention/self/${p}`, `${LAYER_KEY}.attention.self.${p}`),
    ),
    ...dense(`${LAYER}/attention/output/dense`, `${LAYER_KEY}.attention.output.dense`),
    ...layerNorm(`${LAYER}/attention/output/LayerNorm`, `${LAYER_KEY}.attention.output.LayerNorm`),
    ...dense(`${LAYER}/intermediate/dense`, `${LAYER_KEY}.intermediate.dense`),
    ...dense(`${LAYER}/output/dense`, `${LAYER_KEY}.output.dense`),
    ...layerNorm(`${LAYER}/output/LayerNorm`, `${LAYER_KEY}.output.LayerNorm`),
    ...dense('bert/pooler/dense', 'bert.pooler.dense'),
    { from: 'cls/predictions/output_bias', to: 'cls.predictions.bias' },
    ...dense('cls/predictions/transform/dense', 'cls.predictions.transform.dense'),
    ...layerNorm('cls/predictions/transform/LayerNorm', 'cls.predictions.transform.LayerNorm'),
    {
      from: 'cls/seq_relationship/output_weights',
      to: 'cls.seq_relationship.weight',
      note: 'stored [out, in] already: no transpose',
    },
    { from: 'cls/seq_relationship/output_bias', to: 'cls.seq_relationship.bias' },
    { from: 'output_weights', to: 'classifier.weight', note: 'run_classifier.py head, stored [num_labels, hidden]' },
    { from: 'output_bias', to: 'classifier.bias' },
    { from: 'cls/squad/output_weights', to: 'qa_outputs.weight', note: 'run_squad.py head, stored [2, hidden]' },
    { from: 'cls/squad/output_bias', to: 'qa_outputs.bias' },
  ];
}

/** Variables of parts the chosen class does not have: transformers' class has no place for them. */
function configSkip(config: ModelConfig): readonly SkipRule[] {
  const head = headClass(config);
  if (head === PRE_TRAINING) return [];
  const out: SkipRule[] = [
    { pattern: '^cls/(predictions|seq_relationship)/', reason: `pre-training head: ${head} has none` },
  ];
  if (head === QUESTION_ANSWERING)
    out.push({
      pattern: '^bert/pooler/',
      reason: `pooler: ${head} has none (transformers builds its BertModel with add_pooling_layer=False)`,
    });
  return out;
}

/** BertForPreTraining's state dict (transformers >= 4.31: no position_ids buffer), in state_dict order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const n = (f: string) => config[f] as number;
  const [V, H, I, P, T, L] = [
    n('vocab_size'),
    n('hidden_size'),
    n('intermediate_size'),
    n('max_position_embeddings'),
    n('type_vocab_size'),
    n('num_hidden_layers'),
  ];
  const vec = (key: string, size: number, fromConfig: string, optional = false): ExpectedKey => ({
    key,
    shape: [size],
    fromConfig,
    optional,
  });
  const linear = (key: string, out: number, inp: number, fields: [string, string], optional = false): ExpectedKey[] => [
    { key: `${key}.weight`, shape: [out, inp], fromConfig: `[${fields[0]}, ${fields[1]}]`, optional },
    vec(`${key}.bias`, out, `[${fields[0]}]`, optional),
  ];
  const norm = (key: string, optional = false): ExpectedKey[] => [
    vec(`${key}.weight`, H, '[hidden_size]', optional),
    vec(`${key}.bias`, H, '[hidden_size]', optional),
  ];
  const hh: [string, string] = ['hidden_size', 'hidden_size'];
  const keys: ExpectedKey[] = [
    { key: 'bert.embeddings.word_embeddings.weight', shape: [V, H], fromConfig: '[vocab_size, hidden_size]' },
    {
      key: 'bert.embeddings.position_embeddings.weight',
      shape: [P, H],
      fromConfig: '[max_position_embeddings, hidden_size]',
    },
    {
      key: 'bert.embeddings.token_type_embeddings.weight',
      shape: [T, H],
      fromConfig: '[type_vocab_size, hidden_size]',
    },
    ...norm('bert.embeddings.LayerNorm'),
  ];
  for (let l = 0; l < L; l++) {
    const k = `bert.encoder.layer.${l}`;
    keys.push(
      ...linear(`${k}.attention.self.query`, H, H, hh),
      ...linear(`${k}.attention.self.key`, H, H, hh),
      ...linear(`${k}.attention.self.value`, H, H, hh),
      ...linear(`${k}.attention.output.dense`, H, H, hh),
      ...norm(`${k}.attention.output.LayerNorm`),
      ...linear(`${k}.intermediate.dense`, I, H, ['intermediate_size', 'hidden_size']),
      ...linear(`${k}.output.dense`, H, I, ['hidden_size', 'intermediate_size']),
      ...norm(`${k}.output.LayerNorm`),
    );
  }
  const head = headClass(config);
  if (head === SEQUENCE_CLASSIFICATION) {
    const N = numLabelsOf(config);
    keys.push(
      ...linear('bert.pooler.dense', H, H, hh),
      { key: 'classifier.weight', shape: [N, H], fromConfig: '[num_labels, hidden_size]' },
      vec('classifier.bias', N, '[num_labels]'),
    );
    return keys;
  }
  if (head === QUESTION_ANSWERING) {
    keys.push(
      { key: 'qa_outputs.weight', shape: [2, H], fromConfig: '[2, hidden_size]' },
      vec('qa_outputs.bias', 2, '[2]'),
    );
    return keys;
  }
  // The pooler and the pre-training heads are absent from encoder-only checkpoints. The LM bias starts at
  // zeros in run_pretraining.py (`output_bias`, zeros_initializer) as in transformers
  // (BertLMPredictionHead.bias = zeros): an absent one is written as zeros.
  keys.push(
    ...linear('bert.pooler.dense', H, H, hh, true),
    { ...vec('cls.predictions.bias', V, '[vocab_size]'), zerosWhenAbsent: true },
    ...linear('cls.predictions.transform.dense', H, H, hh, true),
    ...norm('cls.predictions.transform.LayerNorm', true),
    { key: 'cls.predictions.decoder.weight', shape: [V, H], aliasOf: 'bert.embeddings.word_embeddings.weight' },
    { key: 'cls.predictions.decoder.bias', shape: [V], aliasOf: 'cls.predictions.bias' },
    { key: 'cls.seq_relationship.weight', shape: [2, H], fromConfig: '[2, hidden_size]', optional: true },
    vec('cls.seq_relationship.bias', 2, '[2]', true),
  );
  return keys;
}

export const bert: Architecture = {
  modelType: 'bert',
  summary:
    'google-research/bert checkpoints → BertForPreTraining, or BertForSequenceClassification / BertForQuestionAnswering when fine-tuned',
  detect: {
    names: ['^(module/)?bert/encoder/layer_\\d+/'],
    sidecars: ['bert_config.json'],
    baseClass: PRE_TRAINING,
    heads: HEADS,
  },
  configFileNames: ['bert_config.json', 'config.json'],
  takesFinetuningTask: true,
  buildConfig,
  stripPrefixes: ['module/'],
  configSkip,
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
};
