/**
 * Reusable rule and key builders for the BERT family (BERT, ALBERT, ELECTRA, MobileBERT, …):
 * google-research/bert's TF scopes (`kernel`/`bias`, `gamma`/`beta`, `layer_{n}/attention/self/query`, …)
 * and the module names transformers gives them (the fine-tuning scripts' heads: bert-finetuning-heads.ts), on the
 * blocks every architecture shares (building-blocks.ts). An architecture file composes these; it states only what
 * differs.
 */
import type { ExpectedKey, ModelConfig, Rule, TensorInfo } from '../mapping/types.js';
import { type Dim, dense, dim, layerNorm, linearKeys, normKeys, tableKey, tiedKey } from './building-blocks.js';
import { type ShapeFact, shapeFact } from './checkpoint-facts.js';

/** BertEmbeddings' tables, in state_dict order, and the config field that counts each one's rows. */
const TABLE_ROWS = { word: 'vocab_size', position: 'max_position_embeddings', token_type: 'type_vocab_size' } as const;
export type EmbeddingTable = keyof typeof TABLE_ROWS;
/** All three; a type without absolute positions (rotary ones) lists `['word', 'token_type']`. */
export const EMBEDDING_TABLES: readonly EmbeddingTable[] = ['word', 'position', 'token_type'];

/** `{scope}/word_embeddings`, `position_embeddings`, `token_type_embeddings` (or `tables`) → `{prefix}.*.weight`. */
export const embeddingTables = (tf: string, pt: string, tables = EMBEDDING_TABLES): Rule[] =>
  tables.map((t) => ({
    from: `${tf}/${t}_embeddings`,
    to: `${pt}.${t}_embeddings.weight`,
  }));

/**
 * A dense and the LayerNorm after it, as BertSelfOutput, BertOutput and the LM transform have them:
 * `{tf}/dense`, `{tf}/{norm}` → `{pt}.dense`, `{pt}.LayerNorm` (`norm` as in `layerNorm`).
 */
export const denseAndNorm = (tf: string, pt: string, norm?: string): Rule[] => [
  ...dense(`${tf}/dense`, `${pt}.dense`),
  ...layerNorm(tf, `${pt}.LayerNorm`, norm),
];

/** BertEmbeddings: the tables of `embeddingTables` and their LayerNorm (`{tf}/LayerNorm` → `{pt}.LayerNorm`). */
export const bertEmbeddingRules = (tf: string, pt: string, tables = EMBEDDING_TABLES): Rule[] => [
  ...embeddingTables(tf, pt, tables),
  ...layerNorm(tf, `${pt}.LayerNorm`),
];

/** A BERT layer's feed-forward part: `intermediate/dense`, then `output/dense` and its LayerNorm. */
export const bertFeedForwardRules = (tf: string, pt: string, norm?: string): Rule[] => [
  ...dense(`${tf}/intermediate/dense`, `${pt}.intermediate.dense`),
  ...denseAndNorm(`${tf}/output`, `${pt}.output`, norm),
];

/**
 * One BERT encoder layer at a scope the caller spells in full (`{tf}` → `{pt}`, placeholders included):
 * for stacks whose index is a scope of its own (LXMERT's ModuleLists, `r_layers/{layer}`), where
 * `bertLayerRules`' `layer_{layer}` does not apply.
 */
export function bertLayerRulesAt(tf: string, pt: string, norm?: string): Rule[] {
  return [
    ...['query', 'key', 'value'].flatMap((p) => dense(`${tf}/attention/self/${p}`, `${pt}.attention.self.${p}`)),
    ...denseAndNorm(`${tf}/attention/output`, `${pt}.attention.output`, norm),
    ...bertFeedForwardRules(tf, pt, norm),
  ];
}

/**
 * One google-research/bert encoder layer (`{tf}/layer_{layer}/…` → `{pt}.layer.{layer}.…`): self-attention
 * query/key/value, its output dense + LayerNorm, the intermediate and output denses + LayerNorm. `norm` as
 * in `layerNorm` (MobileBERT's `FakeLayerNorm`).
 */
export const bertLayerRules = (tf: string, pt: string, norm?: string): Rule[] =>
  bertLayerRulesAt(`${tf}/layer_{layer}`, `${pt}.layer.{layer}`, norm);

/**
 * BertModel as google-research/bert scopes it (`{tf}/embeddings`, `{tf}/encoder/layer_{n}`, `{tf}/pooler/dense`)
 * → `{pt}.embeddings`, `{pt}.encoder.layer.{n}`, `{pt}.pooler.dense`; `tables` as in `embeddingTables`.
 */
export const bertModelRules = (tf: string, pt: string, tables = EMBEDDING_TABLES): Rule[] => [
  ...bertEmbeddingRules(`${tf}/embeddings`, `${pt}.embeddings`, tables),
  ...bertLayerRules(`${tf}/encoder`, `${pt}.encoder`),
  ...dense(`${tf}/pooler/dense`, `${pt}.pooler.dense`),
];

/**
 * A layer google-research's code creates with tf.get_variable rather than tf.layers.dense:
 * `{tf}/output_weights` is stored [out, in] already (no transpose; `note` says so in the plan) and
 * `{tf}/output_bias`. `tf` '' is the root scope (run_classifier.py's head).
 */
export function outputLayer(tf: string, pt: string, note: string): Rule[] {
  const scope = tf === '' ? '' : `${tf}/`;
  return [
    { from: `${scope}output_weights`, to: `${pt}.weight`, note },
    { from: `${scope}output_bias`, to: `${pt}.bias` },
  ];
}

/** run_pretraining.py's masked-LM head (`cls/predictions`): output bias, transform dense and LayerNorm. */
export const lmPredictionRules = (tf: string, pt: string): Rule[] => [
  { from: `${tf}/output_bias`, to: `${pt}.bias` },
  ...denseAndNorm(`${tf}/transform`, `${pt}.transform`),
];

// ---- expected keys --------------------------------------------------------------------------------

/** BertEmbeddings-style tables (word, position, token type, or `tables`) of `width`, in state_dict order. */
export const embeddingTableKeys = (
  prefix: string,
  config: ModelConfig,
  width: Dim,
  tables = EMBEDDING_TABLES,
): ExpectedKey[] => tables.map((t) => tableKey(`${prefix}.${t}_embeddings.weight`, dim(config, TABLE_ROWS[t]), width));

/** BertEmbeddings' keys: `embeddingTableKeys` and the LayerNorm of `width`, in state_dict order. */
export const bertEmbeddingKeys = (
  prefix: string,
  config: ModelConfig,
  width: Dim,
  tables = EMBEDDING_TABLES,
): ExpectedKey[] => [...embeddingTableKeys(prefix, config, width, tables), ...normKeys(`${prefix}.LayerNorm`, width)];

/**
 * An MLM head's decoder, tied as transformers ties it: `{prefix}.decoder.weight` is the word table `table` [vocab,
 * width], `{prefix}.decoder.bias` the head's own `{prefix}.bias`.
 */
export const tiedDecoderKeys = (prefix: string, vocab: Dim, width: Dim, table: string): ExpectedKey[] => [
  tiedKey(`${prefix}.decoder.weight`, [vocab, width], table),
  tiedKey(`${prefix}.decoder.bias`, [vocab], `${prefix}.bias`),
];

/** BertLayer's keys (attention, intermediate, output), in state_dict order. */
export function bertLayerKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const I = dim(config, 'intermediate_size');
  return [
    ...['query', 'key', 'value'].flatMap((p) => linearKeys(`${prefix}.attention.self.${p}`, H, H)),
    ...linearKeys(`${prefix}.attention.output.dense`, H, H),
    ...normKeys(`${prefix}.attention.output.LayerNorm`, H),
    ...linearKeys(`${prefix}.intermediate.dense`, I, H),
    ...linearKeys(`${prefix}.output.dense`, H, I),
    ...normKeys(`${prefix}.output.LayerNorm`, H),
  ];
}

// ---- configs -------------------------------------------------------------------------------------------

/** BertConfig() defaults (transformers configuration_bert.py); extra keys of the user's file are kept. */
export const BERT_DEFAULTS: ModelConfig = {
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

/** The sizes every BERT-family config gives (what `checkDimensions` checks; a type adds its own). */
export const BERT_DIMENSIONS: readonly string[] = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
  'type_vocab_size',
];
/** BERT's self-attention: `hidden_size` split across `num_attention_heads` (for `checkDimensions`). */
export const BERT_HEADS = { width: 'hidden_size', heads: 'num_attention_heads' } as const;

/**
 * What the tables of `embeddingTables` under `tf` show, in this order: vocab_size and the embedding width
 * (`widthField`) from the word table, then each other table's rows (max_position_embeddings, type_vocab_size).
 */
export function embeddingFacts(
  listing: readonly TensorInfo[],
  tf: string,
  widthField: string,
  tables = EMBEDDING_TABLES,
): ShapeFact[] {
  return [
    shapeFact(listing, 'vocab_size', `${tf}/word_embeddings`, 0),
    shapeFact(listing, widthField, `${tf}/word_embeddings`, 1),
    ...tables.filter((t) => t !== 'word').map((t) => shapeFact(listing, TABLE_ROWS[t], `${tf}/${t}_embeddings`, 0)),
  ];
}
