/**
 * The few protobuf messages of a tensor bundle, decoded by hand (wire format only: no schema library).
 * Unknown fields are skipped, as protobuf requires; absent fields take their proto3 defaults.
 * Messages: BundleHeaderProto, BundleEntryProto, TensorShapeProto, TensorSliceProto (tensor_bundle.proto,
 * tensor_shape.proto, tensor_slice.proto).
 */

import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { ByteReader } from '../../io/bytes.js';

/** TensorFlow's own limit on tensor rank (TensorShape::MaxDimensions) is 254. */
export const MAX_RANK = 254;
/** A partitioned variable rarely has more than a few hundred slices; a million is clearly corrupt. */
export const MAX_SLICES = 1_000_000;

export interface ProtoField {
  field: number;
  wire: number;
  /** wire 0 (varint), 1 (fixed64), 5 (fixed32) */
  int: bigint;
  /** wire 2 (length-delimited) */
  bytes: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** Iterates the fields of one serialized message. */
export function* protoFields(bytes: Uint8Array, where: string, file?: string): Generator<ProtoField> {
  const r = new ByteReader(bytes, where, file);
  while (r.remaining > 0) {
    const at = r.offset;
    const tag = r.varint('field tag');
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0)
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: field number 0 at byte ${at}`, { file, offset: at });
    if (wire === 0) yield { field, wire, int: r.varint64(`field ${field}`), bytes: EMPTY };
    else if (wire === 1) yield { field, wire, int: r.u64(`field ${field}`), bytes: EMPTY };
    else if (wire === 2)
      yield { field, wire, int: 0n, bytes: r.bytesN(r.varint(`field ${field} length`), `field ${field}`) };
    else if (wire === 5) yield { field, wire, int: BigInt(r.u32(`field ${field}`)), bytes: EMPTY };
    else
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: unsupported wire type ${wire} for field ${field} at byte ${at}`,
        { file, offset: at },
      );
  }
}

/** A protobuf int64 (two's complement in a 64-bit varint). */
export function toInt64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** A non-negative int64 that must also be a safe JS number (sizes, offsets, dims). */
export function toSafeSize(v: bigint, what: string, where: string, file?: string): number {
  const n = toInt64(v);
  if (n < 0n) throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: negative ${what} ${n}`, { file });
  if (n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: ${what} ${n} is too large`, { file });
  return Number(n);
}

export interface BundleHeader {
  numShards: number;
  /** 0 little, 1 big */
  endianness: number;
  producer: number;
  minConsumer: number;
  badConsumers: number[];
}

export function parseBundleHeader(bytes: Uint8Array, where: string, file?: string): BundleHeader {
  const h: BundleHeader = { numShards: 0, endianness: 0, producer: 0, minConsumer: 0, badConsumers: [] };
  for (const f of protoFields(bytes, where, file)) {
    if (f.field === 1 && f.wire === 0) h.numShards = Number(BigInt.asIntN(32, f.int));
    else if (f.field === 2 && f.wire === 0) h.endianness = Number(BigInt.asIntN(32, f.int));
    else if (f.field === 3 && f.wire === 2) {
      for (const v of protoFields(f.bytes, `${where} version`, file)) {
        if (v.field === 1 && v.wire === 0) h.producer = Number(BigInt.asIntN(32, v.int));
        else if (v.field === 2 && v.wire === 0) h.minConsumer = Number(BigInt.asIntN(32, v.int));
        else if (v.field === 3 && v.wire === 0) h.badConsumers.push(Number(BigInt.asIntN(32, v.int)));
      }
    }
  }
  return h;
}

/** Shape dims; an unknown-rank or negative-dim shape is malformed in a saved bundle. */
export function parseTensorShape(bytes: Uint8Array, where: string, file?: string): number[] {
  const dims: number[] = [];
  for (const f of protoFields(bytes, where, file)) {
    if (f.field === 2 && f.wire === 2) {
      if (dims.length >= MAX_RANK)
        throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: more than ${MAX_RANK} dimensions`, { file });
      let size = 0;
      for (const d of protoFields(f.bytes, `${where} dim`, file)) {
        if (d.field === 1 && d.wire === 0) size = toSafeSize(d.int, 'dimension size', where, file);
      }
      dims.push(size);
    } else if (f.field === 3 && f.wire === 0 && f.int !== 0n) {
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: shape of unknown rank in a saved tensor`, { file });
    }
  }
  return dims;
}

/** One extent per dimension: `length` undefined means the whole dimension. */
export interface Extent {
  start: number;
  length: number | undefined;
}

export function parseTensorSlice(bytes: Uint8Array, where: string, file?: string): Extent[] {
  const extents: Extent[] = [];
  for (const f of protoFields(bytes, where, file)) {
    if (f.field !== 1 || f.wire !== 2) continue;
    if (extents.length >= MAX_RANK)
      throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: slice with more than ${MAX_RANK} extents`, { file });
    const e: Extent = { start: 0, length: undefined };
    for (const x of protoFields(f.bytes, `${where} extent`, file)) {
      if (x.field === 1 && x.wire === 0) e.start = toSafeSize(x.int, 'slice start', where, file);
      else if (x.field === 2 && x.wire === 0) e.length = toSafeSize(x.int, 'slice length', where, file);
    }
    extents.push(e);
  }
  return extents;
}

export interface BundleEntry {
  /** TensorFlow DataType enum value (types.proto) */
  dtype: number;
  shape: number[];
  shardId: number;
  offset: number;
  size: number;
  /** masked crc32c of the stored bytes, undefined when absent */
  crc32c: number | undefined;
  /** present (non-empty) only for partitioned variables */
  slices: Extent[][];
}

export function parseBundleEntry(bytes: Uint8Array, where: string, file?: string): BundleEntry {
  const e: BundleEntry = { dtype: 0, shape: [], shardId: 0, offset: 0, size: 0, crc32c: undefined, slices: [] };
  for (const f of protoFields(bytes, where, file)) {
    switch (f.field) {
      case 1:
        if (f.wire === 0) e.dtype = Number(BigInt.asIntN(32, f.int));
        break;
      case 2:
        if (f.wire === 2) e.shape = parseTensorShape(f.bytes, `${where} shape`, file);
        break;
      case 3:
        if (f.wire === 0) e.shardId = toSafeSize(BigInt.asIntN(32, f.int), 'shard id', where, file);
        break;
      case 4:
        if (f.wire === 0) e.offset = toSafeSize(f.int, 'offset', where, file);
        break;
      case 5:
        if (f.wire === 0) e.size = toSafeSize(f.int, 'size', where, file);
        break;
      case 6:
        if (f.wire === 5) e.crc32c = Number(f.int);
        break;
      case 7:
        if (f.wire === 2) {
          if (e.slices.length >= MAX_SLICES)
            throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: more than ${MAX_SLICES} slices`, { file });
          e.slices.push(parseTensorSlice(f.bytes, `${where} slice`, file));
        }
        break;
      default:
        break; // unknown field: skipped
    }
  }
  return e;
}
