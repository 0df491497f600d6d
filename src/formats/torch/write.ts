/**
 * `pytorch_model.bin` exactly as `torch.save(state_dict, path)` (torch >= 1.6) writes it:
 *
 *   <archive>/data.pkl     protocol-2 pickle: OrderedDict of _rebuild_tensor_v2(persistent storage, ...)
 *   <archive>/byteorder    "little"
 *   <archive>/data/0 ...   one raw little-endian storage per distinct tensor (aliases share one)
 *   <archive>/version      "3\n"
 *
 * The archive folder is the file name without its extension, as torch names it. Output is atomic.
 */
import { defaultOutputs } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { OutputTree } from '../../io/byte-sink.js';
import { DEFAULT_CHUNK_BYTES, DTYPES, numElements, type TensorRef } from '../../tensor.js';
import type { ProgressCallback, StateDictEntry, StridedStorage } from '../state-dict.js';
import { type PickledTensor, pickleStateDict } from './pickle-writer.js';
import { ZipWriter } from './zip-writer.js';

export interface TorchWriteOptions {
  /** Called with the cumulative count of tensor bytes written. */
  onProgress?: ProgressCallback;
  /** Write zip64 records even for small files (tests; archives > 4 GiB get them anyway). */
  forceZip64?: boolean;
  /** torch.save of a `state_dict()` pickles an OrderedDict; 'dict' for plain dicts. */
  container?: 'OrderedDict' | 'dict';
  /** Where the file is created (default: the platform's file system, atomically). */
  outputs?: OutputTree;
}

export interface ResolvedStateDict {
  /** The distinct tensors (storages), in first-appearance order. */
  readonly storages: readonly TensorRef[];
  /** Per storage, the strided form its entry offers (torch files write it), if any. */
  readonly strided: readonly (StridedStorage | undefined)[];
  /** Every key, in order, with the index of its storage. */
  readonly keys: readonly { key: string; storage: number }[];
}

/** Checks keys are unique and aliases point to earlier keys; aliases of aliases resolve to the source. */
export function resolveStateDict(entries: readonly StateDictEntry[], file?: string): ResolvedStateDict {
  const storageOf = new Map<string, number>();
  const storages: TensorRef[] = [];
  const strided: (StridedStorage | undefined)[] = [];
  const keys: { key: string; storage: number }[] = [];
  for (const e of entries) {
    if (storageOf.has(e.key)) {
      throw new Tf2TorchError(ErrorCode.PLAN, `state dict has the key ${e.key} twice`, { file, tensor: e.key });
    }
    let storage: number;
    if (!('tensor' in e)) {
      const source = storageOf.get(e.aliasOf);
      if (source === undefined) {
        throw new Tf2TorchError(
          ErrorCode.PLAN,
          `${e.key} is an alias of ${e.aliasOf}, which is not an earlier key of the state dict`,
          { file, tensor: e.key },
        );
      }
      storage = source;
    } else {
      const t = e.tensor;
      const info = DTYPES[t.dtype];
      if (info.itemSize === 0 || t.byteLength !== numElements(t.shape) * info.itemSize) {
        throw new Tf2TorchError(
          ErrorCode.SHAPE_MISMATCH,
          `tensor ${e.key}: ${t.byteLength} bytes do not match ${t.dtype}[${t.shape.join(', ')}]`,
          { file, tensor: e.key },
        );
      }
      if (e.strided !== undefined) checkStrided(e.key, t, e.strided, file);
      storage = storages.push(t) - 1;
      strided.push(e.strided);
    }
    storageOf.set(e.key, storage);
    keys.push({ key: e.key, storage });
  }
  return { storages, strided, keys };
}

/** A strided form must hold the same elements: same dtype and count, one stride per axis. */
function checkStrided(key: string, t: TensorRef, s: StridedStorage, file: string | undefined): void {
  const numel = numElements(t.shape);
  const last = t.shape.reduce((sum, d, i) => sum + (d - 1) * (s.strides[i] ?? Number.NaN), 0);
  const inside = numel === 0 || (s.strides.every((x) => Number.isSafeInteger(x) && x >= 0) && last < numel);
  if (
    s.storage.dtype !== t.dtype ||
    s.storage.byteLength !== t.byteLength ||
    s.strides.length !== t.shape.length ||
    !inside
  ) {
    throw new Tf2TorchError(
      ErrorCode.PLAN,
      `tensor ${key}: its strided storage (${s.storage.dtype}[${s.storage.shape.join(', ')}], strides [${s.strides.join(', ')}]) does not match ${t.dtype}[${t.shape.join(', ')}]`,
      { file, tensor: key },
    );
  }
}

/** torch names the archive folder after the file, without its last extension. */
export function archiveNameFor(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  const name = dot > 0 ? base.slice(0, dot) : base;
  return name.length > 0 && !name.includes('/') ? name : 'archive';
}

export async function writeTorchFile(
  path: string,
  entries: readonly StateDictEntry[],
  options: TorchWriteOptions = {},
): Promise<void> {
  const { storages, strided, keys } = resolveStateDict(entries, path);
  for (const t of storages) {
    if (!DTYPES[t.dtype].torchStorage) {
      throw new Tf2TorchError(
        ErrorCode.UNSUPPORTED,
        `${path}: tensor ${t.name} has dtype ${t.dtype}, for which PyTorch has no storage`,
        { file: path, tensor: t.name },
      );
    }
  }
  const pickled: PickledTensor[] = keys.map(({ key, storage }) => {
    const t = storages[storage]!;
    const strides = strided[storage]?.strides;
    return {
      key,
      storageKey: String(storage),
      dtype: t.dtype,
      shape: t.shape,
      storageNumel: numElements(t.shape),
      ...(strides === undefined ? {} : { strides }),
    };
  });
  const archive = archiveNameFor(path);
  await (options.outputs ?? defaultOutputs).writeFile(path, async (sink) => {
    const zip = new ZipWriter(sink, { forceZip64: options.forceZip64 ?? false, path });
    await zip.addBytes(`${archive}/data.pkl`, pickleStateDict(pickled, options.container));
    await zip.addBytes(`${archive}/byteorder`, new TextEncoder().encode('little'));
    let done = 0;
    const progress = (n: number) => {
      done += n;
      options.onProgress?.(done);
    };
    for (const [index, tensor] of storages.entries()) {
      const t = strided[index]?.storage ?? tensor; // a strided view stores its storage's bytes
      await zip.addStream(
        `${archive}/data/${index}`,
        t.byteLength,
        t.stream(DEFAULT_CHUNK_BYTES, { reuse: true }),
        progress,
      );
    }
    await zip.addBytes(`${archive}/version`, new TextEncoder().encode('3\n'));
    await zip.finish();
  });
}
