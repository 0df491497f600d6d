/**
 * albert: google-research/albert and TF-Hub checkpoints (`bert/encoder/transformer/group_0/…`, with or
 * without a `module/` prefix) → transformers `AlbertForPreTraining` (MLM head + sentence-order head).
 * Names first go through transformers' own substring rewrites, in its order; the rules below are
 * written against the rewritten names. Fine-tuned heads choose the class: classifier_utils.py's root
 * `output_weights` → `AlbertForSequenceClassification`, squad_utils.py's v1 `cls/squad/output_weights`
 * → `AlbertForQuestionAnswering` (whose AlbertModel has no pooler).
 */
import { normalizeName } from '../mapping/plan.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { embeddingTableKeys, embeddingTables, outputLayer, tiedDecoderKeys } from './bert-family.js';
import {
  chooseFineTunedHead,
  FINETUNING_TASK_OPTION,
  type FineTunedHeads,
  fineTunedHeadKeys,
  fineTunedHeadRules,
  fineTunedHeadSignatures,
  fineTunedSkips,
} from './bert-finetuning-heads.js';
import { dense, dim, layerNorm, linearKeys, normKeys, TWO, vectorKey } from './building-blocks.js';
import { configSource, countFact, refuseUnlikeFacts, shapeFact, TRANSFORMERS_VERSION } from './checkpoint-facts.js';
import { addedToken } from './tokenizer.js';

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

/** The classes, and the heads of classifier_utils.py and squad_utils.py that choose them (names as rewritten). */
const HEADS: FineTunedHeads = {
  base: 'AlbertForPreTraining',
  sequenceClassification: 'AlbertForSequenceClassification',
  questionAnswering: 'AlbertForQuestionAnswering',
  scripts: { classifier: 'classifier_utils.py', squad: 'squad_utils.py v1' },
  preTrainingHeads: '^(predictions|cls/seq_relationship)/',
  pooler: '^albert/pooler/',
  encoder: 'AlbertModel',
};

/** What the shapes show (names without `module/`), each checked against the config. */
function shapeFacts(listing: ConfigInput['listing']) {
  const names = listing.map((t) => ({ ...t, name: t.name.replace(/^module\//, '') }));
  const fact = (field: string, name: string, axis: number) => shapeFact(names, field, name, axis);
  return [
    fact('vocab_size', 'bert/embeddings/word_embeddings', 0),
    fact('embedding_size', 'bert/embeddings/word_embeddings', 1),
    fact('hidden_size', 'bert/encoder/embedding_hidden_mapping_in/kernel', 1),
    fact('max_position_embeddings', 'bert/embeddings/position_embeddings', 0),
    fact('type_vocab_size', 'bert/embeddings/token_type_embeddings', 0),
    fact('intermediate_size', 'bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/dense/kernel', 1),
    countFact(
      names,
      'num_hidden_groups',
      /^bert\/encoder\/transformer\/group_(\d+)\//,
      'bert/encoder/transformer/group_{g}/',
    ),
    countFact(
      names,
      'inner_group_num',
      /^bert\/encoder\/transformer\/group_0\/inner_group_(\d+)\//,
      'group_0/inner_group_{k}/',
    ),
  ];
}

/** The user's config (or AlbertConfig's defaults), which must describe the checkpoint's shapes. */
function buildConfig(input: ConfigInput): ModelConfig {
  const chosen = chooseFineTunedHead(input, HEADS, (n) => normalizeName(albert, n));
  const config: ModelConfig = {
    ...ALBERT_DEFAULTS,
    ...(input.user ?? {}),
    ...chosen.fields,
    model_type: 'albert',
    architectures: [chosen.modelClass],
    transformers_version: TRANSFORMERS_VERSION,
  };
  refuseUnlikeFacts(
    config,
    shapeFacts(input.listing),
    configSource(input),
    'Pass the albert_config.json of this checkpoint with --config.',
  );
  return config;
}

const LAYER = 'albert/encoder/albert_layer_groups/{group}/albert_layers/{inner}';
const LAYER_KEY = 'albert.encoder.albert_layer_groups.{group}.albert_layers.{inner}';

function rules(): readonly Rule[] {
  return [
    ...embeddingTables('albert/embeddings', 'albert.embeddings'),
    ...layerNorm('albert/embeddings', 'albert.embeddings.LayerNorm'),
    ...dense('albert/encoder/embedding_hidden_mapping_in', 'albert.encoder.embedding_hidden_mapping_in'),
    ...['query', 'key', 'value', 'dense'].flatMap((p) =>
      dense(`${LAYER}/attention/${p}`, `${LAYER_KEY}.attention.${p}`),
    ),
    ...layerNorm(`${LAYER}/attention`, `${LAYER_KEY}.attention.LayerNorm`),
    ...dense(`${LAYER}/ffn`, `${LAYER_KEY}.ffn`),
    ...dense(`${LAYER}/ffn_output`, `${LAYER_KEY}.ffn_output`),
    ...layerNorm(LAYER, `${LAYER_KEY}.full_layer_layer_norm`, 'full_layer_layer_norm'),
    ...dense('albert/pooler', 'albert.pooler'),
    { from: 'predictions/output_bias', to: 'predictions.bias' },
    ...layerNorm('predictions', 'predictions.LayerNorm'),
    ...dense('predictions/dense', 'predictions.dense'),
    ...outputLayer('cls/seq_relationship', 'sop_classifier.classifier', 'SOP head, stored [out, in]'),
    ...fineTunedHeadRules(HEADS),
  ];
}

/** AlbertLayer's keys, in state_dict order. */
function layerKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const I = dim(config, 'intermediate_size');
  return [
    ...normKeys(`${prefix}.full_layer_layer_norm`, H),
    ...['query', 'key', 'value', 'dense'].flatMap((p) => linearKeys(`${prefix}.attention.${p}`, H, H)),
    ...normKeys(`${prefix}.attention.LayerNorm`, H),
    ...linearKeys(`${prefix}.ffn`, I, H),
    ...linearKeys(`${prefix}.ffn_output`, H, I),
  ];
}

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const V = dim(config, 'vocab_size');
  const E = dim(config, 'embedding_size');
  const H = dim(config, 'hidden_size');
  const keys: ExpectedKey[] = [
    ...embeddingTableKeys('albert.embeddings', config, E),
    ...normKeys('albert.embeddings.LayerNorm', E),
    ...linearKeys('albert.encoder.embedding_hidden_mapping_in', H, E),
  ];
  // the layers are shared: one per (group, inner layer), not per hidden layer
  for (let g = 0; g < (config.num_hidden_groups as number); g++)
    for (let k = 0; k < (config.inner_group_num as number); k++)
      keys.push(...layerKeys(`albert.encoder.albert_layer_groups.${g}.albert_layers.${k}`, config));
  const preTraining = (): ExpectedKey[] => [
    ...linearKeys('albert.pooler', H, H),
    vectorKey('predictions.bias', V),
    ...normKeys('predictions.LayerNorm', E),
    ...linearKeys('predictions.dense', E, H),
    ...tiedDecoderKeys('predictions', V, E, 'albert.embeddings.word_embeddings.weight'),
    ...linearKeys('sop_classifier.classifier', TWO, H),
  ];
  return [...keys, ...fineTunedHeadKeys(config, HEADS, 'albert.pooler', preTraining)];
}

export const albert: Architecture = {
  modelType: 'albert',
  summary: `google-research/albert and TF-Hub ALBERT checkpoints → ${HEADS.base}, or ${HEADS.sequenceClassification} / ${HEADS.questionAnswering} when fine-tuned`,
  detect: {
    names: ['^(module/)?bert/encoder/(transformer/group_\\d+|embedding_hidden_mapping_in)/'],
    sidecars: ['albert_config.json'],
    baseClass: HEADS.base,
    heads: fineTunedHeadSignatures(HEADS),
  },
  configFileNames: ['albert_config.json'],
  options: [FINETUNING_TASK_OPTION],
  buildConfig,
  renames: RENAMES,
  configSkip: (config) => fineTunedSkips(config, HEADS),
  rules,
  expectedKeys,
  // the release's SentencePiece model, under the name AlbertTokenizer loads
  tokenizerFiles: [{ from: ['30k-clean.model', 'spiece.model'], to: 'spiece.model' }],
  tokenizer: {
    className: 'AlbertTokenizer',
    init: {
      bos_token: '[CLS]',
      clean_up_tokenization_spaces: true,
      cls_token: '[CLS]',
      eos_token: '[SEP]',
      keep_accents: false,
      mask_token: addedToken('[MASK]', { lstrip: true, normalized: false }),
      pad_token: '<pad>',
      remove_space: true,
      sep_token: '[SEP]',
      sp_model_kwargs: {},
      unk_token: '<unk>',
    },
    maxLength: 'max_position_embeddings',
    casing: { sentencepiece: true },
  },
};
