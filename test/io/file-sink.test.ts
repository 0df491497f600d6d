/**
 * The output file's sink: small writes are copied and left running, every EARLY_SYNC_BYTES an
 * fdatasync starts in the background. What must hold whatever the timing: the file gets exactly the
 * bytes written (even when the caller reuses a small buffer at once), a failed write is reported,
 * never lost, and no more than one background sync runs at a time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EARLY_SYNC_BYTES, fileSink, SMALL_WRITE_BYTES, WRITE_PIECE_BYTES } from '../../src/io/file-sink.js';

function filled(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

test('small and large writes in any order give the exact file, small buffers reusable at once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf2torch-sink-'));
  try {
    const path = join(dir, 'out.bin');
    const handle = await open(path, 'w');
    const sink = fileSink(handle);
    const header = filled(64, 1);
    const big = filled(3 * WRITE_PIECE_BYTES + SMALL_WRITE_BYTES + 1000, 2); // several pieces, the last short
    const tail = filled(3000, 3);
    const expected = new Uint8Array(64 + big.byteLength + tail.byteLength);
    expected.set(header, 0);
    expected.set(big, 64);
    expected.set(tail, 64 + big.byteLength);
    const reused = new Uint8Array(64);
    await sink.write(tail, 64 + big.byteLength);
    reused.set(header);
    await sink.write(reused, 0);
    reused.fill(0xee); // the caller's buffer, reused before the write has run
    await sink.write(big, 64);
    await sink.drain();
    await handle.close();
    assert.deepEqual(new Uint8Array(readFileSync(path)), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write overlapping one still running waits for it: a header, then its CRC patched in', async () => {
  const file = new Uint8Array(64);
  let calls = 0;
  const handle = {
    async write(b: Uint8Array, offset: number, length: number, position: number) {
      const slow = ++calls === 1;
      await sleep(slow ? 30 : 0); // the header's write is the slow one
      file.set(b.subarray(offset, offset + length), position);
      return { bytesWritten: length };
    },
    async datasync() {},
  } as unknown as FileHandle;
  const sink = fileSink(handle);
  await sink.write(new Uint8Array(30), 0); // header, CRC field zero
  await sink.write(Uint8Array.of(1, 2, 3, 4), 14); // the CRC
  await sink.write(Uint8Array.of(9), 40); // elsewhere: need not wait
  await sink.drain();
  assert.deepEqual([...file.subarray(12, 20)], [0, 0, 1, 2, 3, 4, 0, 0]);
  assert.equal(file[40], 9);
});

test('a large write reaches the kernel in pieces of at most WRITE_PIECE_BYTES, all of its bytes once', async () => {
  const lengths: number[] = [];
  const covered = new Uint8Array(5 * WRITE_PIECE_BYTES + 123);
  const handle = {
    async write(_b: Uint8Array, offset: number, length: number, position: number) {
      lengths.push(length);
      assert.equal(position, 1000 + offset);
      for (let i = offset; i < offset + length; i++) covered[i] = (covered[i] as number) + 1;
      await sleep(1);
      return { bytesWritten: length };
    },
    async datasync() {},
  } as unknown as FileHandle;
  const sink = fileSink(handle);
  await sink.write(covered.slice(), 1000);
  assert.ok(Math.max(...lengths) <= WRITE_PIECE_BYTES, `pieces of ${Math.max(...lengths)} bytes`);
  assert.equal(lengths.length, 6);
  assert.ok(
    covered.every((n) => n === 1),
    'every byte written exactly once',
  );
});

/** A handle whose writes take a while and whose n-th write (1-based) fails. */
function fakeHandle(failAt: number) {
  let calls = 0;
  let syncing = 0;
  const log = { syncs: 0, maxConcurrentSyncs: 0 };
  const handle = {
    async write(_b: Uint8Array, _o: number, length: number) {
      calls++;
      const n = calls;
      await sleep(2);
      if (n === failAt) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return { bytesWritten: length };
    },
    async datasync() {
      log.syncs++;
      syncing++;
      log.maxConcurrentSyncs = Math.max(log.maxConcurrentSyncs, syncing);
      await sleep(20);
      syncing--;
    },
  };
  return { handle: handle as unknown as FileHandle, log };
}

test('a failed small write is reported at the next write, with its own error', async () => {
  const { handle } = fakeHandle(1);
  const sink = fileSink(handle);
  await sink.write(new Uint8Array(10), 0); // left running; fails
  await sleep(10);
  await assert.rejects(sink.write(new Uint8Array(10), 10), /ENOSPC/);
  await assert.rejects(sink.drain(), /ENOSPC/);
});

test('a failed small write is reported by drain when nothing else is written', async () => {
  const { handle } = fakeHandle(2);
  const sink = fileSink(handle);
  await sink.write(new Uint8Array(SMALL_WRITE_BYTES + 1), 0);
  await sink.write(new Uint8Array(4), 14);
  await assert.rejects(sink.drain(), /ENOSPC/);
});

test('background syncs start every EARLY_SYNC_BYTES, one at a time, and drain waits for them', async () => {
  const { handle, log } = fakeHandle(0);
  const sink = fileSink(handle);
  const band = new Uint8Array(EARLY_SYNC_BYTES / 4);
  for (let i = 0; i < 12; i++) await sink.write(band, i * band.byteLength);
  assert.ok(log.syncs >= 1, 'a sync started before the end');
  assert.ok(log.syncs <= (12 * band.byteLength) / EARLY_SYNC_BYTES, `one per EARLY_SYNC_BYTES at most: ${log.syncs}`);
  assert.equal(log.maxConcurrentSyncs, 1);
  await sink.drain();
});
