/**
 * Node's implementations of the byte seams: the file system as a `FileTree` (positioned reads through
 * `RandomAccessFile`) and as an `OutputTree` (temporary file renamed into place). Selected by the
 * package's `#platform` import when running under Node; browsers get `no-platform.ts` instead.
 */
import { constants as bufferConstants } from 'node:buffer';
import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileSystemError } from '../errors.js';
import { writeFileAtomically } from './atomic.js';
import type { ByteSink, OutputTree } from './byte-sink.js';
import type { FileStat, FileTree } from './byte-source.js';
import { notARegularFile, RandomAccessFile, readSmallFileSync } from './file.js';
import { fileSink } from './file-sink.js';
import type { HttpTransport } from './http-transport.js';
import { nodeHttpTransport } from './node-http.js';
import { rawHttpTransport } from './node-raw-http.js';
import { refusePseudoFileSystem } from './pseudo-fs.js';
import type { RangeThreadHandle, RangeThreadOptions } from './range-messages.js';
import { RangeThread } from './range-thread.js';
import { strictUtf8Text } from './text.js';

/** The largest byte array this runtime allocates (Buffer's limit: 4 GiB on 64-bit Node 20). */
export const MAX_BYTE_ARRAY_LENGTH = bufferConstants.MAX_LENGTH;

type NativeCrc32 = (data: Uint8Array, value?: number) => number;

/**
 * The optional `@node-rs/crc32` package (CRC-32 and CRC-32C), required once: a CommonJS package, which
 * `import()` would parse again to find its exports (some milliseconds at every conversion's start).
 */
const optionalCrcs: { crc32?: NativeCrc32; crc32c?: NativeCrc32 } = (() => {
  try {
    return createRequire(import.meta.url)('@node-rs/crc32') as { crc32?: NativeCrc32; crc32c?: NativeCrc32 };
  } catch {
    return {}; // not installed (optional dependency) or no build for this platform
  }
})();

/** CRC-32: the optional `@node-rs/crc32`, else zlib's (Node >= 20.15), else undefined (the table serves). */
export const nativeCrc32: NativeCrc32 | undefined =
  typeof optionalCrcs.crc32 === 'function' ? optionalCrcs.crc32 : (zlib as unknown as { crc32?: NativeCrc32 }).crc32;

/** The optional `@node-rs/crc32` package's CRC-32C, when installed with a binary for this machine. */
export async function loadNativeCrc32c(): Promise<((bytes: Uint8Array, crc?: number) => number) | undefined> {
  return typeof optionalCrcs.crc32c === 'function' ? optionalCrcs.crc32c : undefined;
}

/** Raw DEFLATE (zip method 8), bounded by `maxOutputLength`. */
export function inflateRaw(data: Uint8Array, maxOutputLength: number): Uint8Array {
  return zlib.inflateRawSync(data, { maxOutputLength });
}

export const defaultFiles: FileTree = {
  paths: path,
  stat(p: string): FileStat | undefined {
    try {
      const s = statSync(p);
      return { kind: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other', size: s.size };
    } catch {
      return undefined;
    }
  },
  list(dir: string): string[] {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  readText: (p: string) => strictUtf8Text(readFileSync(p), p),
  open: (p: string) => RandomAccessFile.open(p),
};

/** Runs `write` on a file sink of `handle`, every write it started finished before it returns or throws. */
async function writeThroughSink<T>(handle: FileHandle, write: (sink: ByteSink) => Promise<T>): Promise<T> {
  const sink = fileSink(handle);
  let result: T;
  try {
    result = await write(sink);
  } catch (error) {
    await sink.drain().catch(() => undefined); // the first error is the one to report
    throw error;
  }
  await sink.drain();
  return result;
}

/** A small regular file's UTF-8 text (invalid UTF-8 refused), or undefined when absent (kind and size checked before reading). */
export function readSmallTextFile(target: string, maxBytes: number, what: string): string | undefined {
  const bytes = readSmallFileSync(target, maxBytes, what);
  return bytes === undefined ? undefined : strictUtf8Text(bytes, target);
}

export const defaultOutputs: OutputTree = {
  paths: path,
  writeFile: (p, write) => writeFileAtomically(p, (handle) => writeThroughSink(handle, write)),
  remove: (p) => rm(p, { force: true }),
};

/**
 * What the openers' detection would mistake for "nothing here": a FIFO or device (refused before any
 * open, which could wait forever), a folder we may not list, a symlink loop; anything on /proc or /sys.
 */
export async function checkReadablePath(target: string): Promise<void> {
  refusePseudoFileSystem(target, 'checkpoint');
  let stats: Stats;
  try {
    stats = await stat(target);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // a prefix (model.ckpt) is not a file itself
    throw fileSystemError(cause, target, 'open');
  }
  if (stats.isDirectory()) {
    try {
      await readdir(target);
    } catch (cause) {
      throw fileSystemError(cause, target, 'list the folder');
    }
  } else if (!stats.isFile()) {
    throw notARegularFile(target, stats, 'checkpoint file or folder');
  }
}

/**
 * Remote reads: plain HTTP through sockets reading into reusable buffers, HTTPS (and what those do not
 * read) through `node:http`/`node:https`; undici's `fetch` costs the main thread twice the CPU.
 */
export const httpTransport: HttpTransport = rawHttpTransport(nodeHttpTransport);

/** Ranged reads into shared memory in a worker thread (io/range-thread.ts), or undefined when none starts. */
export function startRangeThread(options: RangeThreadOptions): RangeThreadHandle | undefined {
  return RangeThread.start(options);
}
