/**
 * Picked files (Blobs) as a FileTree: reads copy the blob's bytes into the caller's array; a reusing
 * chunk stream cycles through a few buffers and keeps each chunk intact until the one after next is asked for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/errors.js';
import { blobFileTree } from '../../src/io/blob-files.js';
import { seededRandom } from '../support/random.js';

const bytes = new Uint8Array(1_000_003);
const random = seededRandom(3);
for (let i = 0; i < bytes.length; i++) bytes[i] = (random() * 256) | 0;
const tree = blobFileTree([{ path: '/ck/data', blob: new Blob([bytes]) }], () => '');

test('readInto and readAt give the bytes at any offset; beyond the end is E_TRUNCATED', async () => {
  const source = await tree.open('/ck/data');
  const target = new Uint8Array(300_000);
  await source.readInto(target, 654_321);
  assert.deepEqual(target, bytes.subarray(654_321, 954_321));
  assert.deepEqual(await source.readAt(17, 5), bytes.subarray(17, 22));
  await assert.rejects(source.readInto(new Uint8Array(10), bytes.length - 5), { code: ErrorCode.TRUNCATED });
});

test('reused chunks: the bytes in order, a chunk intact until the one after next is asked for, few buffers', async () => {
  const source = await tree.open('/ck/data');
  const chunkSize = 65_536;
  const held: { chunk: Uint8Array; copy: Uint8Array }[] = [];
  const buffers = new Set<ArrayBufferLike>();
  let at = 3;
  for await (const chunk of source.readChunks(3, bytes.length - 3, chunkSize, 'data', true)) {
    assert.deepEqual(chunk, bytes.subarray(at, at + chunk.byteLength));
    // the previous chunk is still as it was (only the one before it may be overwritten now)
    const previous = held.at(-1);
    if (previous) assert.deepEqual(previous.chunk, previous.copy);
    held.push({ chunk, copy: chunk.slice() });
    buffers.add(chunk.buffer);
    at += chunk.byteLength;
  }
  assert.equal(at, bytes.length);
  assert.ok(buffers.size <= 3, `${buffers.size} buffers for ${held.length} chunks`);
});
