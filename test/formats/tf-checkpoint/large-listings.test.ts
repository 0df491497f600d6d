/**
 * Index files at and beyond the sizes real checkpoints reach: 130k tensors (T5-11B / mT5-XXL saved by
 * Mesh TensorFlow, with Adafactor slots and slices, have tens of thousands) list and inspect; a snappy
 * block expanding to 64 MB of 4-byte entries, or keys growing by a byte per entry, are refused by the
 * table's named limits before the entries are allocated.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { INDEX_TABLE_LIMITS, parseBlock } from '../../../src/formats/tf-checkpoint/sstable.js';
import { crc32c, maskCrc } from '../../../src/io/crc32c.js';
import { DTYPES } from '../../../src/tensor.js';
import { installAllocationGuard } from '../../support/allocation-guard.js';
import { runCli } from '../../support/cli.js';
import { tempDir } from '../../support/temp.js';
import { encodeBundleEntry, encodeBundleHeader, writeTable } from '../../support/tf-bundle-writer.js';

function varint(v: number): number[] {
  const out: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
  out.push(v);
  return out;
}

test('an index of 130k tensors lists and inspects (text and --json); no stack overflow', async (t) => {
  const dir = tempDir(t, 'listing');
  const count = 130_000;
  // The table only (inspect reads no data): empty tensors, sorted names, an empty data file.
  const entries = [{ key: new Uint8Array(0), value: encodeBundleHeader({ numShards: 1 }) }];
  const empty = encodeBundleEntry({ dtype: DTYPES.float32.tf, shape: [0], crc32c: maskCrc(0) });
  for (let i = 0; i < count; i++) {
    const name = `decoder/block_${String(i % 24).padStart(3, '0')}/layer_${String(i).padStart(6, '0')}/DenseReluDense/wi/kernel`;
    entries.push({ key: Buffer.from(name), value: empty });
  }
  entries.sort((a, b) => Buffer.compare(a.key, b.key));
  await writeTable(join(dir, 'model.ckpt.index'), entries);
  writeFileSync(join(dir, 'model.ckpt.data-00000-of-00001'), '');
  const text = runCli(['inspect', join(dir, 'model.ckpt')]);
  assert.equal(text.code, 0, text.stderr.slice(0, 2000));
  assert.match(text.stdout, new RegExp(`total: +${count} tensors`));
  const json = runCli(['inspect', join(dir, 'model.ckpt'), '--json']);
  assert.equal(json.code, 0, json.stderr.slice(0, 2000));
  assert.equal((JSON.parse(json.stdout) as { totals: { tensors: number } }).totals.tensors, count);
});

/** A `.index` whose one data block is snappy for `copies` × 64 bytes of the 4-byte entry (shared 0, key 'a'). */
function tinyEntriesIndex(copies: number): Uint8Array {
  const total = 4 + 64 * copies + 8;
  const copyOps = new Uint8Array(3 * copies);
  for (let i = 0; i < copies; i++) copyOps.set([0xfe, 4, 0], 3 * i); // copy 64 bytes from 4 back
  const body = Buffer.concat([
    Uint8Array.from([...varint(total), 0x0c, 0, 1, 0, 0x61]), // literal: the first entry
    copyOps,
    Uint8Array.from([0x1c, 0, 0, 0, 0, 1, 0, 0, 0]), // literal: one restart at 0, restart count 1
  ]);
  const trailer = (block: Uint8Array, type: number) => {
    const out = Buffer.alloc(5);
    out[0] = type;
    out.writeUInt32LE(maskCrc(crc32c(Uint8Array.of(type), crc32c(block))), 1);
    return out;
  };
  const handle = [...varint(0), ...varint(body.length)];
  const index = Uint8Array.from([0, 1, handle.length, 0x7a, ...handle, 0, 0, 0, 0, 1, 0, 0, 0]);
  const footer = Buffer.alloc(48);
  Buffer.from([0, 0, ...varint(body.length + 5), ...varint(index.length)]).copy(footer);
  footer.writeUInt32LE(0x8b80fb57, 40);
  footer.writeUInt32LE(0xdb477524, 44);
  return Buffer.concat([body, trailer(body, 1), index, trailer(index, 0), footer]);
}

test('a snappy block of 64 MB of tiny entries is E_LIMIT within a 256 MB heap (it took 6.9 GB)', (t) => {
  const dir = tempDir(t, 'listing');
  const path = join(dir, 'model.ckpt.index');
  writeFileSync(path, tinyEntriesIndex(1_048_575));
  const r = runCli(['inspect', path], { nodeArgs: ['--max-old-space-size=256'] });
  assert.equal(r.code, 1, r.stderr.slice(0, 2000));
  assert.match(
    r.stderr,
    new RegExp(
      `^error\\[E_LIMIT\\]: ${path.replace(/[.]/g, '\\.')}: more than ${INDEX_TABLE_LIMITS.entries} table entries`,
    ),
  );
});

test('keys that grow by one byte per entry are E_LIMIT before any key is allocated', () => {
  const entries: number[] = [];
  for (let i = 0; i < 20_000; i++) entries.push(...varint(i), 1, 0, 0x61); // shares the whole previous key
  const block = Uint8Array.from([...entries, 0, 0, 0, 0, 1, 0, 0, 0]);
  const guard = installAllocationGuard(1024 * 1024);
  try {
    assert.throws(
      () => parseBlock(block, 'x.index: data block at offset 0', 'x.index'),
      (e: Tf2TorchError) => {
        assert.equal(e.code, 'E_LIMIT', e.message);
        assert.match(e.message, /^x\.index: keys total more than 134217728 bytes/);
        return true;
      },
    );
  } finally {
    guard.restore();
  }
});
