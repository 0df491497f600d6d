/**
 * The buffer pool hands out views of power-of-two buffers and takes them back, so that bands of
 * slightly different sizes reuse the same memory instead of allocating (and faulting in) new buffers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool, MAX_FREE_BYTES, MIN_POOLED_BYTES } from '../../../src/convert/pipeline/buffer-pool.js';

function countingPool(): { pool: BufferPool; allocated: number[] } {
  const allocated: number[] = [];
  const pool = new BufferPool((n) => {
    allocated.push(n);
    return new Uint8Array(n);
  });
  return { pool, allocated };
}

test('bands of different sizes within one power of two share one buffer', () => {
  const { pool, allocated } = countingPool();
  const a = pool.take(4_177_920); // a band of a [5120, 2048] kernel
  assert.equal(a.byteLength, 4_177_920);
  assert.equal(a.byteOffset, 0);
  pool.give(a);
  const b = pool.take(4 * 1024 * 1024); // a band of a [2048, 2048] kernel
  assert.equal(b.byteLength, 4 * 1024 * 1024);
  assert.equal(b.buffer, a.buffer, 'the freed buffer is reused');
  assert.deepEqual(allocated, [4 * 1024 * 1024]);
});

test('buffers in use are never handed out twice, and a double give keeps one copy', () => {
  const { pool } = countingPool();
  const a = pool.take(100_000);
  const b = pool.take(100_000);
  assert.notEqual(a.buffer, b.buffer);
  pool.give(a);
  pool.give(a);
  const c = pool.take(100_000);
  const d = pool.take(100_000);
  assert.equal(c.buffer, a.buffer);
  assert.notEqual(d.buffer, a.buffer, 'a buffer given twice is still handed out once');
});

test('small buffers and foreign buffers are not pooled; the free bytes stay bounded', () => {
  const { pool, allocated } = countingPool();
  const small = pool.take(MIN_POOLED_BYTES - 1);
  pool.give(small);
  pool.give(new Uint8Array(1 << 20)); // not from this pool
  pool.take(MIN_POOLED_BYTES - 1);
  assert.deepEqual(allocated, [], 'small buffers are plain ones, never made by `allocate` (shared memory)');

  const size = 8 * 1024 * 1024;
  const many = Array.from({ length: 2 * (MAX_FREE_BYTES / size) }, () => pool.take(size));
  for (const b of many) pool.give(b);
  allocated.length = 0;
  for (let i = 0; i < many.length; i++) pool.take(size);
  assert.equal(allocated.length, many.length - MAX_FREE_BYTES / size, 'only MAX_FREE_BYTES were kept');
});

test('a new size evicts free buffers of other sizes rather than exceed the bound', () => {
  const { pool, allocated } = countingPool();
  const bands = Array.from({ length: MAX_FREE_BYTES / (4 << 20) }, () => pool.take(4 << 20));
  for (const b of bands) pool.give(b);
  const big = pool.take(32 << 20);
  pool.give(big);
  allocated.length = 0;
  assert.equal(pool.take(32 << 20).buffer, big.buffer, 'the large buffer was kept');
  const kept = MAX_FREE_BYTES / (4 << 20) - 8; // 32 MiB evicted eight 4 MiB bands
  for (let i = 0; i < MAX_FREE_BYTES / (4 << 20); i++) pool.take(4 << 20);
  assert.equal(allocated.length, MAX_FREE_BYTES / (4 << 20) - kept);
});
