/**
 * Funnel-Transformer: a checkpoint with the names laiguokun/Funnel-Transformer's TF code creates —
 * tensorflow/modeling.py (`model/input/word_embedding/lookup_table`, `model/input/layer_norm`, encoder
 * `layer_{i}` numbered across blocks, decoder layers continuing the count, `lm_proj`/`lm_loss`,
 * `binary_proj`/`binary_loss`), tensorflow/ops.py (`rel_attn/{q,k,v}` kernels [d_model, n_head, d_head],
 * q without bias, `r_w_bias`, `r_r_bias`, `r/kernel`, `r_s_bias`, `seg_embed`, `o` kernel [n_head, d_head,
 * d_model], `layer_norm`, `ff/layer_{1,2}`), tensorflow/pretrain.py (the `model` and ELECTRA `generator`
 * scopes, net_config.json) and tensorflow/optimization.py (`{param}/adam_m`, `{param}/adam_v`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly, type VariableSpec, writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { FUNNEL_NET_CONFIG } from '../support/original-releases.js';
import { torchPython } from '../support/python.js';
import { type RawTensor, readTfTensors, transpose2d } from '../support/reference-transforms.js';
import { loadWithTorch } from '../support/torch-load.js';

const C = FUNNEL_NET_CONFIG;
// vocab, d_model, heads, head size, inner
const [V, D, N, H, I] = [C.vocab_size, C.d_model, C.n_head, C.d_head, C.d_inner];

function layer(scope: string): VariableSpec[] {
  const a = `${scope}/rel_attn`;
  return [
    [`${a}/q/kernel`, [D, N, H]],
    [`${a}/k/kernel`, [D, N, H]],
    [`${a}/k/bias`, [N, H]],
    [`${a}/v/kernel`, [D, N, H]],
    [`${a}/v/bias`, [N, H]],
    [`${a}/r_w_bias`, [N, H]],
    [`${a}/r_r_bias`, [N, H]],
    [`${a}/r/kernel`, [D, N, H]],
    [`${a}/r_s_bias`, [N, H]],
    [`${a}/seg_embed`, [2, N, H]],
    [`${a}/o/kernel`, [N, H, D]],
    [`${a}/o/bias`, [D]],
    [`${a}/layer_norm/beta`, [D]],
    [`${a}/layer_norm/gamma`, [D]],
    [`${scope}/ff/layer_1/kernel`, [D, I]],
    [`${scope}/ff/layer_1/bias`, [I]],
    [`${scope}/ff/layer_2/kernel`, [I, D]],
    [`${scope}/ff/layer_2/bias`, [D]],
    [`${scope}/ff/layer_norm/beta`, [D]],
    [`${scope}/ff/layer_norm/gamma`, [D]],
  ];
}

function variables(withDecoder: boolean): VariableSpec[] {
  return [
    ['model/input/word_embedding/lookup_table', [V, D]],
    ['model/input/layer_norm/beta', [D]],
    ['model/input/layer_norm/gamma', [D]],
    ...[0, 1, 2].flatMap((i) => layer(`model/encoder/layer_${i}`)),
    ...(withDecoder ? layer('model/decoder/layer_3') : []),
    // ELECTRA pre-training: the discriminator's head and a (narrower) generator
    ['model/binary_proj/dense/kernel', [D, D]],
    ['model/binary_proj/dense/bias', [D]],
    ['model/binary_loss/weight', [D]],
    ['model/binary_loss/bias', [1]],
    ['generator/encoder/layer_0/ff/layer_1/kernel', [4, 8]],
    ['generator/lm_proj/dense/kernel', [4, D]],
    ['generator/lm_loss/bias', [V]],
  ];
}

/** The state dict transformers' loader gives, computed with numpy's rules: reshape keeps the bytes, `.T` transposes. */
function expected(tf: Map<string, RawTensor>, withDecoder: boolean): Map<string, RawTensor> {
  const get = (n: string) => {
    const t = tf.get(n);
    assert.ok(t, n);
    return t;
  };
  const reshaped = (t: RawTensor, shape: number[]): RawTensor => ({ ...t, shape });
  const out = new Map<string, RawTensor>([
    ['embeddings.word_embeddings.weight', get('model/input/word_embedding/lookup_table')],
    ['embeddings.layer_norm.weight', get('model/input/layer_norm/gamma')],
    ['embeddings.layer_norm.bias', get('model/input/layer_norm/beta')],
  ]);
  const put = (pt: string, tfScope: string) => {
    const a = `${tfScope}/rel_attn`;
    for (const v of ['r_w_bias', 'r_r_bias', 'r_s_bias', 'seg_embed'])
      out.set(`${pt}.attention.${v}`, get(`${a}/${v}`));
    out.set(`${pt}.attention.r_kernel`, get(`${a}/r/kernel`));
    for (const h of ['q', 'k', 'v'])
      out.set(`${pt}.attention.${h}_head.weight`, transpose2d(reshaped(get(`${a}/${h}/kernel`), [N * H, D])));
    for (const h of ['k', 'v']) out.set(`${pt}.attention.${h}_head.bias`, reshaped(get(`${a}/${h}/bias`), [N * H]));
    out.set(`${pt}.attention.post_proj.weight`, transpose2d(reshaped(get(`${a}/o/kernel`), [D, N * H])));
    out.set(`${pt}.attention.post_proj.bias`, get(`${a}/o/bias`));
    out.set(`${pt}.attention.layer_norm.weight`, get(`${a}/layer_norm/gamma`));
    out.set(`${pt}.attention.layer_norm.bias`, get(`${a}/layer_norm/beta`));
    for (const l of ['1', '2']) {
      out.set(`${pt}.ffn.linear_${l}.weight`, transpose2d(get(`${tfScope}/ff/layer_${l}/kernel`)));
      out.set(`${pt}.ffn.linear_${l}.bias`, get(`${tfScope}/ff/layer_${l}/bias`));
    }
    out.set(`${pt}.ffn.layer_norm.weight`, get(`${tfScope}/ff/layer_norm/gamma`));
    out.set(`${pt}.ffn.layer_norm.bias`, get(`${tfScope}/ff/layer_norm/beta`));
  };
  put('encoder.blocks.0.0', 'model/encoder/layer_0');
  put('encoder.blocks.0.1', 'model/encoder/layer_1');
  put('encoder.blocks.1.0', 'model/encoder/layer_2');
  if (withDecoder) put('decoder.layers.0', 'model/decoder/layer_3');
  return out;
}

let tmp = '';
let full = '';
let core = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-funnel-'));
  full = join(tmp, 'full', 'model.ckpt');
  core = join(tmp, 'core', 'model.ckpt');
  for (const dir of ['full', 'core']) mkdirSync(join(tmp, dir));
  await writeOriginalCheckpoint(full, variables(true), { seed: 13, slots: ['adam_m', 'adam_v'] });
  await writeOriginalCheckpoint(core, variables(false), { seed: 14 });
  for (const dir of ['full', 'core'])
    writeFileSync(join(tmp, dir, 'net_config.json'), JSON.stringify(FUNNEL_NET_CONFIG, null, 4));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convert = (checkpoint: string, ...more: string[]) =>
  runCli(['convert', '--model_type', 'funnel', '--tf_checkpoint', checkpoint, ...more]);

test('funnel golden plans: FunnelModel (net_config.json beside it) and FunnelBaseModel (--base_model)', () => {
  const r = convert(full, '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: config: net_config.json beside the checkpoint/);
  checkGolden('funnel-synthetic.plan.txt', r.stdout);
  const base = convert(core, '--base_model', '--dry-run');
  assert.equal(base.code, 0, base.stderr);
  checkGolden('funnel-synthetic-core.base.plan.txt', base.stdout);
});

test('funnel: FunnelModel with exact values in PyTorch, config.json from net_config.json', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'funnel-hf');
  const r = convert(full, '--pytorch_dump_output', folder, '--format', 'pytorch');
  assert.equal(r.code, 0, r.stderr);
  assertExactly(loadWithTorch(python, join(folder, 'pytorch_model.bin')), expected(await readTfTensors(full), true));
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['FunnelModel']);
  assert.deepEqual([config.block_sizes, config.block_repeats, config.num_decoder_layers], [[2, 1], [1, 1], 1]);
  assert.deepEqual([config.hidden_act, config.attention_type], ['gelu_new', 'factorized']);
  assert.equal(config.num_hidden_layers, undefined, 'a property of FunnelConfig, never written');
});

test('funnel --base_model with transformers FunnelConfig JSON: FunnelBaseModel, the decoder left out', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const config = join(tmp, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      block_sizes: [2, 1],
      d_head: H,
      d_inner: I,
      d_model: D,
      n_head: N,
      num_decoder_layers: 1,
      vocab_size: V,
    }),
  );
  const out = join(tmp, 'base', 'pytorch_model.bin');
  const r = convert(full, '--config', config, '--base-model', '--pytorch_dump_output', out);
  assert.equal(r.code, 0, r.stderr);
  assertExactly(loadWithTorch(python, out), expected(await readTfTensors(full), false));
  assert.deepEqual(JSON.parse(readFileSync(join(tmp, 'base', 'config.json'), 'utf8')).architectures, [
    'FunnelBaseModel',
  ]);
});

test('funnel: a core-only checkpoint without --base_model, and block sizes that do not add up, are refused', () => {
  const r = convert(core, '--dry-run');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /num_decoder_layers: config says 1, checkpoint has 0 \(model\/decoder\/layer_\{i\}\/\)/);
  assert.match(r.stderr, /--base_model/);
  const wrong = join(tmp, 'wrong.json');
  writeFileSync(wrong, JSON.stringify({ ...FUNNEL_NET_CONFIG, block_size: '2_2' }));
  const w = convert(full, '--config', wrong, '--dry-run');
  assert.equal(w.code, 1);
  assert.match(w.stderr, /block_sizes \[2,2\] make 4 encoder layers, the checkpoint has 3/);
});

test('funnel without --model_type: recognised by its layer scopes, not taken for xlnet', () => {
  const r = runCli(['convert', '--tf_checkpoint', full, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: funnel checkpoint: FunnelModel \(detected from /);
  assert.match(r.stdout, /^model_type: funnel \(FunnelModel\)/);
});
