/**
 * Positioned reads from a file, never the whole file in memory. Every read is bounds-checked against
 * the file size, so a corrupt offset becomes a clear E_TRUNCATED naming the file, not a short buffer.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { ErrorCode, Tf2TorchError } from '../errors.js';

export class RandomAccessFile {
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
      const { bytesRead } = await this.handle.read(target, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new Tf2TorchError(
          ErrorCode.TRUNCATED,
          `${this.path}: file shrank while reading ${what} at offset ${offset + done}`,
          {
            file: this.path,
            offset: offset + done,
          },
        );
      }
      done += bytesRead;
    }
  }

  /**
   * `length` bytes at `offset` in chunks of `chunkSize` (fresh buffers), reading the next chunk while
   * the consumer handles the current one, so disk and work overlap. Stopping early is safe.
   */
  async *readChunks(offset: number, length: number, chunkSize: number, what = 'data'): AsyncGenerator<Uint8Array> {
    this.checkRange(offset, length, what);
    const step = Math.max(1, chunkSize);
    const readChunk = (at: number) => {
      const read = this.readAt(offset + at, Math.min(step, length - at), what);
      read.catch(() => undefined); // surfaces when awaited; not an unhandled rejection meanwhile
      return read;
    };
    let next = length > 0 ? readChunk(0) : undefined;
    try {
      for (let at = 0; at < length; at += step) {
        const chunk = await (next as Promise<Uint8Array>);
        next = at + step < length ? readChunk(at + step) : undefined;
        yield chunk;
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
