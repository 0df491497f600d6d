/**
 * T5 checkpoints in both namings of the norms, in every variant. The names are those of
 * tensorflow/mesh mesh_tensorflow/transformer/transformer.py, which google-research/text-to-text-transfer-
 * transformer trains with: `sublayer_legacy_rms_norm` (variable scope `layer_norm`) and
 * `sublayer_legacy_final_rms_norm` (`final_layer_norm`) in the original T5 release (2019), `sublayer_rms_norm`
 * (`rms_norm`, per layer and final) in T5 v1.1, mT5 and ByT5; each norm holds one variable `scale`. Attention
 * (attention.py): `SelfAttention`/`EncDecAttention` `q`, `k`, `v`, `o`, `relative_attention_bias` in block 0;
 * feed-forward (transformer_layers.py DenseReluDense): `wi`/`wo` (relu) or `wi_0`/`wi_1`/`wo` (gated);
 * `shared/embedding`; `decoder/logits/kernel` when the output layer is untied (v1.1, mT5, ByT5).
 * Each variant is converted through the CLI and loaded by the real PyTorch; every value is compared with
 * the transpose/widening computed here by naive loops.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { numElements } from '../../src/tensor.js';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { bf16ToF32, type RawTensor, transpose2d } from '../support/reference-transforms.js';
import { tempDir } from '../support/temp.js';
import { type BundleTensor, randomTensorBytes, writeBundle } from '../support/tf-bundle-writer.js';
import { loadAllWithTorch } from '../support/torch-load.js';

interface Variant {
  /** 'original': layer_norm/final_layer_norm (2019 release); 'rms': rms_norm (v1.1, mT5, ByT5). */
  naming: 'original' | 'rms';
  gated: boolean;
  tied: boolean;
  dtype: 'float32' | 'bfloat16';
  vocab: number;
}

const D = 4;
const HEADS = 2;
const D_KV = 2;
const D_FF = 6;
const BUCKETS = 32;
const LAYERS = 2;

/** A tiny Mesh TF T5 checkpoint of the variant, names as mesh_tensorflow creates them. */
function t5Checkpoint(v: Variant, seed: number): BundleTensor[] {
  const random = seededRandom(seed);
  const out: BundleTensor[] = [];
  const add = (name: string, shape: number[]) =>
    out.push({ name, dtype: v.dtype, shape, bytes: randomTensorBytes(v.dtype, numElements(shape), random) });
  const norm = v.naming === 'original' ? 'layer_norm' : 'rms_norm';
  const finalNorm = v.naming === 'original' ? 'final_layer_norm' : 'rms_norm';
  const inner = HEADS * D_KV;
  add('shared/embedding', [v.vocab, D]);
  for (const stack of ['encoder', 'decoder']) {
    for (let b = 0; b < LAYERS; b++) {
      const block = `${stack}/block_${String(b).padStart(3, '0')}`;
      const attentions = stack === 'encoder' ? ['SelfAttention'] : ['SelfAttention', 'EncDecAttention'];
      attentions.forEach((attention, i) => {
        const layer = `${block}/layer_00${i}`;
        for (const p of ['q', 'k', 'v']) add(`${layer}/${attention}/${p}`, [D, inner]);
        add(`${layer}/${attention}/o`, [inner, D]);
        if (b === 0 && attention === 'SelfAttention')
          add(`${layer}/${attention}/relative_attention_bias`, [HEADS, BUCKETS]);
        add(`${layer}/${norm}/scale`, [D]);
      });
      const ff = `${block}/layer_00${attentions.length}`;
      for (const w of v.gated ? ['wi_0', 'wi_1'] : ['wi']) add(`${ff}/DenseReluDense/${w}/kernel`, [D, D_FF]);
      add(`${ff}/DenseReluDense/wo/kernel`, [D_FF, D]);
      add(`${ff}/${norm}/scale`, [D]);
    }
    add(`${stack}/${finalNorm}/scale`, [D]);
  }
  if (!v.tied) add('decoder/logits/kernel', [D, v.vocab]);
  return out;
}

/**
 * What mesh_tensorflow/optimize.py's AdafactorOptimizer saves beside the weights (factored second moments
 * `_slot_vr`/`_slot_vc` of matrices, `_slot_v` of vectors, float32) and the step counter.
 */
function adafactorState(weights: readonly BundleTensor[]): BundleTensor[] {
  const f32 = (name: string, shape: number[]): BundleTensor => ({
    name,
    dtype: 'float32',
    shape,
    bytes: new Uint8Array(4 * numElements(shape)).fill(0x3f),
  });
  return [
    ...weights.flatMap((w) =>
      w.shape.length === 2
        ? [f32(`${w.name}_slot_vr`, [w.shape[0]!]), f32(`${w.name}_slot_vc`, [w.shape[1]!])]
        : [f32(`${w.name}_slot_v`, w.shape)],
    ),
    { name: 'global_step', dtype: 'int64', shape: [], bytes: new Uint8Array(8) },
  ];
}

/** transformers' key for a Mesh TF name (REFERENCE D.8, written out here), and whether it is transposed. */
function hfKey(name: string): { key: string; transpose: boolean } {
  if (name === 'shared/embedding') return { key: 'shared.weight', transpose: false };
  if (name === 'decoder/logits/kernel') return { key: 'lm_head.weight', transpose: true };
  const final = /^(encoder|decoder)\/(rms_norm|final_layer_norm)\/scale$/.exec(name);
  if (final) return { key: `${final[1]}.final_layer_norm.weight`, transpose: false };
  const m = /^(encoder|decoder)\/block_(\d+)\/layer_(\d+)\/(.+)$/.exec(name);
  assert.ok(m, name);
  const base = `${m[1]}.block.${Number(m[2])}.layer.${Number(m[3])}`;
  const rest = m[4] as string;
  if (rest === 'rms_norm/scale' || rest === 'layer_norm/scale')
    return { key: `${base}.layer_norm.weight`, transpose: false };
  return { key: `${base}.${rest.replace(/\/kernel$/, '').replace('/', '.')}.weight`, transpose: true };
}

function expectedStateDict(tensors: readonly BundleTensor[]): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const t of tensors) {
    const { key, transpose } = hfKey(t.name);
    const value = transpose ? transpose2d(t) : t;
    out.set(key, value.dtype === 'bfloat16' ? bf16ToF32(value) : value);
  }
  return out;
}

const VARIANTS: Variant[] = [];
for (const naming of ['original', 'rms'] as const)
  for (const gated of [false, true])
    for (const tied of [true, false])
      for (const dtype of ['float32', 'bfloat16'] as const) VARIANTS.push({ naming, gated, tied, dtype, vocab: 12 });
const BYT5: Variant = { naming: 'rms', gated: true, tied: false, dtype: 'bfloat16', vocab: 384 };

const label = (v: Variant) =>
  `${v.naming === 'original' ? 'layer_norm/final_layer_norm' : 'rms_norm'}, ${v.gated ? 'gated wi_0/wi_1' : 'relu wi'}, ${v.tied ? 'tied' : 'untied'}, ${v.dtype}${v.vocab === 384 ? ', ByT5 vocab 384' : ''}`;

test('t5: both namings of the norms, every variant (relu/gated, tied/untied, float32/bfloat16) and ByT5, loaded by PyTorch', async (t) => {
  const python = torchPython(t);
  const tmp = tempDir(t, 't5-variants');
  const converted: { v: Variant; tensors: BundleTensor[]; weights: string }[] = [];
  for (const [i, v] of [...VARIANTS, BYT5].entries()) {
    const tensors = t5Checkpoint(v, 100 + i);
    mkdirSync(join(tmp, `v${i}`));
    const prefix = join(tmp, `v${i}`, 'model.ckpt-1000000');
    await writeBundle(prefix, v === BYT5 ? [...tensors, ...adafactorState(tensors)] : tensors);
    const folder = join(tmp, `v${i}-hf`);
    const base = ['convert', '--model_type', 't5', '--tf_checkpoint', prefix];
    if (i === 0 || v === BYT5) {
      const dry = runCli([...base, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      checkGolden(v === BYT5 ? 't5-byt5-rms-norm.plan.txt' : 't5-original-release-layer-norm.plan.txt', dry.stdout);
    }
    const r = runCli([...base, '--pytorch_dump_output', `${folder}/`, '--format', 'pytorch']);
    assert.equal(r.code, 0, `${label(v)}: ${r.stderr}`);
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    assert.deepEqual(
      [config.vocab_size, config.feed_forward_proj, config.tie_word_embeddings, config.num_layers],
      [v.vocab, v.gated ? 'gated-gelu' : 'relu', v.tied, LAYERS],
      label(v),
    );
    converted.push({ v, tensors, weights: join(folder, 'pytorch_model.bin') });
  }
  if (!python) return;
  const loadedAll = loadAllWithTorch(
    python,
    converted.map((c) => c.weights),
  );
  for (const [i, { v, tensors }] of converted.entries()) {
    const loaded = loadedAll[i]!;
    const want = expectedStateDict(tensors);
    const aliases = [
      'encoder.embed_tokens.weight',
      'decoder.embed_tokens.weight',
      ...(v.tied ? ['lm_head.weight'] : []),
    ];
    assert.deepEqual([...loaded.keys()].filter((k) => !want.has(k)).sort(), aliases.sort(), label(v));
    for (const [key, e] of want) {
      const got = loaded.get(key);
      assert.ok(got, `${label(v)}: ${key} missing`);
      assert.equal(got.dtype, 'float32', `${label(v)}: ${key}`);
      assert.deepEqual(got.shape, e.shape, `${label(v)}: ${key}`);
      assert.ok(Buffer.from(got.bytes).equals(Buffer.from(e.bytes)), `${label(v)}: ${key} values differ`);
    }
    for (const alias of aliases) assert.equal(loaded.get(alias)?.dataPtr, loaded.get('shared.weight')?.dataPtr, alias);
  }
});

test('t5: a norm given in both namings is refused (two variables for one key)', async (t) => {
  const tmp = tempDir(t, 't5-both');
  const tensors = t5Checkpoint({ naming: 'rms', gated: true, tied: false, dtype: 'float32', vocab: 12 }, 7);
  tensors.push({ name: 'encoder/final_layer_norm/scale', dtype: 'float32', shape: [D], bytes: new Uint8Array(4 * D) });
  const prefix = join(tmp, 'model.ckpt-1');
  await writeBundle(prefix, tensors);
  const r = runCli(['convert', '--model_type', 't5', '--tf_checkpoint', prefix, '--dry-run']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /encoder\.final_layer_norm\.weight: produced twice, from encoder\/rms_norm\/scale and from encoder\/final_layer_norm\/scale/,
  );
});
