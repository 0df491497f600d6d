/**
 * End to end on the real bert-tiny-keras-bert checkpoint, through the CLI exactly as transformers-cli is
 * typed: the real PyTorch loads each output and every tensor equals the TensorFlow tensor read with our
 * reader (kernels transposed by a plain loop here), tied aliases share storage in the .bin.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTfCheckpoint } from '../../src/formats/tf-checkpoint/index.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { torchPython } from '../support/python.js';
import { tempDir } from '../support/temp.js';
import { type LoadedTensor, loadSafetensorsInPython, loadShardedFolder, loadWithTorch } from '../support/torch-load.js';

/** TF name of each converted key, by the naming rule of REFERENCE D.1 written out independently. */
function tfNameOf(key: string): { name: string; transpose: boolean } {
  if (key === 'cls.predictions.bias') return { name: 'cls/predictions/output_bias', transpose: false };
  if (key === 'cls.seq_relationship.weight') return { name: 'cls/seq_relationship/output_weights', transpose: false };
  if (key === 'cls.seq_relationship.bias') return { name: 'cls/seq_relationship/output_bias', transpose: false };
  const parts = key.replace(/\.layer\.(\d+)\./, '.layer_$1.').split('.');
  const last = parts.pop() as string;
  const isEmbedding = parts[parts.length - 1]?.endsWith('_embeddings') === true;
  const isNorm = parts[parts.length - 1] === 'LayerNorm';
  if (isEmbedding) return { name: parts.join('/'), transpose: false };
  const leaf = isNorm ? (last === 'weight' ? 'gamma' : 'beta') : last === 'weight' ? 'kernel' : 'bias';
  return { name: [...parts, leaf].join('/'), transpose: leaf === 'kernel' };
}

function transposeLoop(bytes: Uint8Array, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++)
      for (let b = 0; b < 4; b++) out[(c * rows + r) * 4 + b] = bytes[(r * cols + c) * 4 + b] as number;
  return out;
}

/**
 * How kernels are laid out: 'checkpoint' as transformers' converter saves them
 * (`pointer.data = torch.from_numpy(np.transpose(array))`: the TF [in, out] bytes read through strides
 * [1, out]), 'row-major' transposed in place.
 */
type KernelLayout = 'checkpoint' | 'row-major';

async function checkAgainstTf(
  prefix: string,
  loaded: Map<string, LoadedTensor>,
  expectAliases: boolean,
  kernels: KernelLayout = 'row-major',
): Promise<void> {
  const ckpt = await openTfCheckpoint(prefix);
  try {
    const tf = new Map(ckpt.tensors.map((t) => [t.name, t]));
    const aliases = ['cls.predictions.decoder.weight', 'cls.predictions.decoder.bias'];
    assert.equal(loaded.size, expectAliases ? 48 : 46);
    for (const [key, got] of loaded) {
      if (aliases.includes(key)) continue;
      const { name, transpose } = tfNameOf(key);
      const source = tf.get(name);
      assert.ok(source, `${key}: no TF tensor ${name}`);
      let want = await source.read();
      let shape = [...source.shape];
      if (transpose) {
        want = transposeLoop(want, shape[0] as number, shape[1] as number);
        shape = [shape[1] as number, shape[0] as number];
      }
      assert.equal(got.dtype, 'float32', key);
      assert.deepEqual(got.shape, shape, key);
      const [rows, cols] = shape as [number, number];
      const checkpointOrder = transpose && kernels === 'checkpoint';
      if (shape.length === 2) assert.deepEqual(got.strides, checkpointOrder ? [1, rows] : [cols, 1], `${key}: strides`);
      assert.ok(Buffer.from(got.bytes).equals(Buffer.from(want)), `${key}: values differ from ${name}`);
    }
    if (expectAliases) {
      const w = loaded.get('bert.embeddings.word_embeddings.weight')!;
      const d = loaded.get('cls.predictions.decoder.weight')!;
      assert.equal(d.dataPtr, w.dataPtr, 'decoder.weight shares the word embeddings storage');
      assert.equal(loaded.get('cls.predictions.decoder.bias')!.dataPtr, loaded.get('cls.predictions.bias')!.dataPtr);
    }
  } finally {
    await ckpt.close();
  }
}

function setup(t: import('node:test').TestContext) {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  const python = dir ? torchPython(t) : undefined;
  if (!dir || !python) return undefined;
  const out = tempDir(t, 'bert');
  const base = [
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    join(dir, 'bert_model.ckpt'),
    '--config',
    join(dir, 'bert_config.json'),
  ];
  return { dir, python, out, base, prefix: join(dir, 'bert_model.ckpt') };
}

test('transformers-cli command → pytorch_model.bin that torch.load(weights_only=True) reads, equal to TF', async (t) => {
  const s = setup(t);
  if (!s) return;
  const bin = join(s.out, 'pytorch_model.bin');
  const r = runCli([...s.base, '--pytorch_dump_output', bin]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote \S+\/pytorch_model\.bin\n/);
  await checkAgainstTf(s.prefix, loadWithTorch(s.python, bin), true, 'checkpoint');
  const config = JSON.parse(readFileSync(join(s.out, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BertForPreTraining']);
  assert.equal(config.directionality, 'bidi'); // extra keys kept
  // Never overwritten without --force; with --force it is.
  const again = runCli([...s.base, '--pytorch_dump_output', bin]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^error\[E_OUTPUT_EXISTS\]: .*pytorch_model\.bin already exists \(use --force/);
  assert.equal(runCli([...s.base, '--pytorch_dump_output', bin, '--force', '--quiet']).code, 0);
  // --contiguous: the same values, kernels transposed in place.
  assert.equal(runCli([...s.base, '--pytorch_dump_output', bin, '--force', '--quiet', '--contiguous']).code, 0);
  await checkAgainstTf(s.prefix, loadWithTorch(s.python, bin), true, 'row-major');
  // An existing config.json beside a single file is kept (with a warning) unless --force.
  writeFileSync(join(s.out, 'config.json'), '{"model_type": "other"}\n');
  const keep = runCli([...s.base, '--pytorch_dump_output', join(s.out, 'model.safetensors')]);
  assert.equal(keep.code, 0, keep.stderr);
  assert.match(keep.stderr, /config\.json exists: left unchanged .*--force replaces it/);
  assert.equal(JSON.parse(readFileSync(join(s.out, 'config.json'), 'utf8')).model_type, 'other');
  assert.equal(
    runCli([...s.base, '--pytorch_dump_output', join(s.out, 'model.safetensors'), '--force', '--quiet']).code,
    0,
  );
  assert.equal(JSON.parse(readFileSync(join(s.out, 'config.json'), 'utf8')).model_type, 'bert');
});

test('→ model.safetensors (aliases written once) equal to TF', async (t) => {
  const s = setup(t);
  if (!s) return;
  const file = join(s.out, 'model.safetensors');
  const r = runCli([...s.base, '--pytorch_dump_output', file]);
  assert.equal(r.code, 0, r.stderr);
  await checkAgainstTf(s.prefix, loadSafetensorsInPython(s.python, file), false);
});

test('→ a Hugging Face folder (config, weights, vocab), sharded on request, in both formats', async (t) => {
  const s = setup(t);
  if (!s) return;
  const folder = join(s.out, 'bert-hf');
  // No --config: bert_config.json is found beside the checkpoint.
  const r = runCli([
    'convert',
    '--model-type',
    'bert',
    '--tf-checkpoint',
    s.prefix,
    '--pytorch-dump-output',
    folder,
    '--format',
    'both',
    '--max-shard-size',
    '1000',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const files = readdirSync(folder).sort();
  assert.ok(
    files.includes('config.json') &&
      files.includes('vocab.txt') &&
      files.includes('model.safetensors.index.json') &&
      files.includes('pytorch_model.bin.index.json'),
    files.join(' '),
  );
  assert.deepEqual(
    readdirSync(s.out).filter((f) => f.startsWith('.')),
    [],
    'no temporary folder left',
  );
  assert.equal(readFileSync(join(folder, 'vocab.txt'), 'utf8'), readFileSync(join(s.dir, 'vocab.txt'), 'utf8'));
  await checkAgainstTf(s.prefix, loadShardedFolder(s.python, join(folder, 'model.safetensors.index.json')), false);
  await checkAgainstTf(
    s.prefix,
    loadShardedFolder(s.python, join(folder, 'pytorch_model.bin.index.json')),
    true,
    'checkpoint',
  );
  const configText = readFileSync(join(folder, 'config.json'), 'utf8');
  assert.equal(
    configText,
    `${JSON.stringify(JSON.parse(configText), Object.keys(JSON.parse(configText)).sort(), 2)}\n`,
  );
  // from_pretrained-style check of the folder: config.json carries model_type.
  assert.equal(JSON.parse(configText).model_type, 'bert');
  assert.equal(JSON.parse(configText).torch_dtype, 'float32'); // as save_pretrained records it
});

test('usage mistakes are clear errors without a stack trace and write nothing', (t) => {
  const s = setup(t);
  if (!s) return;
  const cases: [string[], RegExp][] = [
    [['--pytorch_dump_output', join(s.out, 'x.onnx')], /E_USAGE.*cannot tell what to write from '\.onnx'/],
    [
      ['--pytorch_dump_output', join(s.out, 'y.bin'), '--format', 'safetensors'],
      /E_USAGE.*--format safetensors does not fit/,
    ],
    [['--pytorch_dump_output', join(s.out, 'z/'), '--dtype', 'int8'], /E_USAGE.*--dtype int8: expected one of keep/],
    [['--pytorch_dump_output', join(s.out, 'z/'), '--bogus'], /E_USAGE.*Unknown option '--bogus'/],
  ];
  for (const [args, pattern] of cases) {
    const r = runCli([...s.base, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  const badConfig = join(s.out, 'bad.json');
  writeFileSync(badConfig, '{"vocab_size": 15,');
  const r = runCli([
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    s.prefix,
    '--config',
    badConfig,
    '--pytorch_dump_output',
    join(s.out, 'w.bin'),
  ]);
  assert.match(r.stderr, /error\[E_CONFIG\]: .*bad\.json: not valid JSON/);
  assert.equal(existsSync(join(s.out, 'w.bin')), false);
  const unknown = runCli(['convert', '--model_type', 'roberta', '--tf_checkpoint', s.prefix, '--dry-run']);
  assert.match(unknown.stderr, /unknown --model_type 'roberta' \(known: bert/);
});

test('--dtype bfloat16 writes bfloat16 that torch reads, rounded as torch rounds', async (t) => {
  const s = setup(t);
  if (!s) return;
  const file = join(s.out, 'bf16.safetensors');
  assert.equal(runCli([...s.base, '--pytorch_dump_output', file, '--dtype', 'bfloat16', '--quiet']).code, 0);
  const loaded = loadSafetensorsInPython(s.python, file);
  const emb = loaded.get('bert.embeddings.word_embeddings.weight')!;
  assert.equal(emb.dtype, 'bfloat16');
  assert.equal(JSON.parse(readFileSync(join(s.out, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  const ckpt = await openTfCheckpoint(s.prefix);
  const src = new Uint32Array(new Uint8Array(await ckpt.tensor('bert/embeddings/word_embeddings').read()).buffer);
  await ckpt.close();
  const got = new Uint16Array(new Uint8Array(emb.bytes).buffer);
  for (let i = 0; i < src.length; i++) {
    const bits = src[i] as number;
    const rounded = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
    assert.equal(got[i], rounded, `element ${i}`);
  }
});
