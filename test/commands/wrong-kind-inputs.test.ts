/**
 * Inputs of the wrong kind, recognised by their bytes before any mapping, each with its own code and advice
 * that fits: PyTorch weights we wrote ourselves (a .bin, a .safetensors, a Hugging Face folder), a Keras
 * HDF5 file, an ONNX model, a GGUF file, a TF1 frozen graph, a SavedModel folder (converted from its
 * variables/ bundle) and its lone graph file; paths on /proc and /sys refused before any work.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { type CliResult, runCli } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertWeights } from '../support/tiny-bert.js';

/** A tiny BERT checkpoint in Google's layout, with its config, in a new folder. */
async function tinyBert(t: TestContext): Promise<{ dir: string; prefix: string; config: string }> {
  const dir = tempDir(t, 'kinds');
  const prefix = join(dir, 'ck', 'bert_model.ckpt');
  mkdirSync(join(dir, 'ck'));
  await writeBundle(prefix, tinyBertWeights(7));
  const config = join(dir, 'ck', 'bert_config.json');
  writeFileSync(config, JSON.stringify(TINY_BERT_CONFIG));
  return { dir, prefix, config };
}

function assertRefused(r: CliResult, code: string, ...mentions: (string | RegExp)[]): void {
  assert.equal(r.code, 1, `exit ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^error\\[${code}\\]`, 'm'));
  assert.doesNotMatch(r.stderr, /internal error|\n {4}at /);
  for (const m of mentions) assert.match(r.stderr, typeof m === 'string' ? new RegExp(literal(m)) : m);
}

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('PyTorch weights we wrote are "already a PyTorch checkpoint", with or without --model_type', async (t) => {
  const { dir, prefix } = await tinyBert(t);
  const folder = join(dir, 'hf');
  const bin = join(dir, 'single', 'pytorch_model.bin');
  for (const out of [folder, bin])
    assert.equal(runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out, '--quiet']).code, 0);
  const safetensors = join(folder, 'model.safetensors');
  for (const [input, what, load] of [
    [bin, 'a PyTorch state dict', `from_pretrained("${join(dir, 'single')}")`],
    [safetensors, 'Hugging Face safetensors weights', `from_pretrained("${folder}")`],
    [folder, 'Hugging Face safetensors weights', `from_pretrained("${folder}")`],
  ] as const) {
    for (const typeFlag of [[], ['--model_type', 'bert']]) {
      const out = join(dir, 'again');
      const r = runCli(['convert', ...typeFlag, '--tf_checkpoint', input, '--pytorch_dump_output', out]);
      assertRefused(r, 'E_ALREADY_PYTORCH', 'nothing to convert', what, load);
      assert.ok(!existsSync(out), 'nothing written');
    }
  }
  // without a config.json beside it, the file's own loader
  const lone = join(dir, 'lone.bin');
  writeFileSync(lone, readFileSync(bin));
  assertRefused(
    runCli(['convert', '--tf_checkpoint', lone, '--pytorch_dump_output', join(dir, 'x')]),
    'E_ALREADY_PYTORCH',
    `torch.load("${lone}", weights_only=True)`,
  );
  // inspect still reads them
  assert.equal(runCli(['inspect', bin]).code, 0);
});

/** Field headers of protobuf messages, written by hand from the .proto files cited at each use. */
const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
const bytesField = (field: number, payload: readonly number[]) => [
  field * 8 + 2,
  ...varint(payload.length),
  ...payload,
];
const intField = (field: number, value: number) => [field * 8, ...varint(value)];
const text = (s: string) => [...Buffer.from(s, 'utf8')];

/** A ModelProto as onnx/onnx.proto numbers it: ir_version 1, producer_name 2, graph 7, opset_import 8. */
function onnxModel(): Uint8Array {
  const node = [...bytesField(4, text('Relu')), ...bytesField(1, text('x')), ...bytesField(2, text('y'))]; // NodeProto
  const graph = [...bytesField(1, node), ...bytesField(2, text('main'))]; // GraphProto: node 1, name 2
  const opset = [...bytesField(1, []), ...intField(2, 17)]; // OperatorSetIdProto: domain 1, version 2
  return Uint8Array.from([
    ...intField(1, 8),
    ...bytesField(2, text('pytorch')),
    ...bytesField(3, text('2.1.0')),
    ...bytesField(7, graph),
    ...bytesField(8, opset),
  ]);
}

/** A GraphDef as tensorflow/core/framework/graph.proto numbers it: node 1 (NodeDef: name 1, op 2), versions 4. */
function frozenGraph(): Uint8Array {
  const node = [...bytesField(1, text('bert/embeddings/word_embeddings')), ...bytesField(2, text('Const'))];
  return Uint8Array.from([...bytesField(1, node), ...bytesField(4, intField(1, 27))]);
}

/** A SavedModel as tensorflow/core/protobuf/saved_model.proto numbers it: schema version 1, meta_graphs 2. */
function savedModelGraph(): Uint8Array {
  const metaGraph = bytesField(1, bytesField(4, text('serve'))); // MetaGraphDef.meta_info_def.tags
  return Uint8Array.from([...intField(1, 1), ...bytesField(2, metaGraph)]);
}

/** GGUF's header (ggml/docs/gguf.md): magic, version 3, tensor count and metadata count as u64. */
function ggufHeader(): Uint8Array {
  const bytes = new Uint8Array(24);
  bytes.set(text('GGUF'));
  const view = new DataView(bytes.buffer);
  view.setUint32(4, 3, true);
  view.setBigUint64(8, 0n, true);
  view.setBigUint64(16, 0n, true);
  return bytes;
}

/** HDF5's superblock signature (HDF5 File Format Specification, II.A), version 0 superblock after it. */
function hdf5(userBlock: number): Uint8Array {
  const bytes = new Uint8Array(userBlock + 96);
  bytes.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 0, 8, 8, 0], userBlock);
  return bytes;
}

test('Keras HDF5, ONNX, GGUF and a frozen graph are each named, with their own code and advice', (t) => {
  const dir = tempDir(t, 'foreign');
  const cases: [string, Uint8Array, string, string][] = [
    ['tf_model.h5', hdf5(0), 'E_KERAS_HDF5', 'from_tf=True'],
    ['weights.bin', hdf5(512), 'E_KERAS_HDF5', 'Keras HDF5'], // a user block before the signature, a misleading name
    ['model.onnx', onnxModel(), 'E_ONNX', 'an ONNX model'],
    ['model.gguf', ggufHeader(), 'E_GGUF', 'GGUF'],
    ['frozen_graph.pb', frozenGraph(), 'E_FROZEN_GRAPH', 'the checkpoint the graph was frozen from'],
  ];
  for (const [name, bytes, code, advice] of cases) {
    const input = join(dir, name);
    writeFileSync(input, bytes);
    for (const args of [
      ['convert', '--tf_checkpoint', input, '--pytorch_dump_output', join(dir, 'out')],
      ['inspect', input],
    ])
      assertRefused(runCli(args), code, input, advice);
  }
});

test('a SavedModel folder converts from its variables/ bundle, saying so; its lone graph file is named', async (t) => {
  const { dir, prefix, config } = await tinyBert(t);
  const savedModel = join(dir, 'saved');
  mkdirSync(join(savedModel, 'variables'), { recursive: true });
  await writeBundle(join(savedModel, 'variables', 'variables'), tinyBertWeights(7));
  writeFileSync(join(savedModel, 'saved_model.pb'), savedModelGraph());
  const direct = runCli([
    'convert',
    '--tf_checkpoint',
    prefix,
    '--pytorch_dump_output',
    join(dir, 'direct'),
    '--quiet',
  ]);
  assert.equal(direct.code, 0, direct.stderr);
  for (const input of [savedModel, join(savedModel, 'saved_model.pb')]) {
    const out = join(dir, 'from-saved', String(input.length));
    const r = runCli(['convert', '--tf_checkpoint', input, '--config', config, '--pytorch_dump_output', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /note: a TF SavedModel folder: converting its variables\/ bundle/);
    assert.deepEqual(
      readFileSync(join(out, 'model.safetensors')),
      readFileSync(join(dir, 'direct', 'model.safetensors')),
    );
  }
  // the graph file alone, without variables/ beside it
  const lonely = join(dir, 'lonely');
  mkdirSync(lonely);
  writeFileSync(join(lonely, 'saved_model.pb'), savedModelGraph());
  assertRefused(
    runCli(['convert', '--tf_checkpoint', join(lonely, 'saved_model.pb'), '--pytorch_dump_output', join(dir, 'o')]),
    'E_SAVED_MODEL_GRAPH',
    'give the SavedModel folder',
  );
});

test('paths on /proc and /sys are refused up front, as input and as output (no hang)', async (t) => {
  if (!existsSync('/proc/self/status') || !existsSync('/sys/kernel')) {
    t.skip('SKIP: no /proc or /sys here');
    return;
  }
  const { prefix } = await tinyBert(t);
  const started = Date.now();
  for (const out of ['/proc/tf2torch-out', '/proc/self/tf2torch/out.bin', '/sys/kernel/tf2torch-out'])
    assertRefused(
      runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out], { timeoutMs: 20_000 }),
      'E_PSEUDO_FILE_SYSTEM',
      out,
      'pseudo-filesystem',
    );
  for (const input of ['/proc/self/status', '/sys/kernel'])
    assertRefused(runCli(['inspect', input], { timeoutMs: 20_000 }), 'E_PSEUDO_FILE_SYSTEM', input);
  assert.ok(Date.now() - started < 30_000, 'refused at once');
});
