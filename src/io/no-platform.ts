/**
 * The `#platform` of runtimes without a file system (browsers): no default tree, so every caller passes
 * its own `files` / `outputs` (the picked files, a File System Access folder).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { OutputTree } from './byte-sink.js';
import type { FileTree } from './byte-source.js';
import { fetchTransport, type HttpTransport } from './http-transport.js';
import type { RangeThreadHandle, RangeThreadOptions } from './range-messages.js';

/** Typed arrays of browsers' engines reach at least 4 GiB; larger requests are refused before allocating. */
export const MAX_BYTE_ARRAY_LENGTH = 2 ** 32;

/** No native CRCs here: the portable tables serve. */
export const nativeCrc32: ((data: Uint8Array, value?: number) => number) | undefined = undefined;

export async function loadNativeCrc32c(): Promise<((bytes: Uint8Array, crc?: number) => number) | undefined> {
  return undefined;
}

/** Synchronous raw DEFLATE is not available here; torch.save writes STORED records, which need none. */
export function inflateRaw(_data: Uint8Array, _maxOutputLength: number): Uint8Array {
  throw new Tf2TorchError(
    ErrorCode.UNSUPPORTED,
    'this zip record is DEFLATE-compressed, which this runtime cannot inflate (convert it with the command line)',
  );
}

/** Picked files are regular files by construction: nothing to refuse before detection. */
export async function checkReadablePath(_path: string): Promise<void> {}

export function readSmallTextFile(_path: string, _maxBytes: number, _what: string): string | undefined {
  missing();
}

function missing(): never {
  throw new Error('no file system in this runtime: pass `files` / `outputs` explicitly');
}

const posixOnlyMissing = {
  sep: '/',
  join: missing,
  dirname: missing,
  basename: missing,
  extname: missing,
  isAbsolute: missing,
  resolve: missing,
};

export const defaultFiles: FileTree = {
  paths: posixOnlyMissing,
  stat: missing,
  list: missing,
  readText: missing,
  open: missing,
};

export const defaultOutputs: OutputTree = { paths: posixOnlyMissing, writeFile: missing, remove: missing };

/** Remote reads through the global `fetch` (cross-origin reads need the server's CORS headers). */
export const httpTransport: HttpTransport = fetchTransport;

/** No range thread here: ranges are read in this thread. */
export function startRangeThread(_options: RangeThreadOptions): RangeThreadHandle | undefined {
  return undefined;
}
