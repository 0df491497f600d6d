/**
 * Tensors as torch pickles describe them: a view (offset, size, stride, in elements) into a storage
 * (a byte range of the file). `read()` always returns contiguous C-order bytes: contiguous views are
 * one positioned read; transposed or strided views read the covering span once and gather.
 */
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { gatherStrided } from '../../io/strided.js';
import {
  DEFAULT_CHUNK_BYTES,
  DTYPES,
  type DType,
  type FileRange,
  numElements,
  type StorageView,
  type TensorRef,
} from '../../tensor.js';

/** torch tensors have at most 64 dimensions. */
export const MAX_TENSOR_DIMS = 64;

/** Bytes of one storage, wherever they live (a zip record, a region of a legacy file). */
export interface StorageBytes {
  readonly byteLength: number;
  readRange(start: number, length: number): Promise<Uint8Array>;
  /** Contiguous range in chunks (checksums verified by the end when the range is the whole storage). */
  streamRange(start: number, length: number, chunkSize: number): AsyncIterable<Uint8Array>;
  /** The bytes of the file that reading it touches (its record or region, headers included). */
  fileRange?(): { readonly offset: number; readonly length: number } | undefined;
}

/** What a persistent id resolves to. */
export class TorchStorage {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    readonly location: string,
    readonly bytes: StorageBytes,
    /** Element offset inside `bytes` (legacy storage views). */
    readonly elementOffset = 0,
    /** The storage `bytes` belong to: itself, or the storage a legacy view is cut from. */
    readonly rootKey = key,
  ) {}
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i]! !== 1 && stride[i]! !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A TensorRef over a storage view; `name` is assigned once the pickle tells which key holds it. */
export class StorageTensor implements TensorRef {
  name = '';
  readonly byteLength: number;
  readonly view: StorageView;
  private readonly itemSize: number;

  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    private readonly stride: readonly number[],
    private readonly storage: TorchStorage,
    /** Element offset inside `storage.bytes` (a legacy view's own offset included). */
    private readonly offset: number,
    file: string,
  ) {
    this.itemSize = DTYPES[dtype].itemSize;
    this.byteLength = numElements(shape) * this.itemSize;
    this.view = { file, key: storage.rootKey, dtype, offset, shape, stride };
  }

  fileRanges(): FileRange[] {
    const range = this.storage.bytes.fileRange?.();
    return range === undefined ? [] : [{ path: this.view.file, ...range }];
  }

  /** Validates `_rebuild_tensor(_v2)` arguments against the storage before any byte is read. */
  static fromPickle(storage: unknown, offset: unknown, size: unknown, stride: unknown, file: string): StorageTensor {
    const bad = (what: string): never => {
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${file}: tensor rebuild with ${what}`, { file });
    };
    if (!(storage instanceof TorchStorage)) return bad('a first argument that is not a storage');
    if (!isCount(offset)) return bad(`storage offset ${String(offset)}`);
    if (!Array.isArray(size) || size.length > MAX_TENSOR_DIMS || !size.every(isCount))
      return bad(`size ${String(size)}`);
    if (!Array.isArray(stride) || stride.length !== size.length || !stride.every(isCount))
      return bad(`stride ${String(stride)} for size [${size.join(', ')}]`);
    const numel = numElements(size);
    if (!Number.isSafeInteger(numel * DTYPES[storage.dtype].itemSize))
      return bad(`size [${size.join(', ')}] too large`);
    // Only a self-overlapping view (expand, stride 0) has more elements than its storage; reading one
    // would allocate far more than the file holds, and no weight file needs one.
    if (numel > storage.numel) {
      throw new Tf2TorchError(
        ErrorCode.UNSUPPORTED,
        `${file}: a tensor of size [${size.join(', ')}] (stride [${stride.join(', ')}]) has more elements than its storage ${storage.key} (${storage.numel}): an expanded, self-overlapping view; save it with .contiguous()`,
        { file },
      );
    }
    const last = numel === 0 ? 0 : size.reduce((acc: number, d: number, i) => acc + (d - 1) * stride[i]!, 0) + 1;
    if (numel > 0 && offset + last > storage.numel) {
      return bad(
        `view (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) beyond its storage ${storage.key} of ${storage.numel} elements`,
      );
    }
    return new StorageTensor(
      storage.dtype,
      size as number[],
      stride as number[],
      storage,
      offset + storage.elementOffset,
      file,
    );
  }

  async read(): Promise<Uint8Array> {
    if (this.byteLength === 0) return new Uint8Array(0);
    const start = this.offset * this.itemSize;
    if (isContiguous(this.shape, this.stride)) return this.storage.bytes.readRange(start, this.byteLength);
    const spanElements = this.shape.reduce((acc, d, i) => acc + (d - 1) * this.stride[i]!, 0) + 1;
    const span = await this.storage.bytes.readRange(start, spanElements * this.itemSize);
    return gatherStrided(span, this.shape, this.stride, this.itemSize);
  }

  async *stream(chunkSize = DEFAULT_CHUNK_BYTES): AsyncIterable<Uint8Array> {
    if (this.byteLength === 0) return;
    if (isContiguous(this.shape, this.stride)) {
      yield* this.storage.bytes.streamRange(this.offset * this.itemSize, this.byteLength, chunkSize);
      return;
    }
    const all = await this.read();
    for (let at = 0; at < all.byteLength; at += chunkSize)
      yield all.subarray(at, Math.min(all.byteLength, at + chunkSize));
  }
}
