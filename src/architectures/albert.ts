/**
 * albert: google-research/albert and TF-Hub checkpoints (`bert/encoder/transformer/group_0/…`, with or
 * without a `module/` prefix) → transformers `AlbertForPreTraining` (MLM head + sentence-order head).
 * Names first go through transformers' own substring rewrites, in its order; the rules below are
 * written against the rewritten names. Fine-tuned heads choose the class: classifier_utils.py's root
 * `output_weights` → `AlbertForSequenceClassification`, squad_utils.py's v1 `cls/squad/output_weights`
 * → `AlbertForQuestionAnswering` (whose AlbertModel has no pooler).
 */
import type { HeadSignature } from '../mapping/detection.js';
import { normalizeName } from '../mapping/plan.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule, SkipRule } from '../mapping/types.js';
import {
  configSource,
  countIndexed,
  type Disagreement,
  intField,
  refuseDisagreements,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';
import { chooseHead, findHeads, numLabelsOf } from './heads.js';

/** AlbertConfig() defaults (transformers configuration_albert.py). */
const ALBERT_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0,
  bos_token_id: 2,
  classifier_dropout_prob: 0.1,
  embedding_size: 128,
  eos_token_id: 3,
  hidden_act: 'gelu_new',
  hidden_dropout_prob: 0,
  hidden_size: 4096,
  initializer_range: 0.02,
  inner_group_num: 1,
  intermediate_size: 16384,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  num_attention_heads: 64,
  num_hidden_groups: 1,
  num_hidden_layers: 12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  type_vocab_size: 2,
  vocab_size: 30000,
};

/** transformers' load_tf_weights_in_albert rewrites, applied in this order to the whole name. */
const RENAMES = [
  ['module/', ''],
  ['ffn_1', 'ffn'],
  ['bert/', 'albert/'],
  ['attention_1', 'attention'],
  ['transform/', ''],
  ['LayerNorm_1', 'full_layer_layer_norm'],
  ['LayerNorm', 'attention/LayerNorm'],
  ['transformer/', ''],
  ['intermediate/dense/', ''],
  ['ffn/intermediate/output/dense/', 'ffn_output/'],
  ['/output/', '/'],
  ['/self/', '/'],
  ['pooler/dense', 'pooler'],
  ['cls/predictions', 'predictions'],
  ['predictions/attention', 'predictions'],
  ['embeddings/attention', 'embeddings'],
  ['inner_group_', 'albert_layers/'],
  ['group_', 'albert_layer_groups/'],
].map(([from, to]) => ({ from: from as string, to: to as string }));

const T = [{ op: 'transpose' }] as const;
const LAYER = 'albert/encoder/albert_layer_groups/{group}/albert_layers/{inner}';
const LAYER_KEY = 'albert.encoder.albert_layer_groups.{group}.albert_layers.{inner}';

/** Dense layers of one ALBERT layer (kernel [in, out] → weight [out, in]), rewritten name → key. */
const LAYER_DENSE = ['attention/query', 'attention/key', 'attention/value', 'attention/dense', 'ffn', 'ffn_output'];
const LAYER_NORMS = ['attention/LayerNorm', 'full_layer_layer_norm'];

const PRE_TRAINING = 'AlbertForPreTraining';
const SEQUENCE_CLASSIFICATION = 'AlbertForSequenceClassification';
const QUESTION_ANSWERING = 'AlbertForQuestionAnswering';

/** The heads of the original fine-tuning scripts, as their variables are named (unchanged by the rewrites). */
const HEADS: readonly HeadSignature[] = [
  // classifier_utils.py create_model: tf.get_variable("output_weights", [num_labels, hidden_size]) at the root.
  { variable: '^output_weights$', modelClass: SEQUENCE_CLASSIFICATION, labelsAxis: 0 },
  // squad_utils.py create_v1_model: tf.get_variable("cls/squad/output_weights", [2, hidden_size]).
  { variable: '^cls/squad/output_weights$', modelClass: QUESTION_ANSWERING },
];

const headClass = (config: ModelConfig) => (config.architectures as string[])[0];

function buildConfig(input: ConfigInput): ModelConfig {
  const source = configSource(input);
  const chosen = chooseHead({
    found: findHeads(input.listing, HEADS, (n) => normalizeName(albert, n)),
    task: input.finetuningTask,
    baseClass: PRE_TRAINING,
    note: input.note,
  });
  const config: ModelConfig = {
    ...ALBERT_DEFAULTS,
    ...(input.user ?? {}),
    ...chosen.fields,
    model_type: 'albert',
    architectures: [chosen.modelClass],
    transformers_version: TRANSFORMERS_VERSION,
  };
  const strip = (n: string) => n.replace(/^module\//, '');
  const find = (name: string) => input.listing.find((t) => strip(t.name) === name)?.shape;
  const out: Disagreement[] = [];
  const word = find('bert/embeddings/word_embeddings');
  const mapping = find('bert/encoder/embedding_hidden_mapping_in/kernel');
  const check = (field: string, actual: number | undefined, evidence: string) => {
    if (actual !== undefined && actual !== intField(config, field, source))
      out.push({ field, config: config[field], checkpoint: actual, evidence });
  };
  check('vocab_size', word?.[0], 'bert/embeddings/word_embeddings');
  check('embedding_size', word?.[1], 'bert/embeddings/word_embeddings');
  check('hidden_size', mapping?.[1], 'bert/encoder/embedding_hidden_mapping_in/kernel');
  check(
    'max_position_embeddings',
    find('bert/embeddings/position_embeddings')?.[0],
    'bert/embeddings/position_embeddings',
  );
  check('type_vocab_size', find('bert/embeddings/token_type_embeddings')?.[0], 'bert/embeddings/token_type_embeddings');
  check(
    'intermediate_size',
    find('bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/dense/kernel')?.[1],
    'group_0/inner_group_0/ffn_1/intermediate/dense/kernel',
  );
  const names = input.listing.map((t) => ({ ...t, name: strip(t.name) }));
  const groups = countIndexed(names, /^bert\/encoder\/transformer\/group_(\d+)\//);
  const inner = countIndexed(names, /^bert\/encoder\/transformer\/group_0\/inner_group_(\d+)\//);
  if (groups > 0) check('num_hidden_groups', groups, 'bert/encoder/transformer/group_{g}/');
  if (inner > 0) check('inner_group_num', inner, 'group_0/inner_group_{k}/');
  refuseDisagreements(out, source, 'Pass the albert_config.json of this checkpoint with --config.');
  return config;
}

function rules(config: ModelConfig): readonly Rule[] {
  void config;
  const layer: Rule[] = [];
  for (const d of LAYER_DENSE) {
    const key = d.replace('/', '.');
    layer.push({ from: `${LAYER}/${d}/kernel`, to: `${LAYER_KEY}.${key}.weight`, transforms: T });
    layer.push({ from: `${LAYER}/${d}/bias`, to: `${LAYER_KEY}.${key}.bias` });
  }
  for (const n of LAYER_NORMS) {
    const key = n.replace('/', '.');
    layer.push({ from: `${LAYER}/${n}/gamma`, to: `${LAYER_KEY}.${key}.weight` });
    layer.push({ from: `${LAYER}/${n}/beta`, to: `${LAYER_KEY}.${key}.bias` });
  }
  return [
    { from: 'albert/embeddings/{table*}_embeddings', to: 'albert.embeddings.{table*}_embeddings.weight' },
    { from: 'albert/embeddings/LayerNorm/gamma', to: 'albert.embeddings.LayerNorm.weight' },
    { from: 'albert/embeddings/LayerNorm/beta', to: 'albert.embeddings.LayerNorm.bias' },
    {
      from: 'albert/encoder/embedding_hidden_mapping_in/kernel',
      to: 'albert.encoder.embedding_hidden_mapping_in.weight',
      transforms: T,
    },
    { from: 'albert/encoder/embedding_hidden_mapping_in/bias', to: 'albert.encoder.embedding_hidden_mapping_in.bias' },
    ...layer,
    { from: 'albert/pooler/kernel', to: 'albert.pooler.weight', transforms: T },
    { from: 'albert/pooler/bias', to: 'albert.pooler.bias' },
    { from: 'predictions/output_bias', to: 'predictions.bias' },
    { from: 'predictions/LayerNorm/gamma', to: 'predictions.LayerNorm.weight' },
    { from: 'predictions/LayerNorm/beta', to: 'predictions.LayerNorm.bias' },
    { from: 'predictions/dense/kernel', to: 'predictions.dense.weight', transforms: T },
    { from: 'predictions/dense/bias', to: 'predictions.dense.bias' },
    // output_weights is already [2, hidden]: transformers assigns it without a transpose.
    {
      from: 'cls/seq_relationship/output_weights',
      to: 'sop_classifier.classifier.weight',
      note: 'SOP head, stored [out, in]',
    },
    { from: 'cls/seq_relationship/output_bias', to: 'sop_classifier.classifier.bias' },
    { from: 'output_weights', to: 'classifier.weight', note: 'classifier_utils.py head, stored [num_labels, hidden]' },
    { from: 'output_bias', to: 'classifier.bias' },
    { from: 'cls/squad/output_weights', to: 'qa_outputs.weight', note: 'squad_utils.py v1 head, stored [2, hidden]' },
    { from: 'cls/squad/output_bias', to: 'qa_outputs.bias' },
  ];
}

/** Variables of parts the chosen class does not have (names as rewritten). */
function configSkip(config: ModelConfig): readonly SkipRule[] {
  const head = headClass(config);
  if (head === PRE_TRAINING) return [];
  const out: SkipRule[] = [
    { pattern: '^(predictions|cls/seq_relationship)/', reason: `pre-training head: ${head} has none` },
  ];
  if (head === QUESTION_ANSWERING)
    out.push({
      pattern: '^albert/pooler/',
      reason: `pooler: ${head} has none (transformers builds its AlbertModel with add_pooling_layer=False)`,
    });
  return out;
}

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const v = config.vocab_size as number;
  const e = config.embedding_size as number;
  const h = config.hidden_size as number;
  const i = config.intermediate_size as number;
  const keys: ExpectedKey[] = [
    { key: 'albert.embeddings.word_embeddings.weight', shape: [v, e], fromConfig: '[vocab_size, embedding_size]' },
    {
      key: 'albert.embeddings.position_embeddings.weight',
      shape: [config.max_position_embeddings as number, e],
      fromConfig: '[max_position_embeddings, embedding_size]',
    },
    {
      key: 'albert.embeddings.token_type_embeddings.weight',
      shape: [config.type_vocab_size as number, e],
      fromConfig: '[type_vocab_size, embedding_size]',
    },
    { key: 'albert.embeddings.LayerNorm.weight', shape: [e] },
    { key: 'albert.embeddings.LayerNorm.bias', shape: [e] },
    {
      key: 'albert.encoder.embedding_hidden_mapping_in.weight',
      shape: [h, e],
      fromConfig: '[hidden_size, embedding_size]',
    },
    { key: 'albert.encoder.embedding_hidden_mapping_in.bias', shape: [h] },
  ];
  for (let g = 0; g < (config.num_hidden_groups as number); g++) {
    for (let k = 0; k < (config.inner_group_num as number); k++) {
      const p = `albert.encoder.albert_layer_groups.${g}.albert_layers.${k}`;
      keys.push(
        { key: `${p}.full_layer_layer_norm.weight`, shape: [h] },
        { key: `${p}.full_layer_layer_norm.bias`, shape: [h] },
        ...['query', 'key', 'value', 'dense'].flatMap((m): ExpectedKey[] => [
          { key: `${p}.attention.${m}.weight`, shape: [h, h], fromConfig: '[hidden_size, hidden_size]' },
          { key: `${p}.attention.${m}.bias`, shape: [h] },
        ]),
        { key: `${p}.attention.LayerNorm.weight`, shape: [h] },
        { key: `${p}.attention.LayerNorm.bias`, shape: [h] },
        { key: `${p}.ffn.weight`, shape: [i, h], fromConfig: '[intermediate_size, hidden_size]' },
        { key: `${p}.ffn.bias`, shape: [i] },
        { key: `${p}.ffn_output.weight`, shape: [h, i], fromConfig: '[hidden_size, intermediate_size]' },
        { key: `${p}.ffn_output.bias`, shape: [h] },
      );
    }
  }
  const head = headClass(config);
  if (head === QUESTION_ANSWERING) {
    keys.push(
      { key: 'qa_outputs.weight', shape: [2, h], fromConfig: '[2, hidden_size]' },
      { key: 'qa_outputs.bias', shape: [2] },
    );
    return keys;
  }
  keys.push({ key: 'albert.pooler.weight', shape: [h, h] }, { key: 'albert.pooler.bias', shape: [h] });
  if (head === SEQUENCE_CLASSIFICATION) {
    const n = numLabelsOf(config);
    keys.push(
      { key: 'classifier.weight', shape: [n, h], fromConfig: '[num_labels, hidden_size]' },
      { key: 'classifier.bias', shape: [n], fromConfig: '[num_labels]' },
    );
    return keys;
  }
  keys.push(
    { key: 'predictions.bias', shape: [v] },
    { key: 'predictions.LayerNorm.weight', shape: [e] },
    { key: 'predictions.LayerNorm.bias', shape: [e] },
    { key: 'predictions.dense.weight', shape: [e, h], fromConfig: '[embedding_size, hidden_size]' },
    { key: 'predictions.dense.bias', shape: [e] },
    { key: 'predictions.decoder.weight', shape: [v, e], aliasOf: 'albert.embeddings.word_embeddings.weight' },
    { key: 'predictions.decoder.bias', shape: [v], aliasOf: 'predictions.bias' },
    { key: 'sop_classifier.classifier.weight', shape: [2, h] },
    { key: 'sop_classifier.classifier.bias', shape: [2] },
  );
  return keys;
}

export const albert: Architecture = {
  modelType: 'albert',
  summary:
    'google-research/albert and TF-Hub ALBERT checkpoints → AlbertForPreTraining, or AlbertForSequenceClassification / AlbertForQuestionAnswering when fine-tuned',
  detect: {
    names: ['^(module/)?bert/encoder/(transformer/group_\\d+|embedding_hidden_mapping_in)/'],
    sidecars: ['albert_config.json'],
    baseClass: PRE_TRAINING,
    heads: HEADS,
  },
  configFileNames: ['albert_config.json'],
  takesFinetuningTask: true,
  buildConfig,
  renames: RENAMES,
  configSkip,
  rules,
  expectedKeys,
};
