/**
 * Positioned reads: a read larger than the per-call limit is looped (Node's fs.read takes a 32-bit
 * length, so a tensor of 2 GiB or more read in one call aborts the process), and strided runs land
 * one after the other, through both the synchronous (short runs) and the asynchronous path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_READ_BYTES, RandomAccessFile } from '../../src/io/file.js';

function withFile(bytes: Uint8Array, body: (file: RandomAccessFile) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'tf2torch-file-'));
  const path = join(dir, 'data.bin');
  writeFileSync(path, bytes);
  return (async () => {
    const file = await RandomAccessFile.open(path);
    try {
      await body(file);
    } finally {
      await file.close();
      rmSync(dir, { recursive: true, force: true });
    }
  })();
}

const DATA = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff);

test('no single read reaches 2 GiB', () => {
  assert.ok(MAX_READ_BYTES < 2 ** 31);
});

test('reads longer than the per-call limit are looped and exact', async () => {
  await withFile(DATA, async (file) => {
    file.maxReadBytes = 7;
    assert.ok(Buffer.from(await file.readAt(3, 990)).equals(DATA.subarray(3, 993)));
    const target = new Uint8Array(500);
    await file.readInto(target, 500);
    assert.ok(Buffer.from(target).equals(DATA.subarray(500)));
    await assert.rejects(file.readAt(900, 101), (e: Error & { code?: string }) => e.code === 'E_TRUNCATED');
  });
});

test('strided runs are read one after the other, short and long', async () => {
  const big = Uint8Array.from({ length: 3 << 20 }, (_, i) => (i * 131 + 7) & 0xff);
  await withFile(big, async (file) => {
    for (const run of [3, 1 << 19]) {
      const offsets = [5, 2 * run + 1, 17, big.length - run];
      const target = new Uint8Array(offsets.length * run);
      await file.readRunsInto(target, offsets, run);
      offsets.forEach((o, i) => {
        const got = Buffer.from(target.subarray(i * run, (i + 1) * run));
        assert.ok(got.equals(big.subarray(o, o + run)), `run ${i} of ${run} bytes`);
      });
    }
    await assert.rejects(
      file.readRunsInto(new Uint8Array(4), [big.length - 3], 4),
      (e: Error & { code?: string }) => e.code === 'E_TRUNCATED',
    );
  });
});

test('runs close together are read as spans (narrow columns, gaps, span limits) and land in place', async () => {
  const big = Uint8Array.from({ length: 3 << 20 }, (_, i) => (i * 131 + 7) & 0xff);
  await withFile(big, async (file) => {
    for (const [run, stride, count] of [
      [4, 16, 150_000], // a [·, 4] float32 kernel's column: spans of 1 MiB, read asynchronously
      [4, 16, 300], // small spans, read synchronously
      [40, 4096 + 40, 500], // the largest gap still spanned
      [40, 4096 + 41, 50], // one byte more: each run on its own
    ] as const) {
      const offsets = Array.from({ length: count }, (_, i) => 3 + i * stride);
      offsets.push(1, big.length - run); // behind the previous run, then far ahead: new spans
      const target = new Uint8Array(offsets.length * run);
      await file.readRunsInto(target, offsets, run);
      offsets.forEach((o, i) => {
        const got = Buffer.from(target.subarray(i * run, (i + 1) * run));
        assert.ok(got.equals(big.subarray(o, o + run)), `run ${i} of ${run} bytes every ${stride}`);
      });
    }
  });
});

test('chunks read with reuse alternate between two buffers and still arrive whole and in order', async () => {
  const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 29 + 3) & 0xff);
  const step = 64 * 1024; // above Buffer's shared pool, so that every fresh chunk has its own memory
  await withFile(big, async (file) => {
    const copies: Buffer[] = [];
    const buffers: ArrayBufferLike[] = [];
    for await (const chunk of file.readChunks(10, big.length - 20, step, 'data', true)) {
      copies.push(Buffer.from(chunk)); // done with it before asking for the next
      buffers.push(chunk.buffer);
    }
    assert.ok(Buffer.concat(copies).equals(big.subarray(10, big.length - 10)));
    assert.equal(new Set(buffers).size, 2, 'two buffers, recycled');
    const fresh: ArrayBufferLike[] = [];
    for await (const chunk of file.readChunks(0, big.length, step)) fresh.push(chunk.buffer);
    assert.equal(new Set(fresh).size, big.length / step, 'without reuse every chunk keeps its own memory');
  });
});

test('reuse streams hand their buffers to the next stream of the chunk size: tensor after tensor, no new memory', async () => {
  const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 13 + 5) & 0xff);
  const step = 64 * 1024;
  await withFile(big, async (file) => {
    const buffersOf = async (offset: number, length: number) => {
      const seen = new Set<ArrayBufferLike>();
      const copies: Buffer[] = [];
      for await (const chunk of file.readChunks(offset, length, step, 'data', true)) {
        copies.push(Buffer.from(chunk));
        seen.add(chunk.buffer);
      }
      assert.ok(Buffer.concat(copies).equals(big.subarray(offset, offset + length)), `bytes at ${offset}`);
      return seen;
    };
    const first = await buffersOf(0, 5 * step);
    const second = await buffersOf(5 * step + 7, 3 * step);
    const third = await buffersOf(100, step); // one chunk
    assert.deepEqual([...second].sort(), [...first].sort(), 'the second stream reads into the first one’s buffers');
    assert.ok(first.has([...third][0] as ArrayBufferLike));
    // A stream stopped early gives its buffers back too, once its read in flight has landed.
    for await (const _ of file.readChunks(0, 4 * step, step, 'data', true)) break;
    assert.ok(first.has([...(await buffersOf(0, step))][0] as ArrayBufferLike));
  });
});
