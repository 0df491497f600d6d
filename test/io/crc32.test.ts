/** Zip's CRC-32, whichever implementation loaded: equal to zlib's and to the known check value, in any chunking. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { crc32 } from '../../src/io/crc32.js';
import { seededRandom } from '../support/random.js';

test('crc32 matches zlib and the standard check value, continued across chunks', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  const random = seededRandom(5);
  const data = Uint8Array.from({ length: 100_003 }, () => Math.floor(random() * 256));
  const want = zlib.crc32(data) >>> 0;
  assert.equal(crc32(data), want);
  for (const cut of [1, 7, 4096, 99_999]) assert.equal(crc32(data.subarray(cut), crc32(data.subarray(0, cut))), want);
});
