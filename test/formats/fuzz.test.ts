/**
 * Mutation fuzzing of every input parser through its public entry point. Valid inputs of each format
 * (real TensorFlow checkpoints, files written by our writers or by the real PyTorch, a GPT folder, the
 * real T5 gin config) are mutated deterministically; every failure must be a Tf2TorchError naming the
 * file, no read may hang, and no allocation may exceed the largest named parser limit.
 * A failure prints the corpus, file and seed: `FUZZ_ONLY=<corpus>:<seed>` reruns exactly that case.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { parseMeshModelInfo, readGinFile, t5ConfigFromGin } from '../../src/config/gin.js';
import { isTf2TorchError } from '../../src/errors.js';
import { openNpy } from '../../src/formats/npy/npy-file.js';
import { openTensorSource } from '../../src/formats/open.js';
import { writeSafetensorsFile } from '../../src/formats/safetensors/write.js';
import {
  keyLocations,
  OBJECT_GRAPH_KEY,
  objectTree,
  readObjectGraph,
} from '../../src/formats/tf-checkpoint/object-graph.js';
import { MAX_SNAPPY_OUTPUT_BYTES } from '../../src/formats/tf-checkpoint/snappy.js';
import { MAX_BLOCK_BYTES, readTable } from '../../src/formats/tf-checkpoint/sstable.js';
import { openTorchFile } from '../../src/formats/torch/read.js';
import { writeTorchFile } from '../../src/formats/torch/write.js';
import { RandomAccessFile } from '../../src/io/file.js';
import type { TensorRef } from '../../src/tensor.js';
import { installAllocationGuard } from '../support/allocation-guard.js';
import { realFixture } from '../support/fixtures.js';
import { mutate } from '../support/mutate.js';
import { runPython, torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { sampleStateDict, TORCH_DTYPES } from '../support/sample-tensors.js';
import { tempDir } from '../support/temp.js';
import { type TableEntry, writeTable } from '../support/tf-bundle-writer.js';

const SAFETENSORS_DTYPES = TORCH_DTYPES.filter((d) => !d.startsWith('complex'));

/**
 * A small file may legitimately make a parser allocate up to its largest block limit (a table block,
 * a snappy block); anything larger must have been checked against the file's real size first.
 */
const ALLOCATION_LIMIT = Math.max(MAX_BLOCK_BYTES, MAX_SNAPPY_OUTPUT_BYTES) + 1024 * 1024;
/** A single case that takes this long is a hang (every fixture here reads in milliseconds). */
const CASE_TIMEOUT_MS = 5_000;
/** Per mutated file; the default keeps the whole file under 20 s. FUZZ_ITERATIONS=2000 for a deep run. */
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 120);
const ONLY = process.env.FUZZ_ONLY;

interface Corpus {
  name: string;
  /** Folder holding the valid input files. */
  dir: string;
  /**
   * Files to mutate (one per case): as bytes (with text mutations too when `text`), or, when
   * `entries`, a table file whose entries are mutated and re-encoded with valid block checksums.
   */
  targets: { file: string; text?: boolean; entries?: boolean }[];
  /** Opens the (mutated) copy in `dir` and reads everything it offers. */
  exercise(dir: string): Promise<void>;
}

/** Runs `fn`; a Tf2TorchError is an expected outcome, anything else is rethrown. */
async function tolerate(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (!isTf2TorchError(error)) throw error;
  }
}

/** Every way a consumer reads a tensor: read(), stream() in small chunks, readInto(). */
async function readTensor(t: TensorRef): Promise<void> {
  await tolerate(() => t.read());
  await tolerate(async () => {
    for await (const chunk of t.stream(4096)) assert.ok(chunk.byteLength <= Math.max(4096, 8));
  });
  if (t.readInto && t.byteLength <= ALLOCATION_LIMIT) await tolerate(() => t.readInto!(new Uint8Array(t.byteLength)));
}

/** Checksums catch most random damage early; reading once more without them reaches the parsers behind. */
async function exerciseSource(path: string): Promise<void> {
  await tolerate(() => readSource(path, true));
  await readSource(path, false);
}

async function readSource(path: string, verify: boolean): Promise<void> {
  const source = await openTensorSource(path, { verify });
  try {
    for (const t of source.tensors) await readTensor(t);
    // a TF2 checkpoint's object graph, decoded and walked as inspect does
    if (source.tensors.some((t) => t.name === OBJECT_GRAPH_KEY))
      await tolerate(async () => {
        const { graph } = await readObjectGraph(source);
        objectTree(graph);
        keyLocations(graph);
      });
  } finally {
    await source.close();
  }
}

async function exerciseTorch(path: string): Promise<void> {
  for (const policy of ['weights', 'checkpoint'] as const) {
    await tolerate(async () => {
      const file = await openTorchFile(path, { policy, verify: false });
      try {
        for (const t of file.tensors) await readTensor(t);
      } finally {
        await file.close();
      }
    });
  }
  await exerciseSource(path);
}

async function exerciseNpy(path: string): Promise<void> {
  const npy = await openNpy(path);
  try {
    await readTensor(npy.tensor);
    await tolerate(() => npy.readElements(1, Math.max(0, npy.length - 2)));
  } finally {
    await npy.close();
  }
}

async function exerciseGin(dir: string): Promise<void> {
  const gin = await readGinFile(join(dir, 'operative_config.gin'));
  const infoPath = join(dir, 'model-info.txt');
  const listing = parseMeshModelInfo(readFileSync(infoPath, 'utf8'), infoPath);
  t5ConfigFromGin(gin);
  t5ConfigFromGin(gin, listing);
}

/** Copies the named files of a real fixture into a fresh folder (fixtures are never written). */
function copyOf(t: TestContext, from: string, files: string[]): string {
  const dir = tempDir(t, 'fuzz');
  for (const f of files) copyFileSync(join(from, f), join(dir, f));
  return dir;
}

function fresh(t: TestContext): string {
  const dir = tempDir(t, 'fuzz');
  return dir;
}

function npyBytes(descr: string, shape: number[], data: Uint8Array, fortran = false): Uint8Array {
  let text = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + text.length + 1) % 64 !== 0) text += ' ';
  text += '\n';
  const head = Buffer.alloc(10);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1'), data]);
}

/** Runs every case of one corpus; returns the failures, each reproducible from its seed. */
async function fuzz(
  corpus: Corpus,
  iterations: number,
): Promise<{ cases: number; rejected: number; failures: string[] }> {
  const failures: string[] = [];
  let cases = 0;
  let rejected = 0;
  const only = ONLY?.startsWith(`${corpus.name}:`) ? Number(ONLY.split(':')[1]) : undefined;
  if (ONLY !== undefined && only === undefined) return { cases, rejected, failures };
  for (const { file, text, entries } of corpus.targets) {
    const path = join(corpus.dir, file);
    const original = readFileSync(path);
    const table = entries ? await tableEntries(path) : [];
    const first = hash(`${corpus.name}/${file}`);
    // FUZZ_ONLY runs one seed: its index is its distance from this target's first seed
    const indexes =
      only === undefined
        ? Array.from({ length: iterations }, (_, i) => i)
        : [(only - first) >>> 0].filter((i) => i < 10_000_000);
    for (const i of indexes) {
      const seed = (first + i) >>> 0;
      let steps: string[];
      if (entries) steps = await writeMutatedTable(path, table, seed);
      else {
        const mutated = mutate(original, seed, text);
        writeFileSync(path, mutated.bytes);
        steps = mutated.steps;
      }
      cases++;
      const label = `${corpus.name}:${seed} (${file}${entries ? ' entries' : ''}: ${steps.join('; ')})`;
      let timer: NodeJS.Timeout | undefined;
      const guard = installAllocationGuard(ALLOCATION_LIMIT);
      try {
        await Promise.race([
          corpus.exercise(corpus.dir),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer after ${CASE_TIMEOUT_MS} ms (a hang)`)),
              CASE_TIMEOUT_MS,
            );
          }),
        ]);
      } catch (error) {
        if (isTf2TorchError(error) && error.message.includes(corpus.dir)) rejected++;
        else if (isTf2TorchError(error))
          failures.push(`${label}: ${error.code} does not name the file: ${error.message}`);
        else failures.push(`${label}: ${(error as Error)?.stack ?? String(error)}`);
      } finally {
        guard.restore();
        clearTimeout(timer);
      }
    }
    writeFileSync(path, original);
  }
  return { cases, rejected, failures };
}

async function tableEntries(path: string): Promise<TableEntry[]> {
  const file = await RandomAccessFile.open(path);
  try {
    return (await readTable(file)).entries;
  } finally {
    await file.close();
  }
}

/** One entry's value (or key) mutated, the table rewritten in key order with valid checksums. */
async function writeMutatedTable(path: string, entries: readonly TableEntry[], seed: number): Promise<string[]> {
  const r = seededRandom(seed ^ 0x5bd1e995);
  const i = Math.floor(r() * entries.length);
  const part = r() < 0.8 ? 'value' : 'key';
  const m = mutate(entries[i]![part], seed);
  const out = entries.map((e, j) => (j === i ? { ...e, [part]: m.bytes } : e));
  if (part === 'key') out.sort((a, b) => Buffer.compare(a.key, b.key));
  const unique = out.filter((e, j) => j === 0 || Buffer.compare(e.key, out[j - 1]!.key) !== 0);
  const snappy = r() < 0.5;
  await writeTable(path, unique, { snappy, blockSize: 1 + Math.floor(r() * 4096) });
  return [`entry ${i} ${part}: ${m.steps.join('; ')}${snappy ? ' (snappy blocks)' : ''}`];
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

async function check(t: TestContext, corpus: Corpus | undefined, iterations = ITERATIONS): Promise<void> {
  if (!corpus) return;
  // the unmutated input must read cleanly, or the fuzzer tests nothing
  await corpus.exercise(corpus.dir);
  const { cases, rejected, failures } = await fuzz(corpus, iterations);
  t.diagnostic(
    `${corpus.name}: ${cases} mutated inputs, ${rejected} rejected with a Tf2TorchError, ${cases - rejected - failures.length} accepted`,
  );
  assert.deepEqual(
    failures,
    [],
    `${failures.length} of ${cases} mutations failed badly:\n${failures.slice(0, 5).join('\n\n')}`,
  );
}

function tfCorpus(t: TestContext, fixture: string, files: string[], entry: string): Corpus | undefined {
  const from = realFixture(t, fixture);
  if (!from) return undefined;
  const dir = copyOf(t, from, files);
  const targets = files.map((file) => ({ file, text: file === 'checkpoint' }));
  const tables = files.filter((f) => f.endsWith('.index') || f === 'export').map((file) => ({ file, entries: true }));
  return { name: fixture, dir, targets: [...targets, ...tables], exercise: (d) => exerciseSource(join(d, entry)) };
}

test('fuzz: TF bundle (bert-tiny-keras-bert, index and data)', async (t) => {
  // 139 tensors read six ways per case: fewer cases keep the time bounded
  await check(
    t,
    tfCorpus(
      t,
      'bert-tiny-keras-bert',
      ['bert_model.ckpt.index', 'bert_model.ckpt.data-00000-of-00001'],
      'bert_model.ckpt',
    ),
    Math.ceil(ITERATIONS / 3),
  );
});

test('fuzz: TF bundle with snappy-compressed index blocks (albert-small-zh-google-indexonly)', async (t) => {
  await check(
    t,
    tfCorpus(t, 'albert-small-zh-google-indexonly', ['albert_model.ckpt.index', 'checkpoint'], '.'),
    Math.ceil(ITERATIONS / 2),
  );
});

test('fuzz: TF V1 single-file checkpoint (tf-v1-format-single-file)', async (t) => {
  await check(t, tfCorpus(t, 'tf-v1-format-single-file', ['export'], 'export'));
});

test('fuzz: TF2 object-graph bundle with a string tensor (tf2-savedmodel-objgraph-variables)', async (t) => {
  await check(
    t,
    tfCorpus(t, 'tf2-savedmodel-objgraph-variables', ['variables.index', 'variables.data-00000-of-00001'], 'variables'),
  );
});

test('fuzz: torch zip .bin written by writeTorchFile', async (t) => {
  const dir = fresh(t);
  await writeTorchFile(
    join(dir, 'pytorch_model.bin'),
    sampleStateDict().map((tensor) => ({ key: tensor.name, tensor })),
  );
  await check(t, {
    name: 'torch-zip',
    dir,
    targets: [{ file: 'pytorch_model.bin' }],
    exercise: (d) => exerciseTorch(join(d, 'pytorch_model.bin')),
  });
});

test('fuzz: torch zip holding a checkpoint-style pickle (APPENDS, nested lists, inert classes), written by Python', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = fresh(t);
  runPython(
    python,
    `
import argparse, sys, torch
nested = []
for _ in range(40):
    nested = [nested]
torch.save({'model': {'w': torch.arange(6, dtype=torch.float32)}, 'params': argparse.Namespace(n_layers=2, langs=['en', 'fr']),
            'counts': list(range(3000)), 'nested': nested}, sys.argv[1])
`,
    [join(dir, 'checkpoint.pth')],
  );
  await check(t, {
    name: 'torch-checkpoint-pickle',
    dir,
    targets: [{ file: 'checkpoint.pth' }],
    // The 'checkpoint' policy (XLM's): the 'weights' policy refuses argparse.Namespace by design.
    exercise: async (d) => {
      const file = await openTorchFile(join(d, 'checkpoint.pth'), { policy: 'checkpoint', verify: false });
      try {
        for (const t of file.tensors) await readTensor(t);
      } finally {
        await file.close();
      }
    },
  });
});

test('fuzz: legacy torch file written by the real torch.save', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = fresh(t);
  runPython(
    python,
    `
import collections, sys, torch
sd = collections.OrderedDict(w=torch.arange(12, dtype=torch.float32).reshape(3, 4), b=torch.arange(3, dtype=torch.int64), h=torch.ones(2, dtype=torch.float16))
sd['t'] = sd['w'].t()
torch.save(sd, sys.argv[1], _use_new_zipfile_serialization=False)
`,
    [join(dir, 'legacy.pt')],
  );
  await check(t, {
    name: 'torch-legacy',
    dir,
    targets: [{ file: 'legacy.pt' }],
    exercise: (d) => exerciseTorch(join(d, 'legacy.pt')),
  });
});

test('fuzz: .safetensors written by writeSafetensorsFile', async (t) => {
  const dir = fresh(t);
  await writeSafetensorsFile(
    join(dir, 'model.safetensors'),
    sampleStateDict(SAFETENSORS_DTYPES).map((tensor) => ({ key: tensor.name, tensor })),
    { metadata: { format: 'pt' } },
  );
  await check(t, {
    name: 'safetensors',
    dir,
    targets: [{ file: 'model.safetensors', text: true }],
    exercise: (d) => exerciseSource(join(d, 'model.safetensors')),
  });
});

test('fuzz: .npy files (C order little-endian, Fortran order big-endian)', async (t) => {
  const dir = fresh(t);
  writeFileSync(
    join(dir, 'c.npy'),
    npyBytes(
      '<f4',
      [3, 5],
      new Uint8Array(60).map((_, i) => i),
    ),
  );
  writeFileSync(
    join(dir, 'f.npy'),
    npyBytes(
      '>i8',
      [2, 3],
      new Uint8Array(48).map((_, i) => i),
      true,
    ),
  );
  await check(t, {
    name: 'npy',
    dir,
    targets: [
      { file: 'c.npy', text: true },
      { file: 'f.npy', text: true },
    ],
    exercise: async (d) => {
      await tolerate(() => exerciseNpy(join(d, 'c.npy')));
      await exerciseNpy(join(d, 'f.npy'));
    },
  });
});

test('fuzz: OpenAI GPT folder (params_shapes.json, parameters_names.json, params_*.npy)', async (t) => {
  const dir = fresh(t);
  const shapes = [[5, 4], [7, 4], [1, 4, 12], [12]];
  writeFileSync(join(dir, 'params_shapes.json'), JSON.stringify(shapes));
  writeFileSync(
    join(dir, 'parameters_names.json'),
    JSON.stringify(['model/we:0', 'model/h0/attn/c_attn/w:0', 'model/h0/attn/c_attn/b:0']),
  );
  const floats = new Uint8Array(new Float32Array(20 + 28 + 48 + 12 + 3).map((_, i) => i).buffer);
  writeFileSync(join(dir, 'params_0.npy'), npyBytes('<f4', [50], floats.subarray(0, 200)));
  writeFileSync(join(dir, 'params_1.npy'), npyBytes('<f4', [61], floats.subarray(200)));
  const targets = ['params_shapes.json', 'parameters_names.json', 'params_0.npy', 'params_1.npy'].map((file) => ({
    file,
    text: true,
  }));
  await check(t, { name: 'openai-gpt', dir, targets, exercise: (d) => exerciseSource(d) }, Math.ceil(ITERATIONS / 2));
});

test('fuzz: gin config and model-info.txt of the real Mesh TF T5 checkpoint', async (t) => {
  const from = realFixture(t, 't5-mtf-tiny-indexonly');
  if (!from) return;
  const dir = copyOf(t, from, ['operative_config.gin', 'model-info.txt']);
  const targets = [
    { file: 'operative_config.gin', text: true },
    { file: 'model-info.txt', text: true },
  ];
  await check(t, { name: 't5-gin', dir, targets, exercise: exerciseGin }, ITERATIONS * 2);
});

test('the harness reports what is not a Tf2TorchError, with its seed', async (t) => {
  const dir = fresh(t);
  writeFileSync(
    join(dir, 'x.bin'),
    Uint8Array.from({ length: 64 }, (_, i) => i),
  );
  const exercise = async (d: string) => {
    const bytes = readFileSync(join(d, 'x.bin'));
    if (bytes.length !== 64) throw new TypeError('length changed');
    if (bytes[0] !== 0) new Uint8Array(ALLOCATION_LIMIT + 1); // an allocation sized by the file
  };
  const { cases, failures } = await fuzz({ name: 'self-test', dir, targets: [{ file: 'x.bin' }], exercise }, 40);
  assert.equal(cases, 40);
  assert.ok(
    failures.some((f) => /^self-test:\d+ \(x\.bin: .*\): TypeError: length changed/.test(f)),
    failures[0],
  );
  assert.ok(
    failures.some((f) => /AllocationTooLarge/.test(f)),
    'the allocation guard fires',
  );
});

test('the mutations are deterministic: one seed, one mutated input', () => {
  const input = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  for (const seed of [1, 2, 99]) assert.deepEqual(mutate(input, seed, true), mutate(input, seed, true));
  assert.notDeepEqual(mutate(input, 1).bytes, mutate(input, 2).bytes);
});
