/**
 * ImageGPT: a checkpoint with the names openai/image-gpt's src/model.py creates under `model`: `wpe`
 * [n_ctx, n_embd], `wte` and `wtet` [n_vocab, n_embd], `sos` [n_embd] (the autoregressive objective); per block
 * `h{n}/ln_1/g` (norm: a scale only), `attn/k_proj|q_proj|v_proj|c_proj` [n_head, head_dim, n_embd], `ln_2/g`,
 * `mlp/c_fc/w` [n_embd, 4·n_embd] and `mlp/c_proj/w` (conv1d: a weight, no bias); `ln_f/g`. In several data
 * shards as download.py fetches them (`model.ckpt-N.data-0000x-of-0000y`), with Adam's slots and `global_step`
 * (the training code is not released; transformers' loader skips optimizer state and `_step` names). Expected:
 * transformers' load_tf_weights_in_imagegpt, computed here by element loops: q/k/v each reshaped to
 * [n_embd, n_embd] and transposed into c_attn's thirds, attn c_proj reshaped, `sos` the last row of wte,
 * `wtet` the LM head, the biases the original lacks zeros.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly } from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { type RawTensor, readTfTensors } from '../support/reference-transforms.js';
import { type BundleTensor, randomTensorBytes, writeBundle } from '../support/tf-bundle-writer.js';
import { loadWithTorch } from '../support/torch-load.js';
import { runTransformers, transformersPython } from '../support/transformers.js';
import { loadInTransformers } from '../support/transformers-load.js';

// 16 color clusters, a 4×4 image, two heads of 8
const [N_VOCAB, N_CTX, E, HEADS, LAYERS] = [16, 16, 16, 2, 2];
const HEAD_DIM = E / HEADS;

const VARIABLES: readonly (readonly [string, number[]])[] = [
  ['model/wpe', [N_CTX, E]],
  ['model/wte', [N_VOCAB, E]],
  ['model/wtet', [N_VOCAB, E]],
  ['model/sos', [E]],
  ...Array.from({ length: LAYERS }, (_, n): [string, number[]][] => [
    [`model/h${n}/ln_1/g`, [E]],
    [`model/h${n}/attn/k_proj`, [HEADS, HEAD_DIM, E]],
    [`model/h${n}/attn/q_proj`, [HEADS, HEAD_DIM, E]],
    [`model/h${n}/attn/v_proj`, [HEADS, HEAD_DIM, E]],
    [`model/h${n}/attn/c_proj`, [HEADS, HEAD_DIM, E]],
    [`model/h${n}/ln_2/g`, [E]],
    [`model/h${n}/mlp/c_fc/w`, [E, 4 * E]],
    [`model/h${n}/mlp/c_proj/w`, [4 * E, E]],
  ]).flat(),
  ['model/ln_f/g', [E]],
];

let tmp = '';
let prefix = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-imagegpt-'));
  prefix = join(tmp, 'model.ckpt-1000000');
  const random = seededRandom(22);
  const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const tensors: BundleTensor[] = [];
  for (const [name, shape] of VARIABLES)
    for (const suffix of ['', '/Adam', '/Adam_1'])
      tensors.push({
        name: `${name}${suffix}`,
        dtype: 'float32',
        shape,
        bytes: randomTensorBytes('float32', count(shape), random),
      });
  const step = new Uint8Array(8);
  new DataView(step.buffer).setBigInt64(0, 1000000n, true);
  tensors.push({ name: 'global_step', dtype: 'int64', shape: [], bytes: step });
  await writeBundle(prefix, tensors, { shards: 4 });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const f32 = (shape: number[], values: ArrayLike<number>): RawTensor => ({
  dtype: 'float32',
  shape,
  bytes: new Uint8Array(Float32Array.from(values).buffer),
});
const floats = (t: RawTensor) =>
  new Float32Array(t.bytes.buffer.slice(t.bytes.byteOffset, t.bytes.byteOffset + t.bytes.byteLength));

/** load_tf_weights_in_imagegpt's state dict (ImageGPTForCausalImageModeling.state_dict() order). */
async function expectedStateDict(): Promise<Map<string, RawTensor>> {
  const tf = await readTfTensors(prefix);
  const get = (name: string) => {
    const t = tf.get(name);
    assert.ok(t, `${name} missing`);
    return t;
  };
  const wte = floats(get('model/wte'));
  const sos = floats(get('model/sos'));
  const out = new Map<string, RawTensor>([
    ['transformer.wte.weight', f32([N_VOCAB + 1, E], [...wte, ...sos])],
    ['transformer.wpe.weight', get('model/wpe')],
  ]);
  const mask = new Uint8Array(N_CTX * N_CTX);
  for (let i = 0; i < N_CTX; i++) for (let j = 0; j <= i; j++) mask[i * N_CTX + j] = 1;
  for (let n = 0; n < LAYERS; n++) {
    const h = `model/h${n}`;
    const p = `transformer.h.${n}`;
    // c_attn.weight[:, w·E + r] = proj_w.reshape(E, E).T[:, r], w = q, k, v
    const parts = ['q_proj', 'k_proj', 'v_proj'].map((x) => floats(get(`${h}/attn/${x}`)));
    const cAttn = new Float32Array(E * 3 * E);
    for (let i = 0; i < E; i++)
      for (let w = 0; w < 3; w++)
        for (let r = 0; r < E; r++) cAttn[i * 3 * E + w * E + r] = (parts[w] as Float32Array)[r * E + i] as number;
    out.set(`${p}.ln_1.weight`, get(`${h}/ln_1/g`));
    out.set(`${p}.attn.bias`, { dtype: 'bool', shape: [1, 1, N_CTX, N_CTX], bytes: mask });
    out.set(`${p}.attn.masked_bias`, f32([], [-1e4]));
    out.set(`${p}.attn.c_attn.weight`, f32([E, 3 * E], cAttn));
    out.set(`${p}.attn.c_attn.bias`, f32([3 * E], new Float32Array(3 * E)));
    out.set(`${p}.attn.c_proj.weight`, { ...get(`${h}/attn/c_proj`), shape: [E, E] });
    out.set(`${p}.attn.c_proj.bias`, f32([E], new Float32Array(E)));
    out.set(`${p}.ln_2.weight`, get(`${h}/ln_2/g`));
    out.set(`${p}.mlp.c_fc.weight`, get(`${h}/mlp/c_fc/w`));
    out.set(`${p}.mlp.c_fc.bias`, f32([4 * E], new Float32Array(4 * E)));
    out.set(`${p}.mlp.c_proj.weight`, get(`${h}/mlp/c_proj/w`));
    out.set(`${p}.mlp.c_proj.bias`, f32([E], new Float32Array(E)));
  }
  out.set('transformer.ln_f.weight', get('model/ln_f/g'));
  out.set('lm_head.weight', get('model/wtet'));
  return out;
}

test('imagegpt golden plan: detected, sizes from the shapes, q/k/v fused, sos appended, Adam slots skipped', () => {
  assert.equal(readdirSync(tmp).filter((f) => /^model\.ckpt-1000000\.data-\d{5}-of-00004$/.test(f)).length, 4);
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', join(tmp, 'unused'), '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /imagegpt checkpoint: ImageGPTForCausalImageModeling \(detected from model\/h0\/attn\/q_proj/);
  assert.match(
    r.stderr,
    /derived from the checkpoint's shapes: vocab_size=17, n_embd=16, n_positions=16, n_head=2, n_layer=2/,
  );
  checkGolden('imagegpt-synthetic.plan.txt', r.stdout);
  assert.match(
    runCli(['inspect', prefix]).stdout,
    /imagegpt checkpoint: ImageGPTForCausalImageModeling; \d+ optimizer slots/,
  );
});

test('imagegpt to a folder: exact values in PyTorch, ImageGPTForCausalImageModeling in transformers, image processor', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'folder');
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', folder, '--format', 'pytorch']);
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  const expected = await expectedStateDict();
  assert.deepEqual([...loaded.keys()], [...expected.keys()], 'ImageGPTForCausalImageModeling.state_dict() order');
  assertExactly(loaded, expected);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.architectures, config.vocab_size, config.n_embd, config.n_head, config.n_layer, config.n_positions],
    [['ImageGPTForCausalImageModeling'], N_VOCAB + 1, E, HEADS, LAYERS, N_CTX],
  );

  const client = transformersPython(t);
  if (!client) return;
  for (const report of loadInTransformers(client, folder, ['pytorch'])) {
    assert.equal(report.modelClass, 'ImageGPTForCausalImageModeling', report.format);
    assert.deepEqual([report.missing, report.unexpected, report.mismatched, report.errors], [[], [], [], []]);
    assert.deepEqual(report.differing, [], report.format);
    assert.deepEqual(report.warnings, [], 'transformers warned');
  }
  // preprocessor_config.json as transformers reads it (the class itself needs PIL): a 4×4 image, no clusters yet
  const processor = runTransformers(
    client,
    'import sys, json; from transformers.image_processing_utils import ImageProcessingMixin as M; print(json.dumps(M.get_image_processor_dict(sys.argv[1])[0]))',
    [folder],
  );
  assert.deepEqual(JSON.parse(processor), {
    clusters: null,
    do_color_quantize: true,
    do_normalize: true,
    do_resize: true,
    image_processor_type: 'ImageGPTImageProcessor',
    resample: 2,
    size: { height: 4, width: 4 },
  });
});

test('imagegpt: a BERT-objective checkpoint (no sos) is refused, saying why', async () => {
  mkdirSync(join(tmp, 'bert'));
  const bert = join(tmp, 'bert', 'model.ckpt-1000000');
  const random = seededRandom(5);
  const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  await writeBundle(
    bert,
    VARIABLES.filter(([name]) => name !== 'model/sos').map(([name, shape]) => ({
      name,
      dtype: 'float32' as const,
      shape,
      bytes: randomTensorBytes('float32', count(shape), random),
    })),
  );
  const r = runCli(['convert', '--tf_checkpoint', bert, '--dry-run']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /error\[E_UNSUPPORTED\].*model\/wte without model\/sos: an iGPT checkpoint of the BERT objective/,
  );
});

test('imagegpt: --model_size the shapes contradict is refused naming the fields; an unknown size is a usage error', () => {
  const run = (...more: string[]) =>
    runCli(['convert', '--model_type', 'imagegpt', '--tf_checkpoint', prefix, '--dry-run', ...more]);
  const small = run('--model_size', 'small');
  assert.equal(small.code, 1);
  assert.match(small.stderr, /error\[E_CONFIG\]/);
  assert.match(small.stderr, /n_embd: config says 512, checkpoint has 16 \(model\/wte \[16, 16\]\)/);
  assert.match(small.stderr, /n_layer: config says 24, checkpoint has 2/);
  const huge = run('--model-size', 'huge');
  assert.equal(huge.code, 2);
  assert.match(huge.stderr, /--model_size 'huge': the script knows small, medium, large/);
  const other = runCli([
    'convert',
    '--model_type',
    'gpt2',
    '--tf_checkpoint',
    prefix,
    '--dry-run',
    '--model_size',
    'small',
  ]);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /--model_size is not an option of --model_type gpt2/);
  const help = runCli(['convert', '--help']).stdout;
  assert.match(
    help,
    /imagegpt +openai\/image-gpt checkpoints .*→ ImageGPTForCausalImageModeling\n +--model_size small\|medium\|large: /,
  );
});
