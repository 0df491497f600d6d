/**
 * roformer: ZhuiyiTechnology/roformer checkpoints → transformers `RoFormerForMaskedLM`, as
 * convert_roformer_original_tf_checkpoint_to_pytorch.py maps them. The releases are bert4keras models saved by
 * `save_weights_as_checkpoint`, which writes google-research/bert's names (bert4keras models.py, BERT's
 * `variable_mapping`): `bert/embeddings/{word,token_type}_embeddings` and no position table (rotary positions),
 * `bert/encoder/layer_{n}/…`, the masked-LM head `cls/predictions/…`; with an embedding width of its own, the
 * projection `bert/encoder/embedding_hidden_mapping_in`. RoFormerEncoder's sinusoidal `embed_positions` is a
 * parameter of the state dict that no checkpoint holds: written as transformers computes it. The pooler and
 * next-sentence head of a `with_pool`/`with_nsp` model are skipped (RoFormerForMaskedLM has neither; transformers'
 * loader stops on them, as on the projection, which it cannot place).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  BERT_DIMENSIONS,
  BERT_HEADS,
  bertEmbeddingKeys,
  bertEmbeddingRules,
  bertLayerKeys,
  bertLayerRules,
  type EmbeddingTable,
  lmPredictionRules,
  tiedDecoderKeys,
} from './bert-family.js';
import { dense, dim, layersKeys, linearKeys, normKeys, shapedKey, vectorKey } from './building-blocks.js';
import { checkDimensions } from './checkpoint-facts.js';
import { wordPieceTokenizer } from './tokenizer.js';

const MODEL_CLASS = 'RoFormerForMaskedLM';
/** Rotary positions: no absolute position table. */
const TABLES: readonly EmbeddingTable[] = ['word', 'token_type'];

/** RoFormerConfig() defaults (transformers configuration_roformer.py); `embedding_size` None means hidden_size. */
const ROFORMER_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0.1,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 1536,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 0,
  rotary_value: false,
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 50000,
};

function buildConfig(input: ConfigInput): ModelConfig {
  const where = input.userPath ?? 'the config';
  if (input.user === undefined)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      'roformer needs its bert_config.json: pass --config <path>/bert_config.json (none found beside the checkpoint)',
    );
  // NEZHA's checkpoints carry the same names (relative positions, no table); its config says so
  if (input.user.use_relative_position === true)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: 'use_relative_position' is true: a NEZHA config (relative position encodings), not RoFormer's rotary ones; tf2torch does not convert NEZHA`,
      { file: where },
    );
  const config: ModelConfig = {
    ...ROFORMER_DEFAULTS,
    ...input.user,
    architectures: [MODEL_CLASS],
    model_type: 'roformer',
  };
  // RoFormerConfig stores the resolved width, as bert4keras reads it: the hidden size unless given
  if (config.embedding_size === undefined || config.embedding_size === null) config.embedding_size = config.hidden_size;
  checkDimensions(config, [...BERT_DIMENSIONS, 'embedding_size'], where, BERT_HEADS);
  return config;
}

function rules(): readonly Rule[] {
  return [
    ...bertEmbeddingRules('bert/embeddings', 'roformer.embeddings', TABLES),
    // bert4keras's 'Embedding-Mapping' (embedding width ≠ hidden), between the embeddings and the encoder as in RoFormerModel
    ...dense('bert/encoder/embedding_hidden_mapping_in', 'roformer.embeddings_project'),
    ...bertLayerRules('bert/encoder', 'roformer.encoder'),
    ...lmPredictionRules('cls/predictions', 'cls.predictions'),
  ];
}

/**
 * RoFormerForMaskedLM's state dict, in state_dict order. `embed_positions` is RoFormerSinusoidalPositionalEmbedding's
 * weight (a parameter, [max_position_embeddings, hidden_size / num_attention_heads]), computed, never trained.
 * The masked-LM head is bert4keras's `with_mlm`: a model without it leaves the transform to from_pretrained; its bias
 * starts at zeros in both (bert4keras ScaleOffset's zeros offset, transformers' zeros) and is written as zeros.
 */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const V = dim(config, 'vocab_size');
  const E = dim(config, 'embedding_size');
  const H = dim(config, 'hidden_size');
  const P = dim(config, 'max_position_embeddings');
  const headSize = {
    size: H.size / (config.num_attention_heads as number),
    field: 'hidden_size / num_attention_heads',
  };
  return [
    ...bertEmbeddingKeys('roformer.embeddings', config, E, TABLES),
    ...(E.size !== H.size ? linearKeys('roformer.embeddings_project', H, E) : []),
    {
      ...shapedKey('roformer.encoder.embed_positions.weight', [P, headSize]),
      generate: { kind: 'sinusoidal-positions', positions: P.size, dim: headSize.size },
    },
    ...layersKeys('roformer.encoder', config, bertLayerKeys),
    { ...vectorKey('cls.predictions.bias', V), zerosWhenAbsent: true },
    ...linearKeys('cls.predictions.transform.dense', E, H, { optional: true }),
    ...normKeys('cls.predictions.transform.LayerNorm', E, true),
    ...tiedDecoderKeys('cls.predictions', V, E, 'roformer.embeddings.word_embeddings.weight'),
  ];
}

export const roformer: Architecture = {
  modelType: 'roformer',
  summary: `ZhuiyiTechnology/roformer (bert4keras) checkpoints → ${MODEL_CLASS}`,
  detect: {
    // BERT's names without the position table, which every BERT (google-research's or bert4keras's) writes
    names: ['^bert/encoder/layer_\\d+/'],
    requires: ['^bert/embeddings/word_embeddings$'],
    absent: ['^bert/embeddings/position_embeddings$'],
    // RemBERT's projection has the same name, but RemBERT has the position table
    specialises: ['bert', 'rembert'],
    sidecars: ['bert_config.json'],
    baseClass: MODEL_CLASS,
  },
  configFileNames: ['bert_config.json', 'config.json'],
  buildConfig,
  skip: [
    { pattern: '^bert/pooler/', reason: `the pooler (bert4keras with_pool): ${MODEL_CLASS} has none` },
    {
      pattern: '^cls/seq_relationship/',
      reason: `the next-sentence head (bert4keras with_nsp): ${MODEL_CLASS} has none`,
    },
  ],
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  // BertTokenizer's arguments; loading it needs rjieba (its jieba word segmentation), writing it does not
  tokenizer: wordPieceTokenizer('RoFormerTokenizer'),
};
