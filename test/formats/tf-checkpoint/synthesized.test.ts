/** Layouts no real fixture has, written by our bundle writer and read back byte for byte. */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { openTfCheckpoint } from '../../../src/formats/tf-checkpoint/index.js';
import { readTable } from '../../../src/formats/tf-checkpoint/sstable.js';
import { RandomAccessFile } from '../../../src/io/file.js';
import { DTYPES, type DType } from '../../../src/tensor.js';
import { realFixture } from '../../support/fixtures.js';
import { seededRandom } from '../../support/random.js';
import { tempDirs } from '../../support/temp.js';
import {
  encodeStringTensor,
  randomTensorBytes,
  synthesizeFromIndex,
  writeBundle,
  writeBundleStreaming,
} from '../../support/tf-bundle-writer.js';

/** Same bytes, whatever the Uint8Array subclass. */
const sameBytes = (a: Uint8Array | undefined, b: Uint8Array, what: string) =>
  assert.deepEqual(Buffer.from(a ?? []), Buffer.from(b), what);
const tmp = tempDirs('bundle');
const random = seededRandom(42);
const NUMERIC: DType[] = (Object.keys(DTYPES) as DType[]).filter((d) => d !== 'string');

function tensorsOfEveryDtype() {
  return NUMERIC.map((dtype, i) => ({
    name: `t/${dtype}`,
    dtype,
    shape: [2, 3 + i],
    bytes: randomTensorBytes(dtype, 2 * (3 + i), random),
  }));
}

async function readAll(prefix: string, opts = {}) {
  const c = await openTfCheckpoint(prefix, opts);
  const out = new Map<string, Uint8Array>();
  for (const t of c.tensors) out.set(t.name, await t.read());
  return { c, out };
}

test('every fixed-size dtype round-trips, with 3 shards, snappy blocks and a multi-block index', async () => {
  const dir = tmp();
  const tensors = tensorsOfEveryDtype();
  const strings = encodeStringTensor([Buffer.from('hello'), Buffer.from(''), Buffer.from('wörld')]);
  await writeBundle(join(dir, 'm'), [...tensors, { name: 'names', dtype: 'string', shape: [3], bytes: strings }], {
    shards: 3,
    snappy: true,
    blockSize: 64,
  });
  const { c, out } = await readAll(join(dir, 'm'));
  assert.deepEqual(
    c.tensors.map((t) => t.name),
    ['names', ...tensors.map((t) => t.name)].sort(),
  );
  for (const t of tensors) {
    sameBytes(out.get(t.name), t.bytes, t.dtype);
    assert.equal(c.tensor(t.name).dtype, t.dtype);
  }
  sameBytes(out.get('names'), strings, 'string tensor');
  await c.close();
  const index = await RandomAccessFile.open(join(dir, 'm.index'));
  const { stats } = await readTable(index);
  await index.close();
  assert.ok(stats.dataBlocks > 1, `${stats.dataBlocks} data blocks`);
  assert.equal(stats.compressedBlocks, stats.dataBlocks);
});

test('a big-endian bundle is byte-swapped to little-endian on read (read, stream and readInto)', async () => {
  const dir = tmp();
  const tensors = tensorsOfEveryDtype();
  await writeBundle(join(dir, 'be'), tensors, { bigEndian: true });
  const { c, out } = await readAll(join(dir, 'be'));
  assert.ok(c.notes.some((n) => n.startsWith('big-endian')));
  for (const t of tensors) {
    sameBytes(out.get(t.name), t.bytes, t.dtype);
    const chunks = [];
    for await (const chunk of c.tensor(t.name).stream(5)) chunks.push(chunk);
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(t.bytes), `${t.dtype} streamed`);
    const into = new Uint8Array(t.bytes.byteLength).fill(0xee);
    await c.tensor(t.name).readInto?.(into);
    sameBytes(into, t.bytes, `${t.dtype} readInto`);
  }
  await c.close();
});

test('partitioned variables are reassembled: along dim 0, and as 2-D blocks', async () => {
  const dir = tmp();
  const rows = {
    name: 'emb',
    dtype: 'float32' as const,
    shape: [10, 4],
    bytes: randomTensorBytes('float32', 40, random),
  };
  const grid = { name: 'grid', dtype: 'int16' as const, shape: [4, 6], bytes: randomTensorBytes('int16', 24, random) };
  await writeBundle(
    join(dir, 'p'),
    [rows, grid, { name: 'plain', dtype: 'int32', shape: [2], bytes: randomTensorBytes('int32', 2, random) }],
    {
      slices: {
        emb: [
          [
            { start: 0, length: 3 },
            { start: 0, length: undefined },
          ],
          [
            { start: 3, length: 3 },
            { start: 0, length: undefined },
          ],
          [
            { start: 6, length: 4 },
            { start: 0, length: undefined },
          ],
        ],
        grid: [
          [
            { start: 0, length: 2 },
            { start: 0, length: 4 },
          ],
          [
            { start: 0, length: 2 },
            { start: 4, length: 2 },
          ],
          [
            { start: 2, length: 2 },
            { start: 0, length: 6 },
          ],
        ],
      },
      shards: 2,
    },
  );
  const { c, out } = await readAll(join(dir, 'p'));
  assert.deepEqual(
    c.tensors.map((t) => t.name),
    ['emb', 'grid', 'plain'],
  ); // slice keys are not listed
  sameBytes(out.get('emb'), rows.bytes, 'emb');
  sameBytes(out.get('grid'), grid.bytes, 'grid');
  assert.ok(c.notes.some((n) => n.startsWith('2 partitioned')));
  await c.close();
});

test('a tensor at an offset beyond 4 GiB in a sparse data file reads exactly', async (t) => {
  const dir = tmp();
  const start = 2 ** 32 + 12345;
  const tensor = {
    name: 'far/away',
    dtype: 'float32' as const,
    shape: [1000],
    bytes: randomTensorBytes('float32', 1000, random),
  };
  try {
    await writeBundle(join(dir, 'big'), [tensor], { startOffset: start });
    truncateSync(join(dir, 'big.data-00000-of-00001'), start + 4000 + 2 ** 31); // grow further, still sparse
  } catch (e) {
    t.skip(`filesystem cannot hold a sparse 6 GiB file: ${(e as Error).message}`);
    return;
  }
  assert.ok(statSync(join(dir, 'big.data-00000-of-00001')).size > 2 ** 32 + 2 ** 31);
  const { c, out } = await readAll(join(dir, 'big'));
  sameBytes(out.get('far/away'), tensor.bytes, 'far/away');
  await c.close();
  rmSync(dir, { recursive: true });
});

test('streaming writer + reader: a large tensor in chunks, crc checked at the end', async () => {
  const dir = tmp();
  const chunk = randomTensorBytes('float32', 1 << 16, random);
  await writeBundleStreaming(join(dir, 's'), [
    {
      name: 'w',
      dtype: 'float32',
      shape: [8, 1 << 16],
      byteLength: 8 * chunk.length,
      *chunks() {
        for (let i = 0; i < 8; i++) yield chunk;
      },
    },
  ]);
  const c = await openTfCheckpoint(join(dir, 's'));
  let n = 0;
  for await (const piece of c.tensor('w').stream(100_000)) {
    assert.ok(piece.length <= 100_000);
    n += piece.length;
  }
  assert.equal(n, 8 * chunk.length);
  await c.close();
});

test('synthesizeFromIndex copies a real listing into a full checkpoint whose checksums verify', async (t) => {
  const real = realFixture(t, 'tf2-savedmodel-objgraph-variables');
  if (!real) return;
  const dir = tmp();
  const names = await synthesizeFromIndex(real, join(dir, 'copy'), { seed: 7 });
  const { c, out } = await readAll(join(dir, 'copy'));
  assert.deepEqual(
    c.tensors.map((x) => x.name),
    names,
  );
  assert.equal(out.size, 4);
  assert.equal(c.objectBased, true);
  await c.close();
});

test('directories: stale checkpoint file falls back to the only prefix; several prefixes are ambiguous', async () => {
  const dir = tmp();
  const one = [{ name: 'x', dtype: 'float32' as const, shape: [1], bytes: new Uint8Array(4) }];
  await writeBundle(join(dir, 'model.ckpt-100'), one);
  writeFileSync(join(dir, 'checkpoint'), 'model_checkpoint_path: "/gone/machine/model.ckpt-999"\n');
  assert.equal((await openTfCheckpoint(dir)).prefix, join(dir, 'model.ckpt-100'));
  writeFileSync(join(dir, 'checkpoint'), 'model_checkpoint_path: "/gone/machine/model.ckpt-100"\n');
  await writeBundle(join(dir, 'model.ckpt-200'), one);
  assert.equal((await openTfCheckpoint(dir)).prefix, join(dir, 'model.ckpt-100')); // basename of the stale path
  writeFileSync(join(dir, 'checkpoint'), 'model_checkpoint_path: "model.ckpt-300"\n');
  await assert.rejects(openTfCheckpoint(dir), (e: Tf2TorchError) => {
    assert.equal(e.code, 'E_AMBIGUOUS_PATH');
    assert.match(e.message, /model\.ckpt-100\n.*model\.ckpt-200/s);
    return true;
  });
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(openTfCheckpoint(empty), { code: 'E_NOT_FOUND' });
});
