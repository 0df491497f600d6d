/**
 * Sources streamed as they lie, chained: when one hands out its last chunk, the next one's first read
 * is already running. Every link still yields exactly its own bytes, taken in order or not, and a
 * failing read surfaces in the link it belongs to.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PassThroughChain } from '../../../src/convert/pipeline/pass-through-chain.js';
import { memoryTensor, type TensorRef } from '../../../src/tensor.js';

interface Watched extends TensorRef {
  readonly started: { count: number };
}

/** `length` bytes in chunks, counting the streams started; `fail` makes the stream fail before its first chunk. */
function watched(name: string, length: number, fail = false): Watched {
  const bytes = Uint8Array.from({ length }, (_, i) => (i * 7 + name.charCodeAt(0)) & 0xff);
  const base = memoryTensor(name, 'uint8', [length], bytes);
  const started = { count: 0 };
  return {
    ...base,
    started,
    async *stream(chunkSize = 4) {
      started.count++;
      await new Promise((resolve) => setImmediate(resolve));
      if (fail) throw new Error(`${name}: read failed`);
      for (let at = 0; at < length; at += chunkSize) yield bytes.subarray(at, Math.min(length, at + chunkSize));
    },
  };
}

async function bytesOf(ref: TensorRef, onChunk?: () => void): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of ref.stream(4)) {
    parts.push(Buffer.from(chunk));
    onChunk?.();
  }
  return Buffer.concat(parts);
}

test('the next link starts when the current one hands out its last chunk, not before', async () => {
  const [a, b, c] = [watched('a', 10), watched('b', 3), watched('c', 9)];
  const chain = new PassThroughChain();
  const [la, lb, lc] = [a, b, c].map((s) => chain.add(s)) as [TensorRef, TensorRef, TensorRef];
  const startedAtEachChunk: number[] = [];
  assert.ok((await bytesOf(la, () => startedAtEachChunk.push(b.started.count))).equals(Buffer.from(await a.read())));
  assert.deepEqual(startedAtEachChunk, [0, 0, 1], 'b starts with a’s third and last chunk');
  assert.ok((await bytesOf(lb)).equals(Buffer.from(await b.read())));
  assert.equal(b.started.count, 1, 'b’s early stream is the one taken');
  assert.equal(c.started.count, 1);
  assert.ok((await bytesOf(lc)).equals(Buffer.from(await c.read())));
  assert.equal(c.started.count, 1);
});

test('links taken out of order still yield their own bytes; a failed read surfaces in its own link', async () => {
  const [a, b, c] = [watched('a', 8), watched('b', 8, true), watched('c', 5)];
  const chain = new PassThroughChain();
  const [la, lb, lc] = [a, b, c].map((s) => chain.add(s)) as [TensorRef, TensorRef, TensorRef];
  assert.ok((await bytesOf(la)).equals(Buffer.from(await a.read()))); // starts b, which fails: not a's error
  assert.ok((await bytesOf(lc)).equals(Buffer.from(await c.read())), 'c, skipping b');
  await assert.rejects(bytesOf(lb), /b: read failed/);
  assert.ok((await bytesOf(la)).equals(Buffer.from(await a.read())), 'a again');
});
