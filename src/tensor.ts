/**
 * The one tensor vocabulary every layer shares: dtypes with their names in each format, and
 * TensorRef, a lazy handle (name, dtype, shape, byte length) whose bytes are read only on demand.
 * Bytes are always little-endian, C (row-major) order, as safetensors and torch storages want them.
 */

export type DType =
  | 'float16'
  | 'bfloat16'
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'complex64'
  | 'complex128'
  | 'string';

export interface DTypeInfo {
  /** Bytes per element; 0 for variable-size (string). */
  itemSize: number;
  /** TensorFlow DataType enum value (types.proto). */
  tf: number;
  /** safetensors dtype code, where safetensors has one. */
  safetensors?: string;
  /** torch storage class written by torch.save (`torch.<Name>`), where torch has one. */
  torchStorage?: string;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  float32: { itemSize: 4, tf: 1, safetensors: 'F32', torchStorage: 'FloatStorage' },
  float64: { itemSize: 8, tf: 2, safetensors: 'F64', torchStorage: 'DoubleStorage' },
  int32: { itemSize: 4, tf: 3, safetensors: 'I32', torchStorage: 'IntStorage' },
  uint8: { itemSize: 1, tf: 4, safetensors: 'U8', torchStorage: 'ByteStorage' },
  int16: { itemSize: 2, tf: 5, safetensors: 'I16', torchStorage: 'ShortStorage' },
  int8: { itemSize: 1, tf: 6, safetensors: 'I8', torchStorage: 'CharStorage' },
  string: { itemSize: 0, tf: 7 },
  complex64: { itemSize: 8, tf: 8, safetensors: 'C64', torchStorage: 'ComplexFloatStorage' },
  int64: { itemSize: 8, tf: 9, safetensors: 'I64', torchStorage: 'LongStorage' },
  bool: { itemSize: 1, tf: 10, safetensors: 'BOOL', torchStorage: 'BoolStorage' },
  bfloat16: { itemSize: 2, tf: 14, safetensors: 'BF16', torchStorage: 'BFloat16Storage' },
  uint16: { itemSize: 2, tf: 17, safetensors: 'U16' },
  complex128: { itemSize: 16, tf: 18, torchStorage: 'ComplexDoubleStorage' },
  float16: { itemSize: 2, tf: 19, safetensors: 'F16', torchStorage: 'HalfStorage' },
  uint32: { itemSize: 4, tf: 22, safetensors: 'U32' },
  uint64: { itemSize: 8, tf: 23, safetensors: 'U64' },
};

const FLOATS = ['float16', 'bfloat16', 'float32', 'float64'] as const satisfies readonly DType[];
/** A floating-point dtype: what casts convert between and what `torch_dtype` may name. */
export type FloatDType = (typeof FLOATS)[number];
export const FLOAT_DTYPES: ReadonlySet<DType> = new Set<DType>(FLOATS);

export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Where a tensor of a torch file lives: a view (element offset, shape, element strides) of a storage.
 * Torch pickles tied weights as several tensors over one storage; equal views are one tensor.
 */
export interface StorageView {
  /** The file the storage belongs to (keys are unique only within one file). */
  readonly file: string;
  /** The storage's key in that file (for a legacy storage view, the key of the storage it views). */
  readonly key: string;
  readonly dtype: DType;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/**
 * Whether two views cover the same elements in the same order (tied weights). Views that merely
 * overlap (a slice, a transpose) are different tensors. Strides of size-1 axes do not matter.
 */
export function sameStorageView(a: StorageView, b: StorageView): boolean {
  if (a.file !== b.file || a.key !== b.key || a.dtype !== b.dtype || a.offset !== b.offset) return false;
  if (a.shape.length !== b.shape.length || numElements(a.shape) === 0) return false;
  return a.shape.every((d, i) => d === b.shape[i] && (d === 1 || a.stride[i] === b.stride[i]));
}

export interface StreamOptions {
  readonly reuse?: boolean;
}

/** Runs of `runLength` elements at each of the element `offsets`. */
export interface RunBlock {
  readonly offsets: ArrayLike<number>;
  readonly runLength: number;
}

/** Strided blocks of one tensor's bytes (as read() gives them), read in bands. */
export interface RunReader {
  /** Runs of `runLength` elements at each of the element `offsets`, one after another into `target`. */
  read(target: Uint8Array, offsets: ArrayLike<number>, runLength: number): Promise<void>;
  /**
   * Before reading runs that will cover only part of the tensor: the tensor read once in order (its
   * checksum checked), noting what the bytes at `blocks` (ascending) must be.
   */
  checkPart(blocks: Iterable<RunBlock>, chunkBytes: number): Promise<void>;
  /**
   * After the last run: a checksum error unless the runs read match the stored checksum (runs that
   * covered every element once) or what `checkPart` noted. A source without checksums checks nothing.
   */
  verify(): void;
}

/** Bytes of a file that reading a tensor touches. */
export interface FileRange {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

export interface TensorRef {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Exact byte length of `read()`'s result (numElements × itemSize for fixed-size dtypes). */
  readonly byteLength: number;
  /** Its place in a storage, for tensors read from torch files (tied weights share one). */
  readonly view?: StorageView;
  /** The whole tensor, verified (checksums) unless the source was opened without verification. */
  read(): Promise<Uint8Array>;
  /**
   * Where a source can: the same bytes as read(), into `target` (exactly byteLength bytes), so that
   * a caller can recycle its buffers.
   */
  readInto?(target: Uint8Array): Promise<void>;
  /**
   * Where a source can: a reader of strided blocks of read()'s result (for transposes produced in
   * bands), checksummed over the bytes it reads.
   */
  runs?(): Promise<RunReader>;
  /**
   * The same bytes in order, in chunks, so that a large tensor can be copied with bounded memory.
   * Verification errors surface at the latest when the iteration ends. With `reuse`, the consumer
   * promises to be done with a chunk when it asks for the next and not to write into it, and a source
   * may read into the buffer of an earlier chunk (no garbage per chunk) or lend bytes of its own (a
   * remote source's, fetched ahead); without it every chunk stays valid and is the consumer's.
   */
  stream(chunkSize?: number, options?: StreamOptions): AsyncIterable<Uint8Array>;
  /**
   * Where a source knows them: the byte ranges of its files that reading this tensor touches, in
   * order (a remote file fetches them ahead, and nothing else of it).
   */
  fileRanges?(): readonly FileRange[];
}

/** Default chunk for streaming copies: large enough for disk speed, small enough for memory. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/** A TensorRef over bytes already in memory (tests, transforms, synthesized buffers). */
export function memoryTensor(name: string, dtype: DType, shape: readonly number[], bytes: Uint8Array): TensorRef {
  return {
    name,
    dtype,
    shape: [...shape],
    byteLength: bytes.byteLength,
    read: async () => bytes,
    async *stream(chunkSize = DEFAULT_CHUNK_BYTES) {
      for (let at = 0; at < bytes.byteLength; at += chunkSize) {
        yield bytes.subarray(at, Math.min(bytes.byteLength, at + chunkSize));
      }
    },
  };
}
