/**
 * The CRC-32C of a range from runs read in any order (strided bands of a transpose) equals the CRC of
 * the range read front to back, for runs of every length, with the native and the table path; a flipped
 * byte in any run changes it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c, crc32cJs, loadNativeCrc32c } from '../../src/io/crc32c.js';
import { crc32cCombine, crc32cSkipZeros, ScatteredCrc32c } from '../../src/io/crc32c-runs.js';
import { seededRandom } from '../support/random.js';

const random = seededRandom(19);
const bytesOf = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));

/** The runs of a [rows, cols] matrix's column band [c0, c1) of `item`-byte elements, as a transpose reads them. */
function columnBand(data: Uint8Array, start: number, cols: number, item: number, c0: number, c1: number) {
  const rows = data.length / (cols * item);
  const runLength = (c1 - c0) * item;
  const offsets = Array.from({ length: rows }, (_, r) => start + (r * cols + c0) * item);
  const target = new Uint8Array(rows * runLength);
  offsets.forEach((o, r) => {
    target.set(data.subarray(o - start, o - start + runLength), r * runLength);
  });
  return { target, offsets, runLength };
}

test('skipping zero bytes equals hashing them', () => {
  for (const n of [0, 1, 3, 64, 1000, 65537]) {
    const crc = Math.floor(random() * 2 ** 32) >>> 0;
    // raw register after n zeros = ~crc32c(zeros, ~crc)
    const want = ~crc32cJs(new Uint8Array(n), ~crc >>> 0) >>> 0;
    assert.equal(crc32cSkipZeros(crc, n), want, `${n} zeros`);
  }
});

test("two strings' CRCs combine into the CRC of one after the other, for any split", () => {
  const data = Uint8Array.from({ length: 5000 }, () => Math.floor(random() * 256));
  for (const at of [0, 1, 7, 2500, 4999, 5000]) {
    const [a, b] = [data.subarray(0, at), data.subarray(at)];
    assert.equal(crc32cCombine(crc32cJs(a), crc32cJs(b), b.length), crc32cJs(data), `split at ${at}`);
  }
  const flipped = data.slice();
  flipped[3000] = (flipped[3000] as number) ^ 1;
  assert.notEqual(
    crc32cCombine(crc32cJs(data.subarray(0, 2500)), crc32cJs(flipped.subarray(2500)), 2500),
    crc32cJs(data),
  );
});

test('runs in column bands, bands in any order, give the CRC of the whole', async () => {
  await loadNativeCrc32c();
  for (const [rows, cols, item] of [
    [1000, 4, 4],
    [37, 300, 4],
    [64, 64, 2],
    [5, 3, 1],
  ] as const) {
    const data = bytesOf(rows * cols * item);
    const want = crc32c(data);
    for (const bandCols of [1, 2, cols]) {
      const starts = Array.from({ length: Math.ceil(cols / bandCols) }, (_, b) => b * bandCols).reverse();
      const crc = new ScatteredCrc32c(100, data.length);
      for (const c0 of starts) {
        const { target, offsets, runLength } = columnBand(data, 100, cols, item, c0, Math.min(cols, c0 + bandCols));
        crc.addRuns(target, offsets, runLength);
      }
      assert.equal(crc.covered, data.length);
      assert.equal(crc.value(), want, `[${rows}, ${cols}] × ${item} in bands of ${bandCols} columns`);
    }
  }
});

test('runs out of order within a call, and an empty range, still add up', () => {
  const data = bytesOf(999);
  const crc = new ScatteredCrc32c(0, data.length);
  const offsets = [666, 0, 333];
  const target = new Uint8Array(999);
  offsets.forEach((o, i) => {
    target.set(data.subarray(o, o + 333), i * 333);
  });
  crc.addRuns(target, offsets, 333);
  assert.equal(crc.value(), crc32c(data));
  assert.equal(new ScatteredCrc32c(0, 0).value(), crc32c(new Uint8Array(0)));
});

test('one flipped byte in any run changes the CRC', () => {
  const data = bytesOf(4 * 257 * 4);
  const want = crc32c(data);
  for (const flip of [0, 5, 1000, data.length - 1]) {
    const crc = new ScatteredCrc32c(0, data.length);
    for (let c0 = 0; c0 < 4; c0++) {
      const { target, offsets, runLength } = columnBand(data, 0, 4, 4, c0, c0 + 1);
      const at = offsets.indexOf(flip - (flip % 16) + c0 * 4);
      if (at >= 0 && flip % 16 >= c0 * 4 && flip % 16 < c0 * 4 + 4)
        target[at * 4 + (flip % 4)] = (target[at * 4 + (flip % 4)] as number) ^ 1;
      crc.addRuns(target, offsets, runLength);
    }
    assert.notEqual(crc.value(), want, `byte ${flip} flipped`);
  }
});

test('runs over part of the range: the same runs agree in any order and split anywhere, and differ from other bytes', () => {
  const data = bytesOf(4000);
  const runs = [100, 700, 1500, 3900].map((o) => ({ o, n: 60 }));
  const inOrder = new ScatteredCrc32c(0, data.length);
  for (const { o, n } of runs) inOrder.addRuns(data.subarray(o, o + n), [o], n);
  const reversedSplit = new ScatteredCrc32c(0, data.length);
  for (const { o, n } of [...runs].reverse()) {
    reversedSplit.addRuns(data.subarray(o, o + 7), [o], 7);
    reversedSplit.addRuns(data.subarray(o + 7, o + n), [o + 7], n - 7);
  }
  assert.equal(reversedSplit.value(), inOrder.value());
  const zeroed = new Uint8Array(data.length);
  for (const { o, n } of runs) zeroed.set(data.subarray(o, o + n), o);
  assert.equal(inOrder.value(), crc32c(zeroed), 'the range with zeros where no run lies');
  const other = new ScatteredCrc32c(0, data.length);
  const flipped = Uint8Array.from(data);
  flipped[1510] = (flipped[1510] as number) ^ 0x80;
  for (const { o, n } of runs) other.addRuns(flipped.subarray(o, o + n), [o], n);
  assert.notEqual(other.value(), inOrder.value());
});
