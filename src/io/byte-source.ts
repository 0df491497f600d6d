/**
 * The input seam: what parsers read (`ByteSource`: a size and positioned reads) and where they find
 * files (`FileTree`: a checkpoint prefix, its shards, the config and vocab beside it). Node implements
 * both over the file system (`node-platform.ts`), a browser over the files the user picked.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';

/** Random access to one file's bytes; never the whole file in memory. */
export interface ByteSource {
  /** The path as messages show it. */
  readonly path: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`, or E_TRUNCATED. */
  readAt(offset: number, length: number, what?: string): Promise<Uint8Array>;
  /** Fills `target` with the bytes at `offset`, or E_TRUNCATED. */
  readInto(target: Uint8Array, offset: number, what?: string): Promise<void>;
  /**
   * Where a source can do it off this thread: `readInto`, resolving to the CRC-32C of the bytes now in
   * `target`, computed where they were copied (a remote source's range thread), not here.
   */
  readIntoWithCrc?(target: Uint8Array, offset: number, what?: string): Promise<number>;
  /** Runs of `runLength` bytes at each of `offsets`, one after another into `target`. */
  readRunsInto(target: Uint8Array, offsets: ArrayLike<number>, runLength: number, what?: string): Promise<void>;
  /**
   * `length` bytes at `offset` in chunks of `chunkSize`, the next read overlapping the consumer's work.
   * With `reuse`, a chunk may be overwritten once the consumer asks for the one after next. With
   * `'borrow'`, the consumer promises to be done with a chunk when it asks for the next and never to
   * write into one: a source may then lend views of memory of its own (a remote source's bytes fetched
   * ahead) instead of copying.
   */
  readChunks(
    offset: number,
    length: number,
    chunkSize: number,
    what?: string,
    reuse?: boolean | 'borrow',
  ): AsyncGenerator<Uint8Array>;
  close(): Promise<void>;
}

export interface FileStat {
  readonly kind: 'file' | 'directory' | 'other';
  readonly size: number;
}

/** Path arithmetic of a tree (Node's `path` module is one; the browser's picked files use '/'). */
export interface PathSyntax {
  readonly sep: string;
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string, suffix?: string): string;
  extname(path: string): string;
  isAbsolute(path: string): boolean;
  resolve(...parts: string[]): string;
}

/**
 * The files an opener may look at. Metadata and small texts are synchronous (an in-memory listing in a
 * browser; FileReaderSync in a worker); tensor bytes come through `open`.
 */
export interface FileTree {
  readonly paths: PathSyntax;
  /** undefined when nothing is at `path`. */
  stat(path: string): FileStat | undefined;
  /** Names in a directory (unsorted); [] when it is not one. */
  list(dir: string): string[];
  /** Whole text of a small file (callers bound the size through `stat` first). */
  readText(path: string): string;
  open(path: string): Promise<ByteSource>;
}

export function isFile(tree: FileTree, path: string): boolean {
  return tree.stat(path)?.kind === 'file';
}

export function isDirectory(tree: FileTree, path: string): boolean {
  return tree.stat(path)?.kind === 'directory';
}

/** E_TRUNCATED unless [offset, offset + length) lies inside a source of `size` bytes. */
export function checkRange(path: string, size: number, offset: number, length: number, what: string): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new Tf2TorchError(
      ErrorCode.TRUNCATED,
      `${path}: ${what} at offset ${offset} (+${length} bytes) lies beyond the end of the file (${size} bytes)`,
      { file: path, offset },
    );
  }
}

/** `readChunks` over any `readAt`: the next chunk is read while the consumer handles the current one. */
export async function* readChunksOf(
  source: Pick<ByteSource, 'path' | 'size' | 'readAt'>,
  offset: number,
  length: number,
  chunkSize: number,
  what = 'data',
): AsyncGenerator<Uint8Array> {
  checkRange(source.path, source.size, offset, length, what);
  const step = Math.max(1, chunkSize);
  const readChunk = (at: number) => {
    const read = source.readAt(offset + at, Math.min(step, length - at), what);
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
    await next?.catch(() => undefined); // let a read in flight finish before the source may be closed
  }
}

/**
 * A `ByteSource` whose reads all go through `readAt` (a Blob, bytes in memory): the rest derived from it.
 * Chunks are fresh always (which also satisfies a caller asking for reuse).
 */
export abstract class ReadAtSource implements ByteSource {
  abstract readonly path: string;
  abstract readonly size: number;
  abstract readAt(offset: number, length: number, what?: string): Promise<Uint8Array>;

  async readInto(target: Uint8Array, offset: number, what = 'data'): Promise<void> {
    target.set(await this.readAt(offset, target.byteLength, what));
  }

  async readRunsInto(target: Uint8Array, offsets: ArrayLike<number>, runLength: number, what = 'data'): Promise<void> {
    for (let i = 0; i < offsets.length; i++)
      await this.readInto(target.subarray(i * runLength, (i + 1) * runLength), offsets[i] as number, what);
  }

  readChunks(offset: number, length: number, chunkSize: number, what = 'data'): AsyncGenerator<Uint8Array> {
    return readChunksOf(this, offset, length, chunkSize, what);
  }

  async close(): Promise<void> {}
}
