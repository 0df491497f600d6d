/**
 * TF2 Model Garden BERT checkpoints (tiny) with the object paths tensorflow/models' `official/nlp` code gives
 * its variables, saved as its trainers save them (Adam `m`/`v` slots, `optimizer/iter`, `save_counter`,
 * a real `_CHECKPOINTABLE_OBJECT_GRAPH`):
 * - the functional encoder of official/nlp/modeling/networks/transformer_encoder.py (and the first
 *   networks/bert_encoder.py): `layer_with_weights-N` in build order — OnDeviceEmbedding `embeddings`,
 *   PositionEmbedding `embeddings`, the type OnDeviceEmbedding, LayerNormalization `gamma`/`beta`, each
 *   Transformer (official/nlp/modeling/layers/transformer.py: `_attention_layer/_{query,key,value}_dense`
 *   [hidden, heads, head_dim] kernels, `_attention_output_dense` [heads, head_dim, hidden],
 *   `_attention_layer_norm`, `_intermediate_dense`, `_output_dense`, `_output_layer_norm`), the pooler
 *   Dense — saved under `model/` as official/nlp/bert/tf2_encoder_checkpoint_converter.py's
 *   `tf.train.Checkpoint(model=…)` does, Keras' `layer-N` edges naming the same layers;
 * - the encoder layer of the newer networks/bert_encoder.py (`_embedding_layer`, `_position_embedding_layer`,
 *   `_type_embedding_layer`, `_embedding_norm_layer`, `_transformer_layers/N` of
 *   layers/transformer_encoder_block.py with Keras MultiHeadAttention's `_output_dense`, `_pooler_layer`)
 *   with models/bert_pretrainer.py BertPretrainerV2's masked-LM head (layers/masked_lm.py: `dense`,
 *   `layer_norm`, `output_bias/bias` escaped `output_bias.Sbias`, and the shared `embedding_table`),
 *   saved as `tf.train.Checkpoint(**checkpoint_items)` (`encoder/…`, `masked_lm/…`).
 * - token dropping (official/projects/token_dropping/encoder.py): the same encoder layer and head, plus
 *   layers/routing.py's `_token_importance_embed/importance_embed` [vocab] (non-trainable routing state),
 *   read as transformers' convert_bert_token_dropping_original_tf2_checkpoint_to_pytorch.py reads the names.
 * Written with test/support/tf2-checkpoint.ts.
 */
import { type Tf2Checkpoint, writeTf2Checkpoint } from './tf2-checkpoint.js';

// vocab, hidden (= heads × head_dim), heads, head_dim, intermediate, positions, types, layers
export const TF2_BERT_SIZES = { V: 11, H: 4, N: 2, D: 2, I: 8, P: 6, T: 2, L: 2 } as const;
const { V, H, N, D, I, P, T, L } = TF2_BERT_SIZES;

export type Spec = readonly [string, readonly number[]];

/** One transformer layer's variables; `outputDense` is where its attention output lives. */
export function layer(scope: string, outputDense: string): Spec[] {
  const a = `${scope}/_attention_layer`;
  return [
    ...['query', 'key', 'value'].flatMap((p): Spec[] => [
      [`${a}/_${p}_dense/kernel`, [H, N, D]],
      [`${a}/_${p}_dense/bias`, [N, D]],
    ]),
    [`${scope}/${outputDense}/kernel`, [N, D, H]],
    [`${scope}/${outputDense}/bias`, [H]],
    [`${scope}/_attention_layer_norm/gamma`, [H]],
    [`${scope}/_attention_layer_norm/beta`, [H]],
    [`${scope}/_intermediate_dense/kernel`, [H, I]],
    [`${scope}/_intermediate_dense/bias`, [I]],
    [`${scope}/_output_dense/kernel`, [I, H]],
    [`${scope}/_output_dense/bias`, [H]],
    [`${scope}/_output_layer_norm/gamma`, [H]],
    [`${scope}/_output_layer_norm/beta`, [H]],
  ];
}

export const lww = (k: number, root = 'model/') => `${root}layer_with_weights-${k}`;
export const FUNCTIONAL: Spec[] = [
  [`${lww(0)}/embeddings`, [V, H]],
  [`${lww(1)}/embeddings`, [P, H]],
  [`${lww(2)}/embeddings`, [T, H]],
  [`${lww(3)}/gamma`, [H]],
  [`${lww(3)}/beta`, [H]],
  ...Array.from({ length: L }, (_, l) => layer(lww(4 + l), '_attention_output_dense')).flat(),
  [`${lww(4 + L)}/kernel`, [H, H]],
  [`${lww(4 + L)}/bias`, [H]],
];
/** Keras functional models also name each layer `layer-N` (inputs and dropouts counted): the same objects. */
export const FUNCTIONAL_ALIASES: [string, string][] = [
  ['model/layer-3', lww(0)],
  ['model/layer-4', lww(1)],
  ['model/layer-7', lww(3)],
];

export const PRETRAINER: Spec[] = [
  ['encoder/_position_embedding_layer/embeddings', [P, H]],
  ['encoder/_type_embedding_layer/embeddings', [T, H]],
  ['encoder/_embedding_norm_layer/gamma', [H]],
  ['encoder/_embedding_norm_layer/beta', [H]],
  ...Array.from({ length: L }, (_, l) =>
    layer(`encoder/_transformer_layers/${l}`, '_attention_layer/_output_dense'),
  ).flat(),
  ['encoder/_pooler_layer/kernel', [H, H]],
  ['encoder/_pooler_layer/bias', [H]],
  ['masked_lm/embedding_table', [V, H]],
  ['masked_lm/dense/kernel', [H, H]],
  ['masked_lm/dense/bias', [H]],
  ['masked_lm/layer_norm/gamma', [H]],
  ['masked_lm/layer_norm/beta', [H]],
  ['masked_lm/output_bias.Sbias', [V]],
];

const SHARED_TABLE: [string, string][] = [['encoder/_embedding_layer/embeddings', 'masked_lm/embedding_table']];

/** The functional encoder, as tf2_encoder_checkpoint_converter.py saves it (`model/…`, Keras' `layer-N` aliases). */
export const writeTf2Encoder = (prefix: string): Promise<Tf2Checkpoint> =>
  writeTf2Checkpoint(prefix, FUNCTIONAL, { seed: 21, aliases: FUNCTIONAL_ALIASES });

/** BertPretrainerV2: the encoder layer and the masked-LM head, the word table saved once under the head's path. */
export const writeTf2Pretrainer = (prefix: string): Promise<Tf2Checkpoint> =>
  writeTf2Checkpoint(prefix, PRETRAINER, { seed: 22, aliases: SHARED_TABLE, globalStep: true });

/** Token dropping: the pre-trainer plus the routing state (non-trainable). */
export const writeTf2TokenDropping = (prefix: string): Promise<Tf2Checkpoint> =>
  writeTf2Checkpoint(prefix, [...PRETRAINER, ['encoder/_token_importance_embed/importance_embed', [V]]], {
    seed: 23,
    frozen: ['encoder/_token_importance_embed/importance_embed'],
    aliases: SHARED_TABLE,
    globalStep: true,
  });
