/**
 * A tiny GPT-Neo Mesh TensorFlow training checkpoint with the names EleutherAI/gpt-neo creates —
 * models/gpt2/gpt2.py (`gpt2/wte`, `gpt2/wpe`, blocks `gpt2/h{n}`, `gpt2/ln_f/g|b`; the model is built
 * under `tf.variable_scope('gpt2')` in model_fns.py), models/layers.py (layer_norm's `norm_1|norm_2/g|b`;
 * attn's mesh_tensorflow AttentionParams `attn/q|k|v` [n_embd, heads·head_dim] and `attn/o`
 * [heads·head_dim, n_embd], `attn/compute_output_bias/o_b`; linear's `conv1d_main/c_fc|c_proj/kernel|bias`
 * from mtf.layers.dense) — stored as bfloat16 (model_fns.py: master_dtype bfloat16 with "precision":
 * "bfloat16"), in several data shards, with the slots of optimizers.py's Adafactor (mesh_tensorflow
 * optimize.py: `{var}_slot_vr`/`_slot_vc` when the two largest dims are ≥ 128, else `{var}_slot_v`; and
 * `{var}_slot_m` with beta1) and `global_step`; `config.json` beside it in the format of the project's
 * configs/gpt3_*.json (n_vocab padded to 50304, n_ctx, no n_positions), and a `checkpoint` file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from './random.js';
import { type BundleTensor, randomTensorBytes, writeBundle } from './tf-bundle-writer.js';

// n_vocab as configs/gpt3_small_256.json pads it; the GPT-2 vocabulary transformers keeps; width 128 so that
// Adafactor factors the 2-D slots as it does for the released sizes.
export const GPT_NEO_SIZES = { N_VOCAB: 50304, VOCAB: 50257, E: 128, HEADS: 4, LAYERS: 2, N_CTX: 64 } as const;
const { N_VOCAB, VOCAB, E, HEADS, LAYERS, N_CTX } = GPT_NEO_SIZES;

/** The training JSON (configs/gpt3_small_256.json's fields; two layers, one global and one local). */
export const GPT_NEO_TRAINING_CONFIG = {
  n_head: HEADS,
  n_vocab: N_VOCAB,
  embed_dropout: 0,
  lr: 0.0006,
  lr_decay: 'cosine',
  warmup_steps: 3000,
  beta1: 0.9,
  beta2: 0.95,
  epsilon: 1e-8,
  ada_epsilon1: 1e-30,
  ada_epsilon2: 1e-3,
  opt_name: 'adafactor',
  weight_decay: 0.1,
  train_batch_size: 256,
  attn_dropout: 0,
  train_steps: 572300,
  eval_steps: 0,
  predict_steps: 1,
  res_dropout: 0,
  eval_batch_size: 64,
  predict_batch_size: 1,
  iterations: 2500,
  n_embd: E,
  datasets: [['openwebtext-documents', 25, 'documents_random', 1.0]],
  model_path: 'gs://neo-models/GPT3_SMALL',
  n_ctx: N_CTX,
  n_layer: LAYERS,
  scale_by_depth: true,
  scale_by_in: false,
  attention_types: [[['global', 'local'], 1]],
  mesh_shape: 'x:64,y:4',
  layout: 'batch:x,heads:y,vocab:y,intermediate_expanded:y',
  activation_function: 'gelu',
  recompute_grad: false,
  gradient_clipping: 1.0,
  precision: 'bfloat16',
};

export const GPT_NEO_BLOCK: readonly (readonly [tf: string, shape: number[], pt: string, transposed?: boolean])[] = [
  ['norm_1/g', [E], 'ln_1.weight'],
  ['norm_1/b', [E], 'ln_1.bias'],
  // GPTNeoSelfAttention creates k_proj, v_proj, q_proj in that order (its state_dict order)
  ['attn/k', [E, E], 'attn.attention.k_proj.weight', true],
  ['attn/v', [E, E], 'attn.attention.v_proj.weight', true],
  ['attn/q', [E, E], 'attn.attention.q_proj.weight', true],
  ['attn/o', [E, E], 'attn.attention.out_proj.weight', true],
  ['attn/compute_output_bias/o_b', [E], 'attn.attention.out_proj.bias'],
  ['norm_2/g', [E], 'ln_2.weight'],
  ['norm_2/b', [E], 'ln_2.bias'],
  ['mlp/conv1d_main/c_fc/kernel', [E, 4 * E], 'mlp.c_fc.weight', true],
  ['mlp/conv1d_main/c_fc/bias', [4 * E], 'mlp.c_fc.bias'],
  ['mlp/conv1d_main/c_proj/kernel', [4 * E, E], 'mlp.c_proj.weight', true],
  ['mlp/conv1d_main/c_proj/bias', [E], 'mlp.c_proj.bias'],
];

const WEIGHTS: readonly (readonly [string, number[]])[] = [
  ['gpt2/wte', [N_VOCAB, E]],
  ['gpt2/wpe', [N_CTX, E]],
  ...Array.from({ length: LAYERS }, (_, n) =>
    GPT_NEO_BLOCK.map(([tf, shape]) => [`gpt2/h${n}/${tf}`, shape] as const),
  ).flat(),
  ['gpt2/ln_f/g', [E]],
  ['gpt2/ln_f/b', [E]],
];

/** mesh_tensorflow's AdafactorOptimizer slots of one variable (min_dim_size_to_factor 128, beta1 set). */
function adafactorSlots(name: string, shape: readonly number[]): [string, number[]][] {
  const sorted = [...shape.keys()].sort((a, b) => (shape[b] as number) - (shape[a] as number));
  const [d0, d1] = sorted;
  const factored = shape.length >= 2 && (shape[d1 as number] as number) >= 128;
  const without = (axis: number) => shape.filter((_, i) => i !== axis);
  const second: [string, number[]][] = factored
    ? [
        [`${name}_slot_vr`, without(d0 as number)],
        [`${name}_slot_vc`, without(d1 as number)],
      ]
    : [[`${name}_slot_v`, [...shape]]];
  return [...second, [`${name}_slot_m`, [...shape]]];
}

/**
 * Writes `model.ckpt-1000` (3 data shards), config.json and `checkpoint` into `dir`; returns the prefix and
 * the stored bytes of gpt2/wte's padding rows (after VOCAB), to find them in the shards.
 */
export async function writeGptNeoCheckpoint(dir: string): Promise<{ prefix: string; paddingRows: Uint8Array }> {
  const prefix = join(dir, 'model.ckpt-1000');
  let paddingRows = new Uint8Array(0);
  const random = seededRandom(21);
  const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const tensors: BundleTensor[] = [];
  for (const [name, shape] of WEIGHTS) {
    const bytes = randomTensorBytes('bfloat16', count(shape), random);
    if (name === 'gpt2/wte') paddingRows = bytes.slice(VOCAB * E * 2);
    tensors.push({ name, dtype: 'bfloat16', shape, bytes });
    for (const [slot, slotShape] of adafactorSlots(name, shape))
      tensors.push({ name: slot, dtype: 'float32', shape: slotShape, bytes: new Uint8Array(count(slotShape) * 4) });
  }
  const step = new Uint8Array(8);
  new DataView(step.buffer).setBigInt64(0, 1000n, true);
  tensors.push({ name: 'global_step', dtype: 'int64', shape: [], bytes: step });
  await writeBundle(prefix, tensors, { shards: 3 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(GPT_NEO_TRAINING_CONFIG, null, 4));
  writeFileSync(join(dir, 'checkpoint'), 'model_checkpoint_path: "model.ckpt-1000"\n');
  return { prefix, paddingRows };
}
