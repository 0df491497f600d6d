/**
 * Sizes read from a TensorFlow file that used to size an allocation before they were checked (found by
 * test/formats/fuzz.test.ts). The allocation guard turns any such allocation into a test failure.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { openTfCheckpoint } from '../../../src/formats/tf-checkpoint/index.js';
import { parseBlock } from '../../../src/formats/tf-checkpoint/sstable.js';
import { installAllocationGuard } from '../../support/allocation-guard.js';
import { tempDir } from '../../support/temp.js';
import { encodeBundleEntry, encodeBundleHeader, encodeSliceKey, writeTable } from '../../support/tf-bundle-writer.js';
import { writeV1 } from './v1-writer.js';

const GUARD_BYTES = 1024 * 1024;

function guarded<T>(fn: () => T): T {
  const guard = installAllocationGuard(GUARD_BYTES);
  try {
    return fn();
  } finally {
    guard.restore();
  }
}

/** One table block: the given entry bytes, then one restart at 0 and the restart count. */
function block(entryBytes: number[]): Uint8Array {
  return Uint8Array.from([...entryBytes, 0, 0, 0, 0, 1, 0, 0, 0]);
}

test('a table entry whose key length exceeds its block is E_TRUNCATED, without allocating the key', () => {
  // shared 0, non_shared 2^32 - 1, value_len 0, then 3 bytes of key
  const bytes = block([0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61, 0x62, 0x63]);
  assert.throws(() => guarded(() => parseBlock(bytes, 'x.index: data block at offset 0', 'x.index')), {
    name: 'Tf2TorchError',
    code: 'E_TRUNCATED',
    message: /^x\.index: data block at offset 0: key needs 4294967295 bytes at offset 7/,
  });
});

// ---- hand-built protobuf (enough for V1 metas and bundle entries) --------------------------------
function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  for (; x >= 0x80n; x >>= 7n) out.push(Number(x & 0x7fn) | 0x80);
  out.push(Number(x));
  return out;
}
const fVarint = (field: number, v: number | bigint) => [...varint(field * 8), ...varint(v)];
const fBytes = (field: number, b: readonly number[]) => [...varint(field * 8 + 2), ...varint(b.length), ...b];
const shapeProto = (dims: readonly number[]) => dims.flatMap((d) => fBytes(2, fVarint(1, d)));

function tmpDir(t: { after(fn: () => void): void }): string {
  const dir = tempDir(t, 'hostile');
  return dir;
}

/** A V1 table whose meta declares one float32 tensor 'w' of `shape` (TF DT_FLOAT = 1) and no slices. */
async function v1File(dir: string, shape: readonly number[]): Promise<string> {
  const meta = fBytes(
    1,
    fBytes(1, [...fBytes(1, [...Buffer.from('w')]), ...fBytes(2, shapeProto(shape)), ...fVarint(3, 1)]),
  );
  const path = join(dir, 'model.ckpt-v1');
  await writeTable(path, [{ key: new Uint8Array(0), value: Uint8Array.from(meta) }]);
  return path;
}

test('a V1 meta declaring more tensor bytes than the file can hold is E_MALFORMED, before anything is allocated', async (t) => {
  const dir = tmpDir(t);
  for (const shape of [[1 << 20, 1 << 20], [2 ** 40], [64, 1024, 1024]]) {
    const path = await v1File(dir, shape);
    const guard = installAllocationGuard(GUARD_BYTES);
    try {
      await assert.rejects(openTfCheckpoint(path), (e: Tf2TorchError) => {
        assert.equal(e.name, 'Tf2TorchError', String(e));
        assert.equal(e.code, 'E_MALFORMED');
        assert.equal(e.file, path);
        assert.equal(e.tensor, 'w');
        assert.match(e.message, /model\.ckpt-v1: tensor 'w' of shape \[.*\] declares more elements than/);
        return true;
      });
    } finally {
      guard.restore();
    }
  }
  // a small tensor still opens
  const small = join(dir, 'small.ckpt-v1');
  const whole = [
    { start: 0, length: undefined },
    { start: 0, length: undefined },
  ];
  await writeV1(small, [
    { name: 'w', shape: [2, 3], slices: [whole], data: [{ slice: whole, values: [1, 2, 3, 4, 5, 6] }] },
  ]);
  const source = await openTfCheckpoint(small);
  assert.deepEqual([...new Float32Array((await source.tensor('w').read()).slice().buffer)], [1, 2, 3, 4, 5, 6]);
});

test('a partitioned tensor whose slice lies beyond its data file is E_TRUNCATED before the whole tensor is allocated', async (t) => {
  const dir = tmpDir(t);
  const prefix = join(dir, 'model.ckpt');
  const n = 2 ** 28; // 1 GiB of float32, under the reassembly limit
  const whole = [{ start: 0, length: n }];
  await writeTable(`${prefix}.index`, [
    { key: new Uint8Array(0), value: encodeBundleHeader({ numShards: 1 }) },
    { key: encodeSliceKey('w', whole), value: encodeBundleEntry({ dtype: 1, shape: [n], offset: 0, size: 4 * n }) },
    { key: Buffer.from('w'), value: encodeBundleEntry({ dtype: 1, shape: [n], slices: [whole] }) },
  ]);
  writeFileSync(`${prefix}.data-00000-of-00001`, new Uint8Array(16));
  const source = await openTfCheckpoint(prefix);
  t.after(() => source.close());
  const w = source.tensor('w');
  assert.equal(w.byteLength, 4 * n);
  for (const read of [() => w.read(), () => w.stream(4096)[Symbol.asyncIterator]().next()]) {
    const guard = installAllocationGuard(GUARD_BYTES);
    try {
      await assert.rejects(read(), (e: Tf2TorchError) => {
        assert.equal(e.name, 'Tf2TorchError', String(e));
        assert.equal(e.code, 'E_TRUNCATED');
        assert.equal(e.file, `${prefix}.data-00000-of-00001`);
        assert.equal(e.tensor, 'w');
        return true;
      });
    } finally {
      guard.restore();
    }
  }
});

test('a partitioned tensor whose slices do not cover it is E_MALFORMED when opened', async (t) => {
  const prefix = join(tmpDir(t), 'model.ckpt');
  const part = [{ start: 0, length: 4 }];
  await writeTable(`${prefix}.index`, [
    { key: new Uint8Array(0), value: encodeBundleHeader({ numShards: 1 }) },
    { key: encodeSliceKey('w', part), value: encodeBundleEntry({ dtype: 1, shape: [4], offset: 0, size: 16 }) },
    { key: Buffer.from('w'), value: encodeBundleEntry({ dtype: 1, shape: [2 ** 28], slices: [part] }) },
  ]);
  writeFileSync(`${prefix}.data-00000-of-00001`, new Uint8Array(16));
  await assert.rejects(openTfCheckpoint(prefix), {
    name: 'Tf2TorchError',
    code: 'E_MALFORMED',
    tensor: 'w',
    message: /model\.ckpt\.index: partitioned tensor 'w': its slices hold 4 of its 268435456 elements/,
  });
});
