/**
 * The Node `ByteSink` of an open output file, shaped by what a conversion writes: a few large bands
 * in order, and many tiny writes between them (a zip record's local header and its CRC patch, a
 * LayerNorm's 3 KB of weights). Large writes go in 512 KiB pieces, a few at a time (WRITE_PIECE_BYTES).
 * Two things keep the thread pool's round trips off the critical path:
 * - small writes are copied and left running while the caller goes on; a write that overlaps one still
 *   running waits for it (a zip header, then its CRC patched in), others need no order; a failure
 *   surfaces at the next write or at `drain`;
 * - every EARLY_SYNC_BYTES of writes, an fdatasync starts in the background, so that the disk works
 *   while the rest is produced and the final fsync finds little left to flush (the kernel would
 *   otherwise hold back a few hundred MB until that fsync).
 */
import type { FileHandle } from 'node:fs/promises';
import type { ByteSink } from './byte-sink.js';

/**
 * Larger writes are made in pieces of this size. Measured on a 2-core VM (1 GB from 4 MiB buffers,
 * page cache emptied before each run): one write(2) per 4 MiB took 0.24-1.16 s, most often about 1 s,
 * 1 MiB writes mostly 0.27 s but once 1.08 s, 512 KiB pieces three at a time 0.25-0.28 s in every run
 * (likely the page cache's large folios, which a large write asks for and which are slow to come by).
 */
export const WRITE_PIECE_BYTES = 512 * 1024;
/** Pieces issued at once: the next starts as soon as the kernel finishes one, without a round trip. */
const PIECES_IN_FLIGHT = 3;
/** Writes up to this size are copied and not waited for. */
export const SMALL_WRITE_BYTES = 64 * 1024;
/** Copied small writes left running at most (bytes); beyond it the next one waits for them. */
const MAX_RUNNING_BYTES = 4 * 1024 * 1024;
/** Writes left running at most (each later write checks them for overlap). */
const MAX_RUNNING_WRITES = 64;
/** An fdatasync is started (unless one is running) after this many bytes written since the last. */
export const EARLY_SYNC_BYTES = 64 * 1024 * 1024;

export interface FileSink extends ByteSink {
  /** Waits for every write started (and the background sync); throws the first failure. */
  drain(): Promise<void>;
}

/** A write or sync left running, and the byte range it covers (empty for a sync). */
interface Running {
  readonly start: number;
  readonly end: number;
  readonly done: Promise<void>;
}

export function fileSink(handle: FileHandle): FileSink {
  const running = new Set<Running>();
  let runningBytes = 0;
  let failure: { error: unknown } | undefined;
  let sinceSync = 0;
  let syncing = false;

  const writeRange = async (bytes: Uint8Array, from: number, to: number, position: number) => {
    let done = from;
    while (done < to) {
      const { bytesWritten } = await handle.write(bytes, done, to - done, position + done);
      done += bytesWritten;
    }
  };
  /** In pieces of WRITE_PIECE_BYTES, PIECES_IN_FLIGHT at a time (they queue on the file in the kernel). */
  const writeAll = async (bytes: Uint8Array, position: number) => {
    let next = 0;
    const worker = async () => {
      while (next < bytes.byteLength) {
        const from = next;
        next = Math.min(bytes.byteLength, from + WRITE_PIECE_BYTES);
        await writeRange(bytes, from, next, position);
      }
    };
    const pieces = Math.ceil(bytes.byteLength / WRITE_PIECE_BYTES);
    await Promise.all(Array.from({ length: Math.min(PIECES_IN_FLIGHT, pieces) }, worker));
  };
  const leaveRunning = (start: number, end: number, work: Promise<void>) => {
    const entry: Running = {
      start,
      end,
      done: work.then(
        () => undefined,
        (error: unknown) => {
          failure ??= { error };
        },
      ),
    };
    running.add(entry);
    runningBytes += end - start;
    void entry.done.then(() => {
      running.delete(entry);
      runningBytes -= end - start;
    });
  };
  const throwIfFailed = () => {
    if (failure) throw failure.error;
  };
  const settled = async () => {
    while (running.size > 0) await Promise.all([...running].map((r) => r.done));
    throwIfFailed();
  };
  /** Writes to overlapping bytes keep their order: a zip header, then the CRC patched into it. */
  const overlapsDone = async (start: number, end: number) => {
    const before = [...running].filter((r) => r.start < end && start < r.end);
    if (before.length > 0) await Promise.all(before.map((r) => r.done));
  };
  const startSyncIfDue = (bytes: number) => {
    sinceSync += bytes;
    if (sinceSync < EARLY_SYNC_BYTES || syncing) return;
    sinceSync = 0;
    syncing = true;
    leaveRunning(
      0,
      0,
      handle.datasync().finally(() => {
        syncing = false;
      }),
    );
  };

  return {
    async write(bytes, position) {
      throwIfFailed();
      const end = position + bytes.byteLength;
      await overlapsDone(position, end);
      if (bytes.byteLength <= SMALL_WRITE_BYTES) {
        if (runningBytes + bytes.byteLength > MAX_RUNNING_BYTES || running.size >= MAX_RUNNING_WRITES) await settled();
        leaveRunning(position, end, writeAll(bytes.slice(), position));
      } else {
        await writeAll(bytes, position);
      }
      throwIfFailed();
      startSyncIfDue(bytes.byteLength);
    },
    drain: settled,
  };
}
