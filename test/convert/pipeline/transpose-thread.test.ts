/**
 * Transposes on a second thread: the bytes equal the same transpose done here, for every item width
 * and the bfloat16 widening, on bands of a larger source; buffers the thread cannot see, and jobs
 * after the thread is gone, are done here; a pending job keeps the process alive until it answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTransposeThread } from '../../../src/convert/pipeline/transpose-thread.js';
import { runTransposeJob, type TransposeJob } from '../../../src/convert/pipeline/transposer.js';

function job(make: (n: number) => Uint8Array, itemSize: 1 | 2 | 4, widen: boolean): TransposeJob {
  const [sourceRows, sourceCols] = [48, 40];
  const src = make(sourceRows * sourceCols * itemSize);
  for (let i = 0; i < src.length; i++) src[i] = (i * 31 + 7) & 0xff;
  // The band of source columns 8..31 of rows 5..44.
  const rows = 40;
  const cols = 24;
  const dst = make(rows * cols * (widen ? 4 : itemSize));
  return { src, base: 5 * sourceCols + 8, stride: sourceCols, rows, cols, itemSize, widen, dst };
}

const plain = (n: number) => new Uint8Array(n);

test('jobs done on the thread equal the same jobs done here, each width and the widening', async () => {
  const thread = startTransposeThread(0);
  try {
    for (const [itemSize, widen] of [
      [1, false],
      [2, false],
      [4, false],
      [2, true],
    ] as const) {
      const there = job(thread.allocate, itemSize, widen);
      assert.ok(there.src.buffer instanceof SharedArrayBuffer, 'the thread’s buffers are shared memory');
      const here = job(plain, itemSize, widen);
      await thread.transpose(there);
      runTransposeJob(here);
      assert.deepEqual(Buffer.from(there.dst), Buffer.from(here.dst), `item ${itemSize}, widen ${widen}`);
      assert.ok(there.dst.some((b) => b !== 0));
    }
  } finally {
    await thread.close();
  }
});

test('ordinary buffers, small jobs and jobs after close are done here, with the same bytes', async () => {
  const thread = startTransposeThread(1 << 20); // every job here is below the threshold
  const small = job(thread.allocate, 4, false);
  const want = job(plain, 4, false);
  runTransposeJob(want);
  await thread.transpose(small);
  assert.deepEqual(Buffer.from(small.dst), Buffer.from(want.dst));
  await thread.close();
  const late = job(thread.allocate, 4, false);
  await thread.transpose(late);
  assert.deepEqual(Buffer.from(late.dst), Buffer.from(want.dst));
  const unshared = startTransposeThread(0);
  const mine = job(plain, 4, false);
  await unshared.transpose(mine);
  assert.deepEqual(Buffer.from(mine.dst), Buffer.from(want.dst));
  await unshared.close();
});

test('a job pending when the thread ends is finished here, not lost', async () => {
  const thread = startTransposeThread(0);
  const pending = job(thread.allocate, 4, false);
  const want = job(plain, 4, false);
  runTransposeJob(want);
  const done = thread.transpose(pending);
  await thread.close(); // terminates the thread, which may not have answered yet
  await done;
  assert.deepEqual(Buffer.from(pending.dst), Buffer.from(want.dst));
});
