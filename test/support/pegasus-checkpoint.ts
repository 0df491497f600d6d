/**
 * A tiny Pegasus training checkpoint with the names google-research/pegasus creates —
 * pegasus/models/transformer.py (`embeddings/weights` via layers/embedding.py, the `encoder`/`decoder`
 * scopes and their final `LayerNorm`), pegasus/layers/transformer_block.py (`layer_{n}/self_attention`,
 * `memory_attention`, `ffn` with `dense`/`dense_1`, a contrib layer_norm `LayerNorm` in each) and
 * pegasus/layers/attention.py (`q_proj`, `k_proj`, `v_proj`, `output_proj`, no biases) — plus what its
 * trainer leaves (pegasus/params/estimator_utils.py: tensor2tensor/utils/adafactor.py's
 * AdafactorOptimizer with beta1=0: `{var}/Adafactor` [rows] and `{var}/Adafactor_1` [cols] beside a
 * 2-D variable, `{var}/Adafactor` of its shape beside a 1-D one; `global_step`); and the PegasusConfig of
 * its sizes.
 */
import { seededRandom } from './random.js';
import { type BundleTensor, randomTensorBytes, writeBundle } from './tf-bundle-writer.js';

/** Vocabulary, width, feed-forward width, heads; two encoder layers and one decoder layer. */
export const PEGASUS_SIZES = { V: 12, D: 8, F: 16, HEADS: 2, ENC: 2, DEC: 1 } as const;
const { V, D, F, HEADS, ENC, DEC } = PEGASUS_SIZES;

/** A PegasusConfig of this small model, as transformers' from_pretrained reads it. */
export const PEGASUS_CONFIG = {
  model_type: 'pegasus',
  vocab_size: V,
  d_model: D,
  encoder_ffn_dim: F,
  decoder_ffn_dim: F,
  encoder_layers: ENC,
  decoder_layers: DEC,
  encoder_attention_heads: HEADS,
  decoder_attention_heads: HEADS,
  pad_token_id: 0,
  scale_embedding: true,
};

function variables(): [string, number[]][] {
  const out: [string, number[]][] = [['embeddings/weights', [V, D]]];
  const stack = (s: string, layers: number) => {
    for (let l = 0; l < layers; l++) {
      const p = `${s}/layer_${l}`;
      for (const a of s === 'decoder' ? ['self_attention', 'memory_attention'] : ['self_attention']) {
        for (const q of ['q_proj', 'k_proj', 'v_proj', 'output_proj']) out.push([`${p}/${a}/${q}/kernel`, [D, D]]);
        out.push([`${p}/${a}/LayerNorm/gamma`, [D]], [`${p}/${a}/LayerNorm/beta`, [D]]);
      }
      out.push(
        [`${p}/ffn/dense/kernel`, [D, F]],
        [`${p}/ffn/dense/bias`, [F]],
        [`${p}/ffn/dense_1/kernel`, [F, D]],
        [`${p}/ffn/dense_1/bias`, [D]],
        [`${p}/ffn/LayerNorm/gamma`, [D]],
        [`${p}/ffn/LayerNorm/beta`, [D]],
      );
    }
    out.push([`${s}/LayerNorm/gamma`, [D]], [`${s}/LayerNorm/beta`, [D]]);
  };
  stack('encoder', ENC);
  stack('decoder', DEC);
  return out;
}

/** The weights, each with the Adafactor slots of its rank, and global_step. */
export async function writePegasusCheckpoint(prefix: string): Promise<void> {
  const random = seededRandom(21);
  const float = (name: string, shape: number[]): BundleTensor => ({
    name,
    dtype: 'float32',
    shape,
    bytes: randomTensorBytes(
      'float32',
      shape.reduce((a, b) => a * b, 1),
      random,
    ),
  });
  const tensors: BundleTensor[] = [];
  for (const [name, shape] of variables()) {
    tensors.push(float(name, shape));
    if (shape.length === 2)
      tensors.push(
        float(`${name}/Adafactor`, [shape[0] as number]),
        float(`${name}/Adafactor_1`, [shape[1] as number]),
      );
    else tensors.push(float(`${name}/Adafactor`, shape));
  }
  const step = new Uint8Array(8);
  new DataView(step.buffer).setBigInt64(0, 32000n, true);
  tensors.push({ name: 'global_step', dtype: 'int64', shape: [], bytes: step });
  await writeBundle(prefix, tensors);
}
