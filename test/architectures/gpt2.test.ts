import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { planConversion } from '../../src/convert/index.js';
import { formatPlan } from '../../src/mapping/index.js';
import { runCli, runConvert } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';
import { torchPython } from '../support/python.js';
import { readTfTensors, squeezeAll } from '../support/reference-transforms.js';
import { tempDir } from '../support/temp.js';
import { loadWithTorch } from '../support/torch-load.js';

const BLOCK = [
  'ln_1/g',
  'ln_1/b',
  'attn/c_attn/w',
  'attn/c_attn/b',
  'attn/c_proj/w',
  'attn/c_proj/b',
  'ln_2/g',
  'ln_2/b',
  'mlp/c_fc/w',
  'mlp/c_fc/b',
  'mlp/c_proj/w',
  'mlp/c_proj/b',
];

/** The HF key of an OpenAI name, written out independently of the architecture's rules. */
function hfKey(tf: string): string {
  const parts = tf.replace(/^model\//, '').split('/');
  return parts
    .flatMap((p) => (/^h\d+$/.test(p) ? ['h', p.slice(1)] : [p]))
    .map((p) => (p === 'g' || p === 'w' ? 'weight' : p === 'b' ? 'bias' : p))
    .concat(parts.length === 1 ? ['weight'] : [])
    .join('.');
}

test('gpt2 117M: golden plan from the real index (config from hparams.json)', async (t) => {
  const dir = realFixture(t, 'gpt2-117M-indexonly');
  if (!dir) return;
  const { plan, config } = await planConversion({ modelType: 'gpt2', checkpoint: join(dir, 'model.ckpt') });
  assert.equal(config.n_embd, 768);
  assert.equal(config.vocab_size, 50257);
  // each block's parameters and its causal mask buffer (saved by transformers up to 4.29)
  assert.equal(plan.outputs.length, 2 + 12 * (BLOCK.length + 1) + 2);
  checkGolden('gpt2-117M-indexonly.plan.txt', formatPlan(plan));
});

test('gpt2 toy: CLI conversion loads in PyTorch with the TensorFlow values, squeezed; tokenizer files carried', async (t) => {
  const dir = realFixture(t, 'gpt2-toy-keras-gpt-2');
  if (!dir) return;
  const python = torchPython(t);
  if (!python) return;
  const r = runConvert(
    t,
    ['--model_type', 'gpt2', '--tf_checkpoint', join(dir, 'model.ckpt'), '--format', 'pytorch'],
    'gpt2',
  );
  const folder = r.output;
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  const tf = await readTfTensors(join(dir, 'model.ckpt'));
  assert.equal(loaded.size, tf.size + 3);
  for (let n = 0; n < 3; n++) {
    // the causal mask transformers 4.29 saves: bool, ones on and below the diagonal
    const mask = loaded.get(`h.${n}.attn.bias`);
    assert.deepEqual([mask?.dtype, mask?.shape], ['bool', [1, 1, 20, 20]]);
    for (let i = 0; i < 20; i++)
      for (let j = 0; j < 20; j++) assert.equal(mask?.bytes[i * 20 + j], j <= i ? 1 : 0, `mask[${i}][${j}]`);
  }
  for (const [name, tensor] of tf) {
    const expected = squeezeAll(tensor);
    const got = loaded.get(hfKey(name));
    assert.ok(got, `${hfKey(name)} missing from the output`);
    assert.deepEqual(got.shape, expected.shape, name);
    assert.equal(got.dtype, 'float32');
    assert.deepEqual(Buffer.from(got.bytes), Buffer.from(expected.bytes), `${name}: values differ`);
  }
  assert.deepEqual(loaded.get('h.0.attn.c_attn.weight')?.shape, [15, 45]);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.equal(config.model_type, 'gpt2');
  assert.deepEqual(
    [config.vocab_size, config.n_positions, config.n_embd, config.n_head, config.n_layer],
    [356, 20, 15, 5, 3],
  );
  assert.equal(readFileSync(join(folder, 'vocab.json'), 'utf8'), readFileSync(join(dir, 'encoder.json'), 'utf8'));
  assert.equal(readFileSync(join(folder, 'merges.txt'), 'utf8'), readFileSync(join(dir, 'vocab.bpe'), 'utf8'));
});

test('gpt2: a config of another size is refused before any byte moves, naming each field', (t) => {
  const dir = realFixture(t, 'gpt2-117M-indexonly');
  if (!dir) return;
  const tmp = tempDir(t, 'gpt2-cfg');
  // the 345M hparams against the 124M checkpoint
  const config = join(tmp, 'hparams-345M.json');
  writeFileSync(config, JSON.stringify({ n_vocab: 50257, n_ctx: 1024, n_embd: 1024, n_head: 16, n_layer: 24 }));
  const r = runCli([
    'convert',
    '--model_type',
    'gpt2',
    '--tf_checkpoint',
    join(dir, 'model.ckpt'),
    '--config',
    config,
    '--pytorch_dump_output',
    join(tmp, 'out'),
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_CONFIG/);
  assert.match(r.stderr, /n_embd: config says 1024, checkpoint has 768 \(model\/wte \[50257, 768\]\)/);
  assert.match(r.stderr, /n_layer: config says 24, checkpoint has 12/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a user mistake');
});

test('gpt2 toy: without hparams.json the sizes come from the shapes; an unreleased width needs --config', async (t) => {
  const dir = realFixture(t, 'gpt2-toy-keras-gpt-2');
  if (!dir) return;
  const tmp = tempDir(t, 'gpt2-nohp');
  // same checkpoint, no hparams.json beside it: n_embd 15 is no released size
  for (const f of ['model.ckpt.index', 'model.ckpt.data-00000-of-00001'])
    writeFileSync(join(tmp, f), readFileSync(join(dir, f)));
  await assert.rejects(
    planConversion({ modelType: 'gpt2', checkpoint: join(tmp, 'model.ckpt') }),
    /n_embd 15 is not a released GPT-2 size/,
  );
  const { config } = await planConversion({
    modelType: 'gpt2',
    checkpoint: join(tmp, 'model.ckpt'),
    config: join(dir, 'hparams.json'),
  });
  assert.equal(config.n_head, 5);
});
