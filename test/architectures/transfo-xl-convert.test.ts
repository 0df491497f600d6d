/**
 * transfo_xl end to end on the two real checkpoints: the CLI writes a folder, the real PyTorch loads
 * it (weights_only=True), and every tensor equals the TensorFlow tensor under the rules, with the
 * transposes and per-layer splits recomputed here by plain loops, ties sharing storage, identity
 * projections where the original has none, and inv_freq as PyTorch computes it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTensorSource } from '../../src/formats/open.js';
import { runConvert } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { runPython, torchPython } from '../support/python.js';
import type { AfterHook } from '../support/temp.js';
import { type LoadedTensor, loadWithTorch } from '../support/torch-load.js';

type Tf = Map<string, { shape: readonly number[]; values: Float32Array }>;

async function readTf(prefix: string): Promise<Tf> {
  const source = await openTensorSource(prefix);
  const out: Tf = new Map();
  try {
    for (const t of source.tensors) {
      const bytes = await t.read();
      out.set(t.name.replace(/^transformer\//, ''), {
        shape: t.shape,
        values: new Float32Array(Uint8Array.from(bytes).buffer),
      });
    }
  } finally {
    await source.close();
  }
  return out;
}

const floats = (t: LoadedTensor) => new Float32Array(Uint8Array.from(t.bytes).buffer);

function transposed(x: { shape: readonly number[]; values: Float32Array }): Float32Array {
  const [rows, cols] = x.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x.values[r * cols + c]!;
  return out;
}

function identity(n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

function expectTensor(out: Map<string, LoadedTensor>, key: string, shape: number[], values: Float32Array): void {
  const t = out.get(key);
  assert.ok(t, `${key} missing from the converted file`);
  assert.equal(t.dtype, 'float32', key);
  assert.deepEqual(t.shape, shape, key);
  assert.deepEqual(floats(t), values, key);
}

function convertFixture(t: AfterHook, dir: string): { folder: string; stderr: string } {
  const r = runConvert(
    t,
    ['--model_type', 'transfo_xl', '--tf_checkpoint', join(dir, 'model.ckpt'), '--format', 'pytorch'],
    'out',
  );
  const folder = r.output;
  return { folder, stderr: r.stderr };
}

/** What every layer has, whatever the embedding variant. */
function checkLayers(out: Map<string, LoadedTensor>, tf: Tf, layers: number): void {
  for (let l = 0; l < layers; l++) {
    const g = (n: string) => tf.get(`layer_${l}/${n}`)!;
    const k = `transformer.layers.${l}.`;
    expectTensor(out, `${k}dec_attn.qkv_net.weight`, [96, 32], transposed(g('rel_attn/qkv/kernel')));
    expectTensor(out, `${k}dec_attn.o_net.weight`, [32, 32], transposed(g('rel_attn/o/kernel')));
    expectTensor(out, `${k}dec_attn.r_net.weight`, [32, 32], transposed(g('rel_attn/r/kernel')));
    expectTensor(out, `${k}dec_attn.layer_norm.weight`, [32], g('rel_attn/LayerNorm/gamma').values);
    expectTensor(out, `${k}dec_attn.layer_norm.bias`, [32], g('rel_attn/LayerNorm/beta').values);
    expectTensor(out, `${k}pos_ff.CoreNet.0.weight`, [64, 32], transposed(g('ff/layer_1/kernel')));
    expectTensor(out, `${k}pos_ff.CoreNet.0.bias`, [64], g('ff/layer_1/bias').values);
    expectTensor(out, `${k}pos_ff.CoreNet.3.weight`, [32, 64], transposed(g('ff/layer_2/kernel')));
    expectTensor(out, `${k}pos_ff.CoreNet.3.bias`, [32], g('ff/layer_2/bias').values);
    expectTensor(out, `${k}pos_ff.layer_norm.weight`, [32], g('ff/LayerNorm/gamma').values);
    expectTensor(out, `${k}pos_ff.layer_norm.bias`, [32], g('ff/LayerNorm/beta').values);
  }
}

function checkInvFreq(python: string, out: Map<string, LoadedTensor>): void {
  const hex = runPython(
    python,
    'import torch; print((1 / (10000 ** (torch.arange(0.0, 32, 2.0) / 32))).numpy().tobytes().hex())',
  ).trim();
  const t = out.get('transformer.pos_emb.inv_freq');
  assert.ok(t);
  assert.deepEqual(t.shape, [16]);
  assert.equal(Buffer.from(t.bytes).toString('hex'), hex, 'inv_freq differs from PyTorch');
}

test('transfo_xl real checkpoint, div_val 1, no clusters, untied biases: CLI → PyTorch, every tensor', async (t) => {
  const dir = realFixture(t, 'transfo-xl-tiny-div-1');
  if (!dir) return;
  const python = torchPython(t);
  if (!python) return;
  const { folder, stderr } = convertFixture(t, dir);
  assert.match(stderr, /derived from the tensor shapes: vocab_size=30, cutoffs=\[\]/);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(
    [config.model_type, config.cutoffs, config.div_val, config.untie_r, config.n_layer],
    ['transfo-xl', [], 1, true, 2],
  );
  const out = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  const tf = await readTf(join(dir, 'model.ckpt'));
  assert.equal(out.size, 30);
  expectTensor(
    out,
    'transformer.word_emb.emb_layers.0.weight',
    [30, 32],
    tf.get('adaptive_embed/lookup_table')!.values,
  );
  expectTensor(out, 'crit.out_layers.0.bias', [30], tf.get('adaptive_softmax/bias')!.values);
  assert.equal(
    out.get('crit.out_layers.0.weight')?.dataPtr,
    out.get('transformer.word_emb.emb_layers.0.weight')?.dataPtr,
    'output layer tied to the embedding',
  );
  for (const b of ['r_r_bias', 'r_w_bias']) {
    const all = tf.get(b)!.values;
    for (let l = 0; l < 2; l++)
      expectTensor(out, `transformer.layers.${l}.dec_attn.${b}`, [4, 8], all.slice(l * 32, (l + 1) * 32));
  }
  checkLayers(out, tf, 2);
  checkInvFreq(python, out);
});

test('transfo_xl real checkpoint, div_val 2, two clusters, tied biases: CLI → PyTorch, identity projections', async (t) => {
  const dir = realFixture(t, 'transfo-xl-tiny-div-2');
  if (!dir) return;
  const python = torchPython(t);
  if (!python) return;
  const { folder } = convertFixture(t, dir);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(
    [config.cutoffs, config.div_val, config.untie_r, config.tie_projs, config.d_embed],
    [[10], 2, false, [false, true], 32],
  );
  const out = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  const tf = await readTf(join(dir, 'model.ckpt'));
  assert.equal(out.size, 41);
  expectTensor(
    out,
    'transformer.word_emb.emb_layers.0.weight',
    [10, 32],
    tf.get('adaptive_embed/cutoff_0/lookup_table')!.values,
  );
  expectTensor(
    out,
    'transformer.word_emb.emb_layers.1.weight',
    [20, 16],
    tf.get('adaptive_embed/cutoff_1/lookup_table')!.values,
  );
  // Cluster 0 is 32 wide = d_model and the original does not project it; the module does: identity.
  expectTensor(out, 'transformer.word_emb.emb_projs.0', [32, 32], identity(32));
  expectTensor(
    out,
    'transformer.word_emb.emb_projs.1',
    [32, 16],
    transposed(tf.get('adaptive_embed/cutoff_1/proj_W')!),
  );
  expectTensor(out, 'crit.cluster_weight', [1, 32], tf.get('adaptive_softmax/cutoff_0/cluster_W')!.values);
  expectTensor(out, 'crit.cluster_bias', [1], tf.get('adaptive_softmax/cutoff_0/cluster_b')!.values);
  expectTensor(out, 'crit.out_layers.0.bias', [10], tf.get('adaptive_softmax/cutoff_0/b')!.values);
  expectTensor(out, 'crit.out_layers.1.bias', [20], tf.get('adaptive_softmax/cutoff_1/b')!.values);
  expectTensor(out, 'crit.out_projs.0', [32, 32], identity(32));
  const ptr = (k: string) => out.get(k)?.dataPtr;
  assert.equal(
    ptr('crit.out_projs.1'),
    ptr('transformer.word_emb.emb_projs.1'),
    'tie_projs[1]: the softmax reuses the embedding projection',
  );
  assert.notEqual(
    ptr('crit.out_projs.0'),
    ptr('transformer.word_emb.emb_projs.0'),
    'tie_projs[0] is false: separate tensors',
  );
  for (let i = 0; i < 2; i++)
    assert.equal(ptr(`crit.out_layers.${i}.weight`), ptr(`transformer.word_emb.emb_layers.${i}.weight`));
  for (const b of ['r_r_bias', 'r_w_bias']) {
    expectTensor(out, `transformer.${b}`, [4, 8], tf.get(b)!.values);
    for (let l = 0; l < 2; l++)
      assert.equal(ptr(`transformer.layers.${l}.dec_attn.${b}`), ptr(`transformer.${b}`), `${b} shared by layer ${l}`);
  }
  checkLayers(out, tf, 2);
  checkInvFreq(python, out);
});
