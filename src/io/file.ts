/**
 * Positioned reads from a file, never the whole file in memory. Every read is bounds-checked against
 * the file size, so a corrupt offset becomes a clear E_TRUNCATED naming the file, not a short buffer.
 */
import { readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { ErrorCode, Tf2TorchError } from '../errors.js';

/**
 * Largest single read handed to the OS. Node's fs.read takes a 32-bit length (2 GiB and more aborts
 * the process), and Linux returns at most 2 GiB - 4 KiB per call anyway; larger reads are looped.
 */
export const MAX_READ_BYTES = 2 ** 30;
/** Runs shorter than this are read synchronously: one syscall beats a thread-pool round trip. */
const SYNC_RUN_BYTES = 256 * 1024;

export class RandomAccessFile {
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
      handle = await open(path, 'r');
    } catch (cause) {
      throw new Tf2TorchError(ErrorCode.NOT_FOUND, `cannot open ${path}: ${(cause as Error).message}`, {
        file: path,
        cause,
      });
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      // open() succeeds on a directory; its first read would fail with a bare EISDIR
      await handle.close();
      const what = stats.isDirectory() ? 'a directory' : 'not a regular file';
      throw new Tf2TorchError(ErrorCode.NOT_FOUND, `${path} is ${what}; a file is expected here`, { file: path });
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
      const { bytesRead } = await this.handle.read(target, done, n, offset + done);
      if (bytesRead === 0) throw this.shrank(what, offset + done);
      done += bytesRead;
    }
  }

  /**
   * Fills `target` with runs of `runLength` bytes read at each of `offsets` in turn (a strided block
   * of a tensor). Short runs are read synchronously: thousands of 4 KiB reads through the thread pool
   * would cost more in round trips than in reading.
   */
  async readRunsInto(target: Uint8Array, offsets: ArrayLike<number>, runLength: number, what = 'data'): Promise<void> {
    if (target.byteLength !== offsets.length * runLength)
      throw new Error(`readRunsInto: ${offsets.length} runs of ${runLength} bytes do not fill ${target.byteLength}`);
    for (let i = 0; i < offsets.length; i++) this.checkRange(offsets[i] as number, runLength, what);
    if (runLength >= SYNC_RUN_BYTES) {
      for (let i = 0; i < offsets.length; i++)
        await this.readInto(target.subarray(i * runLength, (i + 1) * runLength), offsets[i] as number, what);
      return;
    }
    const fd = this.handle.fd;
    for (let i = 0; i < offsets.length; i++) {
      const start = offsets[i] as number;
      let done = 0;
      while (done < runLength) {
        const bytesRead = readSync(fd, target, i * runLength + done, runLength - done, start + done);
        if (bytesRead === 0) throw this.shrank(what, start + done);
        done += bytesRead;
      }
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
    const readChunk = async (at: number, spare: Uint8Array | undefined) => {
      const n = Math.min(step, length - at);
      if (spare === undefined) return this.readAt(offset + at, n, what);
      const target = spare.subarray(0, n);
      await this.readInto(target, offset + at, what);
      return target;
    };
    const start = (at: number, spare: Uint8Array | undefined) => {
      const read = readChunk(at, spare);
      read.catch(() => undefined); // surfaces when awaited; not an unhandled rejection meanwhile
      return read;
    };
    let next = length > 0 ? start(0, undefined) : undefined;
    let spare: Uint8Array | undefined;
    try {
      for (let at = 0; at < length; at += step) {
        const chunk = await (next as Promise<Uint8Array>);
        next = at + step < length ? start(at + step, spare) : undefined;
        yield chunk;
        // The consumer asked for the next chunk: it is done with this one.
        if (reuse && chunk.byteLength === step) spare = chunk;
      }
    } finally {
      await next?.catch(() => undefined); // let a read in flight finish before the file may be closed
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
