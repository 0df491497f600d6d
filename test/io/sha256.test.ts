/**
 * The streamed SHA-256 a browser's model card uses: equal to Node's for every length around the block and
 * padding boundaries, fed in uneven pieces, and over a picked file read in bounded slices.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { blobFileTree } from '../../src/io/blob-files.js';
import { Sha256, sha256OfSource } from '../../src/io/sha256.js';
import { seededRandom } from '../support/random.js';

const nodeSha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function randomBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

test('sha256 in pieces equals Node crypto around every block and padding boundary', () => {
  for (const length of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4099]) {
    const bytes = randomBytes(length, length + 1);
    const hash = new Sha256();
    for (let at = 0, step = 1; at < length; at += step, step = (step * 7) % 97 || 1)
      hash.update(bytes.subarray(at, at + step));
    assert.equal(hash.hex(), nodeSha256(bytes), `${length} bytes`);
  }
});

test('sha256 of a picked file read in 1 MiB slices', async () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 17, 5);
  const files = blobFileTree([{ path: '/ckpt/model.ckpt.index', blob: new Blob([bytes]) }], () => '');
  const source = await files.open('/ckpt/model.ckpt.index');
  assert.equal(await sha256OfSource(source), nodeSha256(bytes));
  await source.close();
});
