/**
 * The legacy (pre-1.6, `_use_new_zipfile_serialization=False`) torch.save layout, used by original
 * XLM checkpoints:
 *
 *   pickle: magic number 0x1950a86a20f9469cfc6c
 *   pickle: protocol version 1001
 *   pickle: sys_info {'protocol_version', 'little_endian', 'type_sizes'}
 *   pickle: the object; storages are persistent ids ('storage', cls, key, location, numel, view)
 *   pickle: sorted list of storage keys
 *   per key in that order: int64 LE element count, then count × itemsize raw bytes
 *
 * CUDA locations are read to CPU: the bytes are the same.
 */

import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { DTYPES } from '../../tensor.js';
import { globalName, type PicklePolicy, TORCH_STORAGE_DTYPES } from './allow-list.js';
import { type StorageBytes, StorageTensor, TorchStorage } from './storage-tensor.js';
import { unpickle } from './unpickler.js';

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** The pickles precede the raw storages; they hold vocabularies and parameters, not tensors. */
const MAX_PICKLES_BYTES = 1 << 30;
const FIRST_WINDOW_BYTES = 16 * 1024 * 1024;
/** Distinct storages in one file. */
const MAX_STORAGES = 1_000_000;

export interface LegacyContents {
  root: unknown;
  locations: Set<string>;
}

type Fail = (code: ErrorCode, message: string, offset?: number) => never;

/** A root storage, its bytes placed once the key list after the pickles is read. */
interface RootStorage {
  readonly dtype: TorchStorage['dtype'];
  readonly numel: number;
  readonly location: string;
  readonly bytes: LazyBytes;
}

export async function readLegacyTorch(file: ByteSource, policy: PicklePolicy): Promise<LegacyContents> {
  const fail: Fail = (code, message, offset) => {
    throw new Tf2TorchError(code, `${file.path}: legacy torch file: ${message}`, { file: file.path, offset });
  };
  // The pickles' total length is unknown until parsed: parse a window, grow it if a pickle runs out.
  for (let window = Math.min(file.size, FIRST_WINDOW_BYTES); ; window = Math.min(file.size, window * 4)) {
    const bytes = await file.readAt(0, window, 'legacy pickles');
    try {
      return await parseLegacy(file, policy, bytes, fail);
    } catch (error) {
      const truncated =
        error instanceof Tf2TorchError &&
        error.code === ErrorCode.TRUNCATED &&
        error.file === file.path &&
        error.message.includes('pickle at');
      if (!truncated || window >= file.size) throw error;
      if (window >= MAX_PICKLES_BYTES) fail(ErrorCode.LIMIT, `pickled objects longer than ${MAX_PICKLES_BYTES} bytes`);
    }
  }
}

/** The five pickles of `bytes` (magic, protocol, sys_info, the object, the key list), then the storages placed. */
async function parseLegacy(
  file: ByteSource,
  policy: PicklePolicy,
  bytes: Uint8Array,
  fail: Fail,
): Promise<LegacyContents> {
  const plain = {
    policy,
    file: file.path,
    context: { rebuildTensor: () => fail(ErrorCode.MALFORMED, 'tensor outside the object pickle') },
  };
  const magic = unpickle(bytes, plain, 0);
  if (BigInt(magic.value as number | bigint) !== LEGACY_MAGIC)
    fail(ErrorCode.BAD_MAGIC, 'first pickle is not the torch magic number');
  const protocol = unpickle(bytes, plain, magic.end);
  if (protocol.value !== 1001)
    fail(ErrorCode.UNSUPPORTED, `protocol version ${String(protocol.value)} (1001 expected)`);
  const sysInfo = unpickle(bytes, plain, protocol.end);
  if (!(sysInfo.value instanceof Map) || sysInfo.value.get('little_endian') !== true)
    fail(ErrorCode.UNSUPPORTED, 'big-endian or missing sys_info');

  const roots = new Map<string, RootStorage>();
  const locations = new Set<string>();
  const object = unpickle(
    bytes,
    {
      policy,
      file: file.path,
      persistentLoad: storageLoader(file, roots, locations, fail),
      context: { rebuildTensor: (s, o, size, stride) => StorageTensor.fromPickle(s, o, size, stride, file.path) },
    },
    sysInfo.end,
  );
  const keyList = unpickle(bytes, plain, object.end);
  if (!Array.isArray(keyList.value) || !keyList.value.every((k) => typeof k === 'string'))
    fail(ErrorCode.MALFORMED, 'storage key list is not a list of strings');
  await placeStorages(file, keyList.value as string[], keyList.end, roots, fail);
  return { root: object.value, locations };
}

/**
 * The object pickle's persistent ids → storages: each root storage once (in `roots`), views of them by
 * their own keys; the locations seen are collected.
 */
function storageLoader(
  file: ByteSource,
  roots: Map<string, RootStorage>,
  locations: Set<string>,
  fail: Fail,
): (pid: unknown) => TorchStorage {
  const views = new Map<string, TorchStorage>();
  return (pid) => {
    if (!Array.isArray(pid) || pid[0] !== 'storage')
      return fail(
        ErrorCode.PICKLE_FORBIDDEN,
        `persistent id ${JSON.stringify(String(Array.isArray(pid) ? pid[0] : pid))} is not a storage (pickled modules and other objects are refused)`,
      );
    const [, type, key, location, numel, view] = pid as unknown[];
    const dtype = TORCH_STORAGE_DTYPES[globalName(type) ?? ''];
    if (!dtype || typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
      return fail(
        ErrorCode.MALFORMED,
        `storage persistent id ${String(key)} has type ${globalName(type) ?? '?'} and numel ${String(numel)}`,
      );
    }
    locations.add(String(location));
    let root = roots.get(key);
    if (!root) {
      if (roots.size >= MAX_STORAGES) fail(ErrorCode.LIMIT, `more than ${MAX_STORAGES} storages`);
      root = { dtype, numel, location: String(location), bytes: new LazyBytes(file, key) };
      roots.set(key, root);
    }
    if (view === null || view === undefined) return new TorchStorage(key, dtype, root.numel, root.location, root.bytes);
    const [viewKey, offset, size] = (Array.isArray(view) ? view : []) as unknown[];
    const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    if (
      !Array.isArray(view) ||
      view.length !== 3 ||
      typeof viewKey !== 'string' ||
      !isCount(offset) ||
      !isCount(size)
    ) {
      return fail(ErrorCode.MALFORMED, `storage ${key}: view metadata is not (view key, offset, size)`);
    }
    const existing = views.get(viewKey);
    if (existing) return existing;
    if (offset + size > root.numel) fail(ErrorCode.MALFORMED, `storage view ${viewKey} exceeds storage ${key}`);
    const storage = new TorchStorage(viewKey, dtype, size, root.location, root.bytes, offset, key);
    views.set(viewKey, storage);
    return storage;
  };
}

/** Element counts read at once (each a separate read: over a network, their waits overlap). */
const COUNT_READS_AT_ONCE = 16;

/**
 * After the pickles, per listed key: its element count (checked against the pickle), then its bytes.
 * Where each count lies follows from the pickle's sizes, so the counts are read ahead, several at once,
 * and checked in order (the first bad one reported, as read one by one).
 */
async function placeStorages(
  file: ByteSource,
  keys: readonly string[],
  start: number,
  roots: ReadonlyMap<string, RootStorage>,
  fail: Fail,
): Promise<void> {
  const counts: Promise<Uint8Array>[] = [];
  let ahead = start;
  const readAhead = (upTo: number) => {
    while (counts.length < Math.min(upTo, keys.length)) {
      const key = keys[counts.length] as string;
      const root = roots.get(key);
      const read =
        root === undefined
          ? Promise.resolve(new Uint8Array(8))
          : file.readAt(ahead, 8, `element count of storage ${key}`);
      read.catch(() => undefined); // reported in order below
      counts.push(read);
      if (root === undefined) break;
      ahead += 8 + root.numel * DTYPES[root.dtype].itemSize;
    }
  };
  let at = start;
  for (const [i, key] of keys.entries()) {
    const root = roots.get(key);
    if (!root) return fail(ErrorCode.MALFORMED, `storage ${key} is listed but no tensor uses it`);
    readAhead(i + COUNT_READS_AT_ONCE);
    const countBytes = await (counts[i] as Promise<Uint8Array>);
    const count = new DataView(countBytes.buffer, countBytes.byteOffset, 8).getBigInt64(0, true);
    if (count !== BigInt(root.numel))
      fail(ErrorCode.MALFORMED, `storage ${key} holds ${count} elements, the pickle says ${root.numel}`, at);
    const byteLength = root.numel * DTYPES[root.dtype].itemSize;
    root.bytes.place(at + 8, byteLength);
    at += 8 + byteLength;
  }
  for (const [key, root] of roots)
    if (!root.bytes.placed) fail(ErrorCode.MALFORMED, `storage ${key} is used but missing from the key list`);
}

/** A storage region whose position is known only after the key list is read. */
class LazyBytes implements StorageBytes {
  private start = -1;
  byteLength = 0;

  constructor(
    private readonly file: ByteSource,
    private readonly key: string,
  ) {}

  get placed(): boolean {
    return this.start >= 0;
  }

  place(start: number, byteLength: number): void {
    this.start = start;
    this.byteLength = byteLength;
    if (start + byteLength > this.file.size) {
      throw new Tf2TorchError(
        ErrorCode.TRUNCATED,
        `${this.file.path}: storage ${this.key} (${byteLength} bytes at ${start}) lies beyond the end of the file`,
        { file: this.file.path, offset: start },
      );
    }
  }

  readRange(start: number, length: number): Promise<Uint8Array> {
    return this.file.readAt(this.start + start, length, `storage ${this.key}`);
  }

  /** Its bytes and the element count before them: the storages of a file, one after the other, adjoin. */
  fileRange(): { offset: number; length: number } | undefined {
    return this.placed ? { offset: this.start - 8, length: this.byteLength + 8 } : undefined;
  }

  async *streamRange(start: number, length: number, chunkSize: number): AsyncIterable<Uint8Array> {
    for (let at = 0; at < length; at += chunkSize) yield this.readRange(start + at, Math.min(chunkSize, length - at));
  }
}
