/**
 * Partitioned variables whose slices overlap or leave a gap are refused, as TensorFlow refuses them
 * (TensorSliceSet::Register: "Overlapping slices"; QueryMeta: "does not have sufficient slices"), in V2 bundles
 * and V1 files, naming the variable and the slices in TensorFlow's notation. They used to be reassembled with the
 * gap left as zeros whenever the slices' element counts added up.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { openTfCheckpoint } from '../../../src/formats/tf-checkpoint/index.js';
import type { Extent } from '../../../src/formats/tf-checkpoint/proto.js';
import { runCli } from '../../support/cli.js';
import { seededRandom } from '../../support/random.js';
import { tempDirs } from '../../support/temp.js';
import {
  encodeBundleEntry,
  encodeSliceKey,
  randomTensorBytes,
  writeBundle,
  writeBundleStreaming,
} from '../../support/tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertWeights } from '../../support/tiny-bert.js';
import { writeV1 } from './v1-writer.js';

const tmp = tempDirs('slices');
const random = seededRandom(19);
const rows = (start: number, length: number): Extent[] => [
  { start, length },
  { start: 0, length: undefined },
];
const NAME = 'bert/embeddings/word_embeddings';

/** A [15, 4] float32 embedding stored as a partitioned variable with the given slices. */
async function partitionedBundle(slices: Extent[][]): Promise<{ prefix: string; bytes: Uint8Array }> {
  const prefix = join(tmp(), 'model.ckpt');
  const bytes = randomTensorBytes('float32', 60, random);
  await writeBundle(prefix, [{ name: NAME, dtype: 'float32', shape: [15, 4], bytes }], {
    slices: { [NAME]: slices },
  });
  return { prefix, bytes };
}

function refusal(pattern: RegExp, code = 'E_MALFORMED') {
  return (e: Tf2TorchError) => {
    assert.equal(e.name, 'Tf2TorchError', String(e));
    assert.equal(e.code, code);
    assert.equal(e.tensor, NAME);
    assert.match(e.message, pattern);
    return true;
  };
}

test('overlapping slices that leave a gap (rows 0:8 and 0:7 of 15) are E_MALFORMED naming both', async () => {
  const { prefix } = await partitionedBundle([rows(0, 8), rows(0, 7)]);
  await assert.rejects(
    openTfCheckpoint(prefix),
    refusal(/partitioned tensor 'bert\/embeddings\/word_embeddings': slices 0,8:- and 0,7:- overlap/),
  );
  const r = runCli(['inspect', prefix]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error\[E_MALFORMED\]: .*slices 0,8:- and 0,7:- overlap/);
  assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
});

test('convert refuses a BERT checkpoint whose word_embeddings [15,4] are stored as rows 0:8 and 0:7; no output', async () => {
  const dir = tmp();
  const prefix = join(dir, 'bert_model.ckpt');
  await writeBundle(prefix, tinyBertWeights(19), { slices: { [NAME]: [rows(0, 8), rows(0, 7)] } });
  const config = join(dir, 'bert_config.json');
  writeFileSync(config, JSON.stringify(TINY_BERT_CONFIG));
  const out = join(dir, 'pytorch_model.bin');
  const r = runCli([
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    prefix,
    '--config',
    config,
    '--pytorch_dump_output',
    out,
  ]);
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(
    r.stderr,
    /^error\[E_MALFORMED\]: .*'bert\/embeddings\/word_embeddings': slices 0,8:- and 0,7:- overlap/,
  );
  assert.equal(existsSync(out), false);
});

test('overlapping slices whose element counts exceed the tensor (rows 0:8 and 7:8) are refused', async () => {
  const { prefix } = await partitionedBundle([rows(0, 8), rows(7, 8)]);
  await assert.rejects(openTfCheckpoint(prefix), refusal(/slices 0,8:- and 7,8:- overlap/));
});

test('slices leaving a gap (rows 0:7 and 8:15) are refused, naming the slices', async () => {
  const { prefix } = await partitionedBundle([rows(0, 7), rows(8, 7)]);
  await assert.rejects(
    openTfCheckpoint(prefix),
    refusal(/its slices hold 56 of its 60 elements \(slices 0,7:-, 8,7:- of shape \[15,4\]\)/),
  );
});

test('a partition in rows, in blocks, or one whole slice reads back exactly', async () => {
  const layouts: Extent[][][] = [
    [rows(0, 5), rows(5, 5), rows(10, 5)],
    [
      [
        { start: 0, length: 15 },
        { start: 0, length: 1 },
      ],
      [
        { start: 0, length: 9 },
        { start: 1, length: 3 },
      ],
      [
        { start: 9, length: 6 },
        { start: 1, length: 3 },
      ],
    ],
    [
      [
        { start: 0, length: undefined },
        { start: 0, length: undefined },
      ],
    ],
  ];
  for (const layout of layouts) {
    const { prefix, bytes } = await partitionedBundle(layout);
    const c = await openTfCheckpoint(prefix);
    assert.deepEqual(Buffer.from(await c.tensor(NAME).read()), Buffer.from(bytes));
    await c.close();
  }
});

test("a slice the entry lists but the index holds no data for is refused (TensorFlow's NotFound)", async () => {
  // the entry lists rows 8:15 as `8,7:-`; the index holds the same rows under the key `8,7:0,4`
  const prefix = join(tmp(), 'model.ckpt');
  const piece = (extents: Extent[], count: number) => ({
    name: `${NAME} (slice)`,
    key: encodeSliceKey(NAME, extents),
    dtype: 'float32' as const,
    shape: [count / 4, 4],
    byteLength: 4 * count,
    chunks: () => [randomTensorBytes('float32', count, random)],
  });
  const explicit: Extent[] = [
    { start: 8, length: 7 },
    { start: 0, length: 4 },
  ];
  await writeBundleStreaming(prefix, [piece(rows(0, 8), 32), piece(explicit, 28)], {}, [
    {
      key: Buffer.from(NAME),
      value: encodeBundleEntry({ dtype: 1, shape: [15, 4], slices: [rows(0, 8), rows(8, 7)] }),
    },
  ]);
  await assert.rejects(openTfCheckpoint(prefix), refusal(/the index holds no data for its slice 8,7:-/));
});

// ---- V1 files ------------------------------------------------------------------------------------
const values = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

test('V1: overlapping or gapped meta slices, and slices without data, are refused; a partition reads exactly', async () => {
  const dir = tmp();
  const cases: { slices: Extent[][]; data: Extent[][]; pattern: RegExp }[] = [
    { slices: [rows(0, 8), rows(0, 7)], data: [rows(0, 8), rows(0, 7)], pattern: /slices 0,8:- and 0,7:- overlap/ },
    { slices: [rows(0, 7), rows(8, 7)], data: [rows(0, 7), rows(8, 7)], pattern: /its slices hold 56 of its 60/ },
    { slices: [rows(0, 8), rows(8, 7)], data: [rows(0, 8)], pattern: /has no data for its slice 8,7:-/ },
    {
      slices: [rows(0, 8), rows(8, 7)],
      data: [rows(0, 8), rows(8, 7), rows(4, 4)],
      pattern: /has data for slice 4,4:-, which its meta does not list/,
    },
  ];
  for (const [i, c] of cases.entries()) {
    const path = join(dir, `case${i}.ckpt`);
    const data = c.data.map((slice) => ({ slice, values: values(4 * (slice[0]!.length ?? 15)) }));
    await writeV1(path, [{ name: NAME, shape: [15, 4], slices: c.slices, data }]);
    await assert.rejects(openTfCheckpoint(path), refusal(c.pattern), `case ${i}`);
  }
  const path = join(dir, 'good.ckpt');
  await writeV1(path, [
    {
      name: NAME,
      shape: [15, 4],
      slices: [rows(0, 8), rows(8, 7)],
      data: [
        { slice: rows(0, 8), values: values(32) },
        { slice: rows(8, 7), values: values(28, 33) },
      ],
    },
  ]);
  const ckpt = await openTfCheckpoint(path);
  assert.deepEqual([...new Float32Array((await ckpt.tensor(NAME).read()).slice().buffer)], values(60));
});
