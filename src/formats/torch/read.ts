/**
 * Opens a torch.save file — the zip container (torch >= 1.6) or the legacy pickle stream — through
 * the safe unpickler. Tensors come back as lazy handles over the file; `root` is the whole unpickled
 * object (a state dict, or a checkpoint dict with 'model', 'params', ...) with tensors in place.
 */

import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { ByteSource, FileTree } from '../../io/byte-source.js';
import { latin1Text, utf8Text } from '../../io/text.js';
import { DTYPES, type TensorRef } from '../../tensor.js';
import type { TensorRole, TensorSource } from '../source.js';
import { globalName, type InertRecord, POLICIES, TORCH_STORAGE_DTYPES } from './allow-list.js';
import { readLegacyTorch } from './legacy.js';
import { StorageTensor, TorchStorage } from './storage-tensor.js';
import { unpickle } from './unpickler.js';
import { ZipArchive } from './zip-reader.js';

/** data.pkl of a state dict is kilobytes to megabytes; bounds the one record read whole. */
const MAX_DATA_PKL_BYTES = 1 << 30;

export interface TorchFile extends TensorSource {
  /** The unpickled object; tensors inside it are the same TensorRefs as in `tensors`. */
  readonly root: unknown;
}

export interface TorchOpenOptions {
  /**
   * 'weights' (default): state dicts only, like torch.load(weights_only=True). 'checkpoint': numpy and
   * inert objects too, and Python floats as PyFloat (so that 1.0 is not the int 1).
   */
  policy?: 'weights' | 'checkpoint';
  /** Verify zip CRCs (default true). */
  verify?: boolean;
  /** Where `path` is read (default: the platform's file system). */
  files?: FileTree;
}

export type TorchContainer = 'torch-zip' | 'torch-legacy';

/** Which torch container the first bytes announce, if any. */
export function sniffTorch(head: Uint8Array): TorchContainer | undefined {
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'torch-zip';
  if (head[0] === 0x80 && head[1] !== undefined && head[1] >= 2 && head[1] <= 5) return 'torch-legacy';
  return undefined;
}

export async function openTorchFile(path: string, options: TorchOpenOptions = {}): Promise<TorchFile> {
  const policy = POLICIES[options.policy ?? 'weights'];
  const file = await (options.files ?? defaultFiles).open(path);
  try {
    const head = await file.readAt(0, Math.min(file.size, 512), 'file header');
    const container = sniffTorch(head);
    let root: unknown;
    const notes: string[] = [];
    if (container === 'torch-zip') {
      root = await readZipRoot(file, policy, options.verify ?? true);
    } else if (container === 'torch-legacy') {
      const legacy = await readLegacyTorch(file, policy);
      root = legacy.root;
      const devices = [...legacy.locations].filter((l) => l !== 'cpu');
      if (devices.length > 0) notes.push(`storages saved on ${devices.join(', ')} are read to CPU`);
    } else if (latin1Text(head.subarray(257, 262)) === 'ustar') {
      throw new Tf2TorchError(
        ErrorCode.UNSUPPORTED,
        `${path}: a tar-based torch file (torch <= 0.1.x); re-save it with a newer torch`,
        { file: path },
      );
    } else {
      throw new Tf2TorchError(
        ErrorCode.BAD_MAGIC,
        `${path}: neither a torch zip file (PK\\x03\\x04) nor a legacy torch pickle (\\x80)`,
        { file: path },
      );
    }
    const tensors = nameTensors(root);
    return {
      path,
      format: container,
      tensors,
      notes,
      root,
      roleOf: (name: string): TensorRole => (/^(optimizer|optim)\b/.test(name) ? 'optimizer' : 'weight'),
      close: () => file.close(),
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

async function readZipRoot(
  file: ByteSource,
  policy: (typeof POLICIES)[keyof typeof POLICIES],
  verify: boolean,
): Promise<unknown> {
  const zip = await ZipArchive.open(file, { verify });
  const first = zip.entries[0];
  const prefix = first?.name.split('/')[0] ?? '';
  if (!first?.name.includes('/') || zip.entries.some((e) => !e.name.startsWith(`${prefix}/`))) {
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${file.path}: zip entries do not share one archive folder, as torch.save writes them`,
      { file: file.path },
    );
  }
  const pickleEntry = zip.find(`${prefix}/data.pkl`);
  if (!pickleEntry)
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${file.path}: no ${prefix}/data.pkl record (a TorchScript archive or another zip?)`,
      { file: file.path },
    );
  if (pickleEntry.size > MAX_DATA_PKL_BYTES)
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${file.path}: data.pkl of ${pickleEntry.size} bytes exceeds ${MAX_DATA_PKL_BYTES}`,
      { file: file.path },
    );
  const byteOrder = zip.find(`${prefix}/byteorder`);
  if (byteOrder && utf8Text(await zip.read(byteOrder)) !== 'little') {
    throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `${file.path}: big-endian storages`, { file: file.path });
  }
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): TorchStorage => {
    const fail = (why: string): never => {
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${file.path}: persistent id ${why}`, { file: file.path });
    };
    if (!Array.isArray(pid) || pid[0] !== 'storage') return fail('is not a storage tuple');
    const [, type, key, location, numel] = pid as unknown[];
    const dtype = TORCH_STORAGE_DTYPES[globalName(type) ?? ''];
    if (!dtype) return fail(`names storage type ${globalName(type) ?? String(type)}`);
    if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0)
      return fail(`has key ${String(key)}, numel ${String(numel)}`);
    const known = storages.get(key);
    if (known) return known;
    const entry = zip.find(`${prefix}/data/${key}`);
    if (!entry) return fail(`refers to missing record ${prefix}/data/${key}`);
    if (entry.size < numel * DTYPES[dtype].itemSize)
      fail(`${key}: record holds ${entry.size} bytes, fewer than ${numel} × ${dtype}`);
    const storage = new TorchStorage(key, dtype, numel, String(location), zip.storageBytes(entry));
    storages.set(key, storage);
    return storage;
  };
  return unpickle(await zip.read(pickleEntry), {
    policy,
    file: file.path,
    persistentLoad,
    context: { rebuildTensor: (s, o, size, stride) => StorageTensor.fromPickle(s, o, size, stride, file.path) },
  }).value;
}

/**
 * Gives every tensor in `root` the dotted path of its first occurrence; lists every path. Depth first
 * with an explicit stack: a pickle may nest lists 200k deep, which recursion would not survive.
 */
function nameTensors(root: unknown): TensorRef[] {
  const out: TensorRef[] = [];
  const seen = new Set<unknown>();
  const pending: [unknown, string][] = [[root, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (value instanceof StorageTensor) {
      if (value.name === '') value.name = path;
      out.push(value.name === path ? value : renamed(value, path));
      continue;
    }
    if (value === null || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    const join = (k: unknown) => (path === '' ? String(k) : `${path}.${String(k)}`);
    const children: [unknown, string][] = [];
    if (value instanceof Map) for (const [k, v] of value) children.push([v, join(k)]);
    else if (Array.isArray(value)) for (const [i, v] of value.entries()) children.push([v, join(i)]);
    else if ('__class__' in value) {
      const record = value as InertRecord;
      children.push([record.state, join('state')], [record.items, join('items')]);
    }
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]!); // visited in order
  }
  return out;
}

/** The same tensor under another key: its view goes with it, so the two keys stay one tensor. */
function renamed(t: StorageTensor, name: string): TensorRef {
  return {
    name,
    dtype: t.dtype,
    shape: t.shape,
    byteLength: t.byteLength,
    view: t.view,
    read: () => t.read(),
    stream: (c) => t.stream(c),
  };
}
