/**
 * Positioned reads from a file, never the whole file in memory. Every read is bounds-checked against
 * the file size, so a corrupt offset becomes a clear E_TRUNCATED naming the file, not a short buffer.
 * Only regular files are opened: a FIFO, socket or device is refused before it is opened (opening a
 * FIFO for reading waits for a writer forever), and the descriptor is checked again once open.
 */
import { accessSync, closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCode, fileSystemError, Tf2TorchError } from '../errors.js';
import { refusePseudoFileSystem } from './pseudo-fs.js';

/** O_NONBLOCK: should the path become a FIFO between the check and the open, open() still returns at once. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** E_IS_A_DIRECTORY / E_NOT_A_FILE for anything but a regular file (`what`: "config file", …). */
export function notARegularFile(path: string, stats: Stats, what = 'file'): Tf2TorchError {
  const code = stats.isDirectory() ? ErrorCode.IS_A_DIRECTORY : ErrorCode.NOT_A_FILE;
  return new Tf2TorchError(code, `${path} is ${kindOf(stats)}; a regular ${what} is expected here`, { file: path });
}

/**
 * The bytes of a small regular file, or undefined when nothing is at `path`. Size and kind are checked
 * before reading (E_LIMIT, E_NOT_A_FILE); other failures (permissions, …) are named fs errors.
 */
export function readSmallFileSync(path: string, maxBytes: number, what = 'file'): Buffer | undefined {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileSystemError(cause, path, `read the ${what}`);
  }
  if (!stats.isFile()) throw notARegularFile(path, stats, what);
  if (stats.size > maxBytes) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${path}: ${stats.size} bytes is too large for a ${what} (limit ${maxBytes})`,
      { file: path },
    );
  }
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (cause) {
    throw fileSystemError(cause, path, `read the ${what}`);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw notARegularFile(path, opened, what);
    const out = Buffer.alloc(Math.min(opened.size, maxBytes));
    let done = 0;
    while (done < out.length) {
      const n = readSync(fd, out, done, out.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done);
  } catch (cause) {
    throw fileSystemError(cause, path, `read the ${what}`);
  } finally {
    closeSync(fd);
  }
}

import type { ByteSource } from './byte-source.js';

/**
 * Largest single read handed to the OS. Node's fs.read takes a 32-bit length (2 GiB and more aborts
 * the process), and Linux returns at most 2 GiB - 4 KiB per call anyway; larger reads are looped.
 */
export const MAX_READ_BYTES = 2 ** 30;
/** Runs shorter than this are read synchronously: one syscall beats a thread-pool round trip. */
const SYNC_RUN_BYTES = 256 * 1024;
/**
 * Runs at most this far apart are read as one span with the bytes between them: reading 4 KiB more
 * costs about what one more read call does.
 */
const SPAN_GAP_BYTES = 4 * 1024;
/** Largest span read at once (one buffer per call). */
const SPAN_BYTES = 1024 * 1024;

/** Runs i…j-1 (at `offsets`, inside `span` which starts at file offset `start`) into their places in `target`. */
function copyRuns(
  span: Uint8Array,
  start: number,
  offsets: ArrayLike<number>,
  i: number,
  j: number,
  runLength: number,
  target: Uint8Array,
): void {
  for (let k = i; k < j; k++) {
    const from = (offsets[k] as number) - start;
    const to = k * runLength;
    if (runLength <= 16) for (let b = 0; b < runLength; b++) target[to + b] = span[from + b] as number;
    else target.set(span.subarray(from, from + runLength), to);
  }
}

/**
 * Chunk buffers of finished `reuse` streams kept for the next stream of the same chunk size, from any
 * file (a checkpoint's shards share them): a model's hundreds of tensors then read into the same few
 * buffers (no allocation, no page faults, no garbage). Two per stream, plus the next tensor's first
 * chunk read while the current one's last is written.
 */
const MAX_SPARE_CHUNKS = 3;
const spareChunks: Uint8Array[] = [];
/** Smaller chunks are allocated as they come: cheap, and a spare chunk-sized buffer would waste memory. */
const MIN_SPARE_CHUNK_BYTES = 64 * 1024;

/** The Node `ByteSource`. */
export class RandomAccessFile implements ByteSource {
  /** Per-call read limit: MAX_READ_BYTES, smaller only in tests (so that the loop runs on small files). */
  maxReadBytes = MAX_READ_BYTES;

  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    let handle: FileHandle;
    try {
      const stats = await stat(path);
      if (!stats.isFile()) throw notARegularFile(path, stats);
      handle = await open(path, READ_FLAGS);
    } catch (cause) {
      throw fileSystemError(cause, path, 'open');
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      throw notARegularFile(path, stats);
    }
    return new RandomAccessFile(path, stats.size, handle);
  }

  /** Exactly `length` bytes at `offset`, or E_TRUNCATED. */
  async readAt(offset: number, length: number, what = 'data'): Promise<Uint8Array> {
    this.checkRange(offset, length, what);
    const out = Buffer.allocUnsafe(length);
    await this.readInto(out, offset, what);
    return out;
  }

  /** Fills `target` with the bytes at `offset` (in one positioned read when the OS allows), or E_TRUNCATED. */
  async readInto(target: Uint8Array, offset: number, what = 'data'): Promise<void> {
    const length = target.byteLength;
    this.checkRange(offset, length, what);
    let done = 0;
    while (done < length) {
      const n = Math.min(length - done, this.maxReadBytes);
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(target, done, n, offset + done));
      } catch (cause) {
        throw fileSystemError(cause, this.path, `read ${what} of`);
      }
      if (bytesRead === 0) throw this.shrank(what, offset + done);
      done += bytesRead;
    }
  }

  /**
   * Fills `target` with runs of `runLength` bytes read at each of `offsets` in turn (a strided block
   * of a tensor). Short runs are read synchronously: thousands of 4 KiB reads through the thread pool
   * would cost more in round trips than in reading. Runs close together (a narrow kernel's columns)
   * are read as one span, bytes between them included, and copied out.
   */
  async readRunsInto(target: Uint8Array, offsets: ArrayLike<number>, runLength: number, what = 'data'): Promise<void> {
    if (target.byteLength !== offsets.length * runLength)
      throw new Error(`readRunsInto: ${offsets.length} runs of ${runLength} bytes do not fill ${target.byteLength}`);
    // The lowest and the highest run checked stand for all (a narrow kernel's band has a million runs).
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < offsets.length; i++) {
      const o = offsets[i] as number;
      if (!Number.isSafeInteger(o)) this.checkRange(o, runLength, what);
      if (o < lowest) lowest = o;
      if (o > highest) highest = o;
    }
    if (offsets.length > 0) {
      this.checkRange(lowest, runLength, what);
      this.checkRange(highest, runLength, what);
    }
    if (runLength >= SYNC_RUN_BYTES) {
      for (let i = 0; i < offsets.length; i++)
        await this.readInto(target.subarray(i * runLength, (i + 1) * runLength), offsets[i] as number, what);
      return;
    }
    let span: Uint8Array | undefined;
    for (let i = 0; i < offsets.length; ) {
      const start = offsets[i] as number;
      let end = start + runLength;
      let j = i + 1;
      for (; j < offsets.length; j++) {
        const next = offsets[j] as number;
        if (next < end || next - end > SPAN_GAP_BYTES || next + runLength - start > SPAN_BYTES) break;
        end = next + runLength;
      }
      if (j === i + 1) this.readSyncInto(target, i * runLength, runLength, start, what);
      else {
        span ??= Buffer.allocUnsafe(SPAN_BYTES);
        const bytes = span.subarray(0, end - start);
        if (bytes.byteLength >= SYNC_RUN_BYTES) await this.readInto(bytes, start, what);
        else this.readSyncInto(bytes, 0, bytes.byteLength, start, what);
        copyRuns(bytes, start, offsets, i, j, runLength, target);
      }
      i = j;
    }
  }

  private readSyncInto(target: Uint8Array, at: number, length: number, position: number, what: string): void {
    let done = 0;
    while (done < length) {
      const bytesRead = readSync(this.handle.fd, target, at + done, length - done, position + done);
      if (bytesRead === 0) throw this.shrank(what, position + done);
      done += bytesRead;
    }
  }

  private shrank(what: string, offset: number): Tf2TorchError {
    return new Tf2TorchError(
      ErrorCode.TRUNCATED,
      `${this.path}: file shrank while reading ${what} at offset ${offset}`,
      {
        file: this.path,
        offset,
      },
    );
  }

  /**
   * `length` bytes at `offset` in chunks of `chunkSize`, reading the next chunk while the consumer
   * handles the current one, so disk and work overlap. Stopping early is safe. Fresh buffers, unless
   * `reuse`: then two buffers alternate, and a chunk is overwritten once the consumer asked for the
   * one after next (it must be done with a chunk when it asks for the next).
   */
  async *readChunks(
    offset: number,
    length: number,
    chunkSize: number,
    what = 'data',
    reuse = false,
  ): AsyncGenerator<Uint8Array> {
    this.checkRange(offset, length, what);
    const step = Math.max(1, chunkSize);
    // With reuse, the stream's (at most two) buffers alternate, and go to the next stream at the end.
    const pooled = reuse && Math.min(step, length) >= MIN_SPARE_CHUNK_BYTES;
    const owned: Uint8Array[] = [];
    const buffer = (): Uint8Array | undefined => {
      if (!pooled) return undefined;
      const at = spareChunks.findIndex((b) => b.byteLength === step);
      const b = at >= 0 ? (spareChunks.splice(at, 1)[0] as Uint8Array) : new Uint8Array(step);
      owned.push(b);
      return b;
    };
    const readChunk = async (at: number, into: Uint8Array | undefined) => {
      const n = Math.min(step, length - at);
      if (into === undefined) return this.readAt(offset + at, n, what);
      const target = into.subarray(0, n);
      await this.readInto(target, offset + at, what);
      return target;
    };
    const start = (at: number, into: Uint8Array | undefined) => {
      const read = readChunk(at, into);
      read.catch(() => undefined); // surfaces when awaited; not an unhandled rejection meanwhile
      return read;
    };
    let next = length > 0 ? start(0, buffer()) : undefined;
    let spare: Uint8Array | undefined;
    try {
      for (let at = 0; at < length; at += step) {
        const chunk = await (next as Promise<Uint8Array>);
        next = at + step < length ? start(at + step, spare ?? buffer()) : undefined;
        yield chunk;
        // The consumer asked for the next chunk: it is done with this one.
        if (reuse && chunk.byteLength === step) spare = chunk; // a whole buffer (owned, when pooled)
      }
    } finally {
      await next?.catch(() => undefined); // let a read in flight finish before the file may be closed
      // Done (or stopped): the consumer holds none of these any more.
      for (const b of owned) if (spareChunks.length < MAX_SPARE_CHUNKS) spareChunks.push(b);
    }
  }

  private checkRange(offset: number, length: number, what: string): void {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      throw new Tf2TorchError(
        ErrorCode.TRUNCATED,
        `${this.path}: ${what} at offset ${offset} (+${length} bytes) lies beyond the end of the file (${this.size} bytes)`,
        { file: this.path, offset },
      );
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Before a long conversion: can `path` be created? Walks up to the nearest existing folder and asks the
 * OS for write access there (EACCES, EROFS), so that an unwritable output fails before any work, naming
 * the folder. A file where a folder is needed on the way is E_NOT_A_DIRECTORY; /proc and its kin are
 * refused.
 */
export function checkCanCreate(path: string): void {
  refusePseudoFileSystem(path, 'output');
  let dir = dirname(resolve(path));
  for (;;) {
    let stats: Stats | undefined;
    try {
      stats = statSync(dir);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      // absent, or under a file: the walk up finds the file and names it
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fileSystemError(cause, dir, 'write into');
    }
    if (stats !== undefined) {
      if (!stats.isDirectory())
        throw new Tf2TorchError(ErrorCode.NOT_A_DIRECTORY, `cannot write ${path}: ${dir} is a file, not a folder`, {
          file: dir,
        });
      try {
        accessSync(dir, constants.W_OK);
      } catch (cause) {
        throw fileSystemError(cause, dir, 'write into');
      }
      return;
    }
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}
