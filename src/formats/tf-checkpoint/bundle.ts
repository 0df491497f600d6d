/**
 * TensorFlow V2 tensor bundles: `P.index` (a table: "" → BundleHeaderProto, name → BundleEntryProto,
 * 0x00-prefixed slice keys → entries of partitioned-variable pieces) and `P.data-k-of-n` shards read by
 * positioned reads only. Listing reads only the index; a missing shard only affects its own tensors.
 */
import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { ByteSource, FileTree } from '../../io/byte-source.js';
import { loadNativeCrc32c } from '../../io/crc32c.js';
import { DEFAULT_CHUNK_BYTES, DTYPES, type DType, type StreamOptions, type TensorRef } from '../../tensor.js';
import type { OpenOptions } from '../source.js';
import { isObjectBased, TfCheckpoint } from './checkpoint.js';
import { dataShardPath } from './paths.js';
import { type BundleEntry, parseBundleEntry, parseBundleHeader } from './proto.js';
import { checkSliceLayout, copySliceInto, decodeSliceKey, sliceBox, sliceNotation } from './slices.js';
import { readTable } from './sstable.js';
import {
  checkInFile,
  readStored,
  readStoredInto,
  StoredRuns,
  type StoredTensor,
  streamStored,
} from './tensor-bytes.js';

/** TF writes one shard per device; 100,000 shards would be a corrupt header. */
export const MAX_SHARDS = 100_000;
/** Reassembling a partitioned variable allocates it whole; Node buffers stop at 2^32 bytes anyway. */
export const MAX_REASSEMBLED_BYTES = 2 ** 32 - 1;

const DTYPE_BY_ENUM = new Map<number, DType>(Object.entries(DTYPES).map(([name, info]) => [info.tf, name as DType]));

/** Lazily opened data shards; a missing one is reported only when one of its tensors is read. */
class Shards {
  readonly open = new Map<number, ByteSource>();
  constructor(
    readonly prefix: string,
    readonly count: number,
    private readonly files: FileTree,
  ) {}
  exists(shard: number): boolean {
    return this.files.stat(this.path(shard)) !== undefined;
  }
  path(shard: number): string {
    return dataShardPath(this.prefix, shard, this.count);
  }
  /** Opens in progress: reads that start together share one handle instead of each opening one. */
  private readonly opening = new Map<number, Promise<ByteSource>>();
  async get(shard: number, tensor: string): Promise<ByteSource> {
    const have = this.open.get(shard);
    if (have) return have;
    const pending = this.opening.get(shard);
    if (pending) return pending;
    const opened = this.openShard(shard, tensor);
    this.opening.set(shard, opened);
    try {
      return await opened;
    } finally {
      this.opening.delete(shard);
    }
  }
  private async openShard(shard: number, tensor: string): Promise<ByteSource> {
    const path = this.path(shard);
    if (!this.exists(shard)) {
      throw new Tf2TorchError(
        ErrorCode.MISSING_SHARD,
        `${path}: data shard ${shard} of ${this.count} is missing, so tensor '${tensor}' cannot be read (listing still works: it needs only ${this.prefix}.index)`,
        { file: path, tensor },
      );
    }
    const f = await this.files.open(path);
    this.open.set(shard, f);
    return f;
  }
}

function elementCount(shape: readonly number[], where: string, file: string, tensor: string): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n))
      throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: shape [${shape}] has too many elements`, { file, tensor });
  }
  return n;
}

interface Described {
  name: string;
  dtype: DType;
  entry: BundleEntry;
  numElements: number;
  itemSize: number;
}

function describe(name: string, entry: BundleEntry, indexPath: string): Described {
  const where = `${indexPath}: tensor '${name}'`;
  const dtype = DTYPE_BY_ENUM.get(entry.dtype);
  if (dtype === undefined) {
    throw new Tf2TorchError(ErrorCode.UNKNOWN_DTYPE, `${where}: unsupported TensorFlow dtype enum ${entry.dtype}`, {
      file: indexPath,
      tensor: name,
    });
  }
  const itemSize = DTYPES[dtype].itemSize;
  const numElements = elementCount(entry.shape, where, indexPath, name);
  if (entry.slices.length === 0 && dtype !== 'string' && entry.size !== numElements * itemSize) {
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${where}: stored size ${entry.size} bytes does not match ${dtype}[${entry.shape}] = ${numElements * itemSize} bytes`,
      { file: indexPath, tensor: name },
    );
  }
  return { name, dtype, entry, numElements, itemSize };
}

function storedOf(d: Described, bigEndian: boolean): StoredTensor {
  return {
    name: d.name,
    dtype: d.dtype,
    itemSize: d.itemSize,
    numElements: d.numElements,
    offset: d.entry.offset,
    size: d.entry.size,
    maskedCrc: d.entry.crc32c,
    bigEndian,
  };
}

function plainTensor(d: Described, shards: Shards, bigEndian: boolean, verify: boolean): TensorRef {
  const stored = storedOf(d, bigEndian);
  return {
    name: d.name,
    dtype: d.dtype,
    shape: d.entry.shape,
    byteLength: d.entry.size,
    read: async () => readStored(await shards.get(d.entry.shardId, d.name), stored, verify),
    ...(d.dtype === 'string'
      ? {}
      : {
          readInto: async (target: Uint8Array) =>
            readStoredInto(await shards.get(d.entry.shardId, d.name), stored, verify, target),
          runs: async () => new StoredRuns(await shards.get(d.entry.shardId, d.name), stored, verify),
        }),
    async *stream(chunkSize = DEFAULT_CHUNK_BYTES, options?: StreamOptions) {
      const file = await shards.get(d.entry.shardId, d.name);
      yield* streamStored(file, stored, verify, chunkSize, options?.reuse ?? false);
    },
    fileRanges: () => [{ path: shards.path(d.entry.shardId), offset: d.entry.offset, length: d.entry.size }],
  };
}

function slicedTensor(
  d: Described,
  pieces: { extents: BundleEntry['slices'][number]; piece: Described }[],
  shards: Shards,
  bigEndian: boolean,
  verify: boolean,
  indexPath: string,
): TensorRef {
  const byteLength = d.numElements * d.itemSize;
  const where = `${indexPath}: partitioned tensor '${d.name}'`;
  if (d.dtype === 'string')
    throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `${where}: partitioned string tensors are not supported`, {
      file: indexPath,
      tensor: d.name,
    });
  if (byteLength > MAX_REASSEMBLED_BYTES)
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${where}: ${byteLength} bytes exceed the ${MAX_REASSEMBLED_BYTES}-byte reassembly limit`,
      { file: indexPath, tensor: d.name },
    );
  if (pieces.length !== d.entry.slices.length) {
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${where}: entry lists ${d.entry.slices.length} slices, the index holds ${pieces.length}`,
      { file: indexPath, tensor: d.name },
    );
  }
  // TensorFlow registers the entry's slices (refusing overlaps and gaps), then finds each one's data by its key
  const context = { file: indexPath, tensor: d.name };
  const boxes = d.entry.slices.map((s) => sliceBox(s, d.entry.shape, where));
  checkSliceLayout(d.entry.slices, d.entry.shape, where, context);
  const byNotation = new Map(pieces.map((p) => [sliceNotation(p.extents), p.piece]));
  const stored = d.entry.slices.map((s, i) => {
    const piece = byNotation.get(sliceNotation(s));
    if (piece === undefined)
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: the index holds no data for its slice ${sliceNotation(s)}`,
        context,
      );
    const cells = boxes[i]!.length.reduce((a, b) => a * b, 1);
    if (piece.numElements !== cells || piece.dtype !== d.dtype) {
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: slice ${sliceNotation(s)} holds ${piece.dtype}[${piece.entry.shape}], expected ${d.dtype} with ${cells} elements`,
        context,
      );
    }
    return piece;
  });
  const read = async (): Promise<Uint8Array> => {
    // every piece must lie inside its shard before the whole tensor is allocated
    const files = await Promise.all(stored.map((p) => shards.get(p.entry.shardId, d.name)));
    for (const [i, p] of stored.entries()) checkInFile(files[i]!, { ...storedOf(p, bigEndian), name: d.name });
    const full = new Uint8Array(byteLength);
    for (const [i, p] of stored.entries()) {
      const block = await readStored(files[i]!, storedOf(p, bigEndian), verify);
      copySliceInto(full, d.entry.shape, d.itemSize, boxes[i]!, block);
    }
    return full;
  };
  return {
    name: d.name,
    dtype: d.dtype,
    shape: d.entry.shape,
    byteLength,
    read,
    async *stream(chunkSize = DEFAULT_CHUNK_BYTES) {
      const all = await read(); // slices interleave in general; bounded by MAX_REASSEMBLED_BYTES
      for (let at = 0; at < all.length; at += chunkSize) yield all.subarray(at, Math.min(all.length, at + chunkSize));
    },
  };
}

/** Opens the bundle named by `prefix` (P, for P.index and P.data-*). */
export async function openBundle(
  prefix: string,
  options: OpenOptions = {},
  displayPath = prefix,
): Promise<TfCheckpoint> {
  const verify = options.verify ?? true;
  await loadNativeCrc32c();
  const indexPath = `${prefix}.index`;
  const files = options.files ?? defaultFiles;
  const index = await files.open(indexPath);
  let table;
  try {
    table = await readTable(index, verify);
  } finally {
    await index.close();
  }
  const [first, ...rest] = table.entries;
  if (first === undefined || first.key.length !== 0) {
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${indexPath}: the first entry is not the bundle header (empty key)`, {
      file: indexPath,
    });
  }
  const header = parseBundleHeader(first.value, `${indexPath}: bundle header`, indexPath);
  if (header.numShards < 1 || header.numShards > MAX_SHARDS) {
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${indexPath}: header says ${header.numShards} shards`, {
      file: indexPath,
    });
  }
  if (header.endianness !== 0 && header.endianness !== 1) {
    throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `${indexPath}: unknown endianness ${header.endianness}`, {
      file: indexPath,
    });
  }
  const bigEndian = header.endianness === 1;
  const shards = new Shards(prefix, header.numShards, files);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const plain: Described[] = [];
  const slicePieces = new Map<string, { extents: BundleEntry['slices'][number]; piece: Described }[]>();
  for (const { key, value } of rest) {
    const sliceKey = decodeSliceKey(key, `${indexPath}: slice key`);
    const name = sliceKey ? `${sliceKey.name} (slice)` : decoder.decode(key);
    const entry = parseBundleEntry(value, `${indexPath}: entry '${name}'`, indexPath);
    const d = describe(name, entry, indexPath);
    if (entry.slices.length === 0 && entry.shardId >= header.numShards) {
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${indexPath}: tensor '${name}' is in shard ${entry.shardId}, the header has ${header.numShards}`,
        { file: indexPath, tensor: name },
      );
    }
    if (sliceKey) {
      const list = slicePieces.get(sliceKey.name) ?? [];
      list.push({ extents: sliceKey.extents, piece: d });
      slicePieces.set(sliceKey.name, list);
    } else plain.push(d);
  }
  const tensors = plain.map((d) =>
    d.entry.slices.length > 0
      ? slicedTensor(d, slicePieces.get(d.name) ?? [], shards, bigEndian, verify, indexPath)
      : plainTensor(d, shards, bigEndian, verify),
  );
  const names = tensors.map((t) => t.name);
  const objectBased = isObjectBased(names);
  const notes: string[] = [];
  if (objectBased) notes.push('TF2 object-based checkpoint (tf.train.Checkpoint): names are object paths');
  if (bigEndian) notes.push('big-endian bundle: tensor bytes are byte-swapped to little-endian on read');
  const sliced = plain.filter((d) => d.entry.slices.length > 0).length;
  if (sliced > 0) notes.push(`${sliced} partitioned variable(s), reassembled from their slices on read`);
  const missing = [...Array(header.numShards).keys()].filter((s) => !shards.exists(s));
  for (const s of missing) {
    const affected = plain.filter((d) => d.entry.slices.length === 0 && d.entry.shardId === s).length;
    notes.push(
      `data shard ${s} of ${header.numShards} is missing (${shards.path(s)}): ${affected} tensor(s) cannot be read`,
    );
  }
  return new TfCheckpoint(displayPath, 'tf-bundle-v2', prefix, tensors, notes, objectBased, () => shards.open.values());
}
