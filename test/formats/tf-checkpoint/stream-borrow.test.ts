/**
 * A stored tensor streamed for a writer (formats/tf-checkpoint/tensor-bytes.ts `streamStored`) may
 * borrow its source's bytes (a remote source lends its fetched pieces) only when it does not swap them
 * in place: a big-endian tensor's chunks are swapped, so they must be the stream's own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streamStored } from '../../../src/formats/tf-checkpoint/tensor-bytes.js';
import { type ByteSource, readChunksOf } from '../../../src/io/byte-source.js';

function recordingSource(bytes: Uint8Array, modes: unknown[]): ByteSource {
  const source: ByteSource = {
    path: 'shard',
    size: bytes.byteLength,
    readAt: async (offset, length) => bytes.slice(offset, offset + length),
    readInto: async (target, offset) => target.set(bytes.subarray(offset, offset + target.byteLength)),
    readRunsInto: async () => undefined,
    readChunks: (offset, length, chunkSize, what, reuse) => {
      modes.push(reuse);
      return readChunksOf(source, offset, length, chunkSize, what);
    },
    close: async () => undefined,
  };
  return source;
}

test('chunks are borrowed when they are read as they lie, and the stream’s own when swapped in place', async () => {
  const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const tensor = { name: 'w', dtype: 'float32' as const, itemSize: 4, numElements: 2, offset: 0, size: 8 };
  for (const [bigEndian, reuse, expected] of [
    [false, true, 'borrow'],
    [true, true, true],
    [false, false, false],
  ] as const) {
    const modes: unknown[] = [];
    const out: number[] = [];
    const t = { ...tensor, maskedCrc: undefined, bigEndian };
    for await (const chunk of streamStored(recordingSource(bytes, modes), t, false, 4, reuse)) out.push(...chunk);
    assert.deepEqual(modes, [expected], `big-endian ${bigEndian}, reuse ${reuse}`);
    assert.deepEqual(out, bigEndian ? [4, 3, 2, 1, 8, 7, 6, 5] : [1, 2, 3, 4, 5, 6, 7, 8]);
  }
  assert.deepEqual([...bytes], [1, 2, 3, 4, 5, 6, 7, 8], 'the source’s bytes never swapped');
});
