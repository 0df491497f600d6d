/**
 * GPT-Neo: the Mesh TensorFlow training checkpoint of test/support/gpt-neo-checkpoint.ts (EleutherAI/gpt-neo's
 * names, bfloat16, three data shards, Adafactor slots, its training config.json beside it). Converted through
 * the CLI and loaded by the real PyTorch; the expected state dict is transformers'
 * convert_gpt_neo_mesh_tf_to_pytorch.py's (load_tf_weights_in_gpt_neo): every array cast to float32,
 * `attn/q|k|v|o` and the `conv1d_main` kernels transposed, `wte` cut to config.vocab_size (50257), lm_head tied.
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DTYPES } from '../../src/tensor.js';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import {
  GPT_NEO_BLOCK,
  GPT_NEO_SIZES,
  GPT_NEO_TRAINING_CONFIG,
  writeGptNeoCheckpoint,
} from '../support/gpt-neo-checkpoint.js';
import { assertExactly } from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { bf16ToF32, type RawTensor, readTfTensors, transpose2d } from '../support/reference-transforms.js';
import { loadShardedFolder, loadWithTorch } from '../support/torch-load.js';

const { VOCAB, E, HEADS, LAYERS, N_CTX } = GPT_NEO_SIZES;
const TRAINING_CONFIG = GPT_NEO_TRAINING_CONFIG;

let tmp = '';
let prefix = '';
/** The stored bytes of gpt2/wte's padding rows (after VOCAB), to find them in the shards. */
let paddingRows: Uint8Array = new Uint8Array(0);
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-gpt-neo-'));
  ({ prefix, paddingRows } = await writeGptNeoCheckpoint(tmp));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `array[:rows]` along the first axis. */
function firstRows(t: RawTensor, rows: number): RawTensor {
  const row = (t.shape[1] as number) * DTYPES[t.dtype].itemSize;
  return { dtype: t.dtype, shape: [rows, ...t.shape.slice(1)], bytes: t.bytes.slice(0, rows * row) };
}

/** torch.tensor(-1e9): float32, no dimensions. */
const MASKED_BIAS: RawTensor = { dtype: 'float32', shape: [], bytes: new Uint8Array(new Float32Array([-1e9]).buffer) };

/**
 * load_tf_weights_in_gpt_neo's state dict, computed here: float32, transposed kernels, wte cut, tied head;
 * each layer's masked_bias.
 */
async function expectedStateDict(): Promise<Map<string, RawTensor>> {
  const tf = await readTfTensors(prefix);
  const get = (name: string) => {
    const t = tf.get(name);
    assert.ok(t, `${name} missing`);
    assert.equal(t.dtype, 'bfloat16', `${name} is stored as bfloat16`);
    return bf16ToF32(t);
  };
  const wte = firstRows(get('gpt2/wte'), VOCAB);
  const out = new Map<string, RawTensor>([
    ['transformer.wte.weight', wte],
    ['transformer.wpe.weight', get('gpt2/wpe')],
  ]);
  for (let n = 0; n < LAYERS; n++) {
    for (const [tf, , pt, transposed] of GPT_NEO_BLOCK) {
      // GPTNeoSelfAttention's persistent buffer, which 4.29's GPTNeoForCausalLM does not ignore on load
      if (pt === 'attn.attention.k_proj.weight') out.set(`transformer.h.${n}.attn.attention.masked_bias`, MASKED_BIAS);
      const t = get(`gpt2/h${n}/${tf}`);
      out.set(`transformer.h.${n}.${pt}`, transposed ? transpose2d(t) : t);
    }
  }
  out.set('transformer.ln_f.weight', get('gpt2/ln_f/g'));
  out.set('transformer.ln_f.bias', get('gpt2/ln_f/b'));
  out.set('lm_head.weight', wte);
  return out;
}

test('gpt_neo golden plan: config.json beside it found, n_ctx for n_positions, wte cut, Adafactor slots skipped', () => {
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', join(tmp, 'unused'), '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /note: gpt_neo checkpoint: GPTNeoForCausalLM \(detected from gpt2\/h0\/attn\/q and config\.json/,
  );
  assert.match(r.stderr, /max_position_embeddings 64 from n_ctx \(the config has no n_positions\)/);
  assert.match(r.stderr, /gpt2\/wte has 50304 rows \(n_vocab, padded\): the first 50257 \(vocab_size\) are kept/);
  checkGolden('gpt-neo-mesh-tf-bf16-adafactor.plan.txt', r.stdout);
});

test('gpt_neo to one .bin: GPTNeoForCausalLM keys, bfloat16 widened exactly, lm_head the embedding', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  assert.ok(readdirSync(tmp).filter((f) => /^model\.ckpt-1000\.data-\d{5}-of-00003$/.test(f)).length === 3);
  const out = join(tmp, 'bin', 'pytorch_model.bin');
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, out);
  const expected = await expectedStateDict();
  assert.deepEqual([...loaded.keys()], [...expected.keys()], 'GPTNeoForCausalLM.state_dict() order');
  assertExactly(loaded, expected);
  assert.equal(loaded.get('lm_head.weight')?.dataPtr, loaded.get('transformer.wte.weight')?.dataPtr, 'tied');
  const config = JSON.parse(readFileSync(join(tmp, 'bin', 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['GPTNeoForCausalLM']);
  assert.equal(config.model_type, 'gpt_neo');
  assert.deepEqual(
    [config.vocab_size, config.hidden_size, config.num_layers, config.num_heads, config.max_position_embeddings],
    [VOCAB, E, LAYERS, HEADS, N_CTX],
  );
  assert.deepEqual(config.attention_types, [[['global', 'local'], 1]]);
  assert.deepEqual(config.attention_layers, ['global', 'local']);
  assert.deepEqual(
    [config.activation_function, config.window_size, config.layer_norm_epsilon, config.resid_dropout],
    ['gelu_new', 256, 1e-5, 0],
  );
});

test('gpt_neo to a sharded safetensors folder, and --dtype bfloat16 keeps the stored bits', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'folder');
  const r = runCli([
    'convert',
    '--model_type',
    'gpt_neo',
    '--tf_checkpoint',
    prefix,
    '--pytorch_dump_output',
    folder,
    '--max-shard-size',
    '10MB',
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const expected = await expectedStateDict();
  expected.delete('lm_head.weight'); // tied: safetensors stores it once, as save_pretrained does
  assertExactly(loadShardedFolder(python, join(folder, 'model.safetensors.index.json')), expected);

  const bf16 = join(tmp, 'bf16.bin');
  const k = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', bf16, '--dtype', 'keep', '--quiet']);
  assert.equal(k.code, 0, k.stderr);
  const kept = loadWithTorch(python, bf16);
  const tf = await readTfTensors(prefix);
  assert.equal(kept.get('transformer.wpe.weight')?.dtype, 'bfloat16');
  assert.deepEqual(
    Buffer.from(kept.get('transformer.wpe.weight')?.bytes ?? []),
    Buffer.from(tf.get('gpt2/wpe')!.bytes),
  );
});

test('gpt_neo: a training config the checkpoint contradicts, or one without n_ctx, is refused naming the field', () => {
  const config = (fields: object) => {
    const path = join(tmp, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify({ ...TRAINING_CONFIG, ...fields }));
    return path;
  };
  const run = (...more: string[]) =>
    runCli(['convert', '--model_type', 'gpt_neo', '--tf_checkpoint', prefix, '--dry-run', ...more]);

  const layers = run('--config', config({ n_layer: 3, attention_types: [[['global'], 3]] }));
  assert.equal(layers.code, 1);
  assert.match(layers.stderr, /n_layer: config says 3, checkpoint has 2 \(gpt2\/h\{n\}\/ blocks\)/);

  const width = run('--config', config({ n_embd: 64 }));
  assert.equal(width.code, 1);
  assert.match(width.stderr, /n_embd: config says 64, checkpoint has 128 \(gpt2\/wte \[50304, 128\]\)/);

  const kinds = run('--config', config({ attention_types: [[['global', 'none'], 1]] }));
  assert.equal(kinds.code, 1);
  assert.match(kinds.stderr, /'attention_types' has 'none' layers: GPTNeoForCausalLM has only 'global' and 'local'/);

  const count = run('--config', config({ attention_types: [[['global'], 3]] }));
  assert.equal(count.code, 1);
  assert.match(count.stderr, /'attention_types' expands to 3 layers but n_layer is 2/);

  const vocab = run('--config', config({ vocab_size: 60000 }));
  assert.equal(vocab.code, 1);
  assert.match(vocab.stderr, /vocab_size 60000 is more than the 50304 rows of gpt2\/wte/);

  // a GPTNeoConfig (transformers' config.json of the model) is taken as it is
  const hf = join(tmp, 'hf-config.json');
  writeFileSync(
    hf,
    JSON.stringify({
      model_type: 'gpt_neo',
      hidden_size: E,
      num_layers: LAYERS,
      num_heads: HEADS,
      max_position_embeddings: N_CTX,
      attention_types: [[['global', 'local'], 1]],
    }),
  );
  const taken = run('--config', hf);
  assert.equal(taken.code, 0, taken.stderr);
  assert.match(taken.stdout, /transformer\.wte\.weight \[50257, 128\] float32/);

  const { n_ctx: _, ...withoutCtx } = TRAINING_CONFIG;
  const noCtx = join(tmp, 'no-ctx.json');
  writeFileSync(noCtx, JSON.stringify(withoutCtx));
  const ctx = run('--config', noCtx);
  assert.equal(ctx.code, 1);
  assert.match(ctx.stderr, /no-ctx\.json: the GPT-Neo training config lacks 'n_ctx'/);
  assert.doesNotMatch(ctx.stderr, /\n\s+at /, 'no stack trace');
});

test('gpt_neo: a corrupt byte in the rows cut from gpt2/wte still fails its checksum; nothing is written', () => {
  const dir = join(tmp, 'corrupt');
  mkdirSync(dir);
  let flipped = false;
  for (const f of readdirSync(tmp).filter((n) => n.startsWith('model.ckpt-1000.') || n === 'config.json')) {
    const bytes = readFileSync(join(tmp, f));
    const at = f.includes('.data-') ? bytes.indexOf(paddingRows) : -1;
    if (at >= 0) {
      bytes[at + paddingRows.length - 3] = (bytes[at + paddingRows.length - 3] as number) ^ 0x10;
      flipped = true;
    }
    if (at >= 0) writeFileSync(join(dir, f), bytes);
    else copyFileSync(join(tmp, f), join(dir, f));
  }
  assert.ok(flipped, 'the padding rows were found in a shard');
  const out = join(dir, 'out.bin');
  const r = runCli(['convert', '--tf_checkpoint', join(dir, 'model.ckpt-1000'), '--pytorch_dump_output', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /E_TENSOR_CHECKSUM/);
  assert.match(r.stderr, /gpt2\/wte/);
  assert.equal(existsSync(out), false);
});
