import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tf2TorchError } from '../../../src/errors.js';
import { snappyDecompress } from '../../../src/formats/tf-checkpoint/snappy.js';
import { snappyLiteralOnly } from '../../support/tf-bundle-writer.js';

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

test('literal then 1-byte-offset copy, including an overlapping (run-length) copy', () => {
  // "abc" literal, then copy len 9 offset 3 → "abcabcabcabc"
  const input = Uint8Array.from([12, (3 - 1) << 2, 0x61, 0x62, 0x63, 0b000_101_01, 3]);
  assert.equal(text(snappyDecompress(input, 'test')), 'abcabcabcabc');
});

test('2-byte and 4-byte offset copies', () => {
  const two = Uint8Array.from([8, (4 - 1) << 2, 0x77, 0x78, 0x79, 0x7a, ((4 - 1) << 2) | 2, 4, 0]);
  assert.equal(text(snappyDecompress(two, 'test')), 'wxyzwxyz');
  const four = Uint8Array.from([6, (2 - 1) << 2, 0x41, 0x42, ((4 - 1) << 2) | 3, 2, 0, 0, 0]);
  assert.equal(text(snappyDecompress(four, 'test')), 'ABABAB');
});

test('long literals with 1- and 2-byte length fields round-trip through the writer encoding', () => {
  for (const n of [1, 59, 60, 61, 255, 256, 257, 65536, 70000]) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
    assert.deepEqual(snappyDecompress(snappyLiteralOnly(data), 'test'), data, `length ${n}`);
  }
});

test('corrupt streams are E_MALFORMED, absurd declared sizes E_LIMIT, before any allocation', () => {
  const code = (input: number[], max?: number) => {
    try {
      snappyDecompress(Uint8Array.from(input), 'blk', 'f.index', max);
    } catch (e) {
      assert.ok(e instanceof Tf2TorchError);
      assert.match(e.message, /blk/);
      return e.code;
    }
    return 'no error';
  };
  assert.equal(code([4, 0b000_000_01, 1]), 'E_MALFORMED'); // copy before any output
  assert.equal(code([3, 0, 0x61, 0b000_001_01, 2]), 'E_MALFORMED'); // offset 2 > 1 byte written
  assert.equal(code([5, 0, 0x61]), 'E_MALFORMED'); // shorter than declared
  assert.equal(code([1, 4, 0x61, 0x62]), 'E_MALFORMED'); // longer than declared
  assert.equal(code([10, 36, 0x61]), 'E_MALFORMED'); // literal runs past the end
  assert.equal(code([0xff, 0xff, 0xff, 0xff, 0x0f]), 'E_LIMIT'); // 4 GiB declared
  assert.equal(code([100], 10), 'E_LIMIT');
  assert.equal(code([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 'E_MALFORMED'); // varint too long
});

test('a declared size beyond what the compressed bytes can expand to is refused before allocating it', () => {
  // varint 1,000,000 then a 3-byte body: at most 66 bytes could come out of it
  const input = Uint8Array.from([0xc0, 0x84, 0x3d, 0x00, 0x61, 0x00]);
  assert.throws(
    () => snappyDecompress(input, 'block at 0', 'x.index'),
    (e: unknown) => {
      assert.ok(e instanceof Tf2TorchError);
      assert.equal(e.code, 'E_MALFORMED');
      assert.match(
        e.message,
        /block at 0: corrupt snappy data: declares 1000000 bytes, more than its 3 compressed bytes can expand to/,
      );
      return true;
    },
  );
  // the densest real stream still passes: a 1-byte literal, then 3-byte copies of 64 bytes each
  const copies = 20;
  const total = 1 + 64 * copies;
  const dense = [0x80 | (total & 0x7f), total >> 7, 0x00, 0x61];
  for (let i = 0; i < copies; i++) dense.push(((64 - 1) << 2) | 2, 1, 0);
  assert.equal(snappyDecompress(Uint8Array.from(dense), 'dense').length, total);
});
