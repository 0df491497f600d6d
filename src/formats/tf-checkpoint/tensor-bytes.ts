/**
 * The bytes of one stored tensor: positioned reads from its shard, crc32c verification (masked, as TF
 * stores it), big-endian → little-endian swapping, and the DT_STRING layout
 * ([varint64 len]… [fixed32 masked crc of the lengths] [bytes]…) whose checksum has its own rule.
 */

import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { swapBytesInPlace } from '../../io/byte-order.js';
import type { ByteSource } from '../../io/byte-source.js';
import { ByteReader } from '../../io/bytes.js';
import { crc32c, maskCrc, unmaskCrc } from '../../io/crc32c.js';
import { DEFAULT_CHUNK_BYTES, type DType } from '../../tensor.js';

export interface StoredTensor {
  name: string;
  dtype: DType;
  itemSize: number;
  numElements: number;
  offset: number;
  size: number;
  /** masked crc32c from the entry, undefined when the writer stored none */
  maskedCrc: number | undefined;
  bigEndian: boolean;
}

function checksumError(file: ByteSource, t: StoredTensor, actual: number): Tf2TorchError {
  return new Tf2TorchError(
    ErrorCode.TENSOR_CHECKSUM,
    `${file.path}: checksum of tensor '${t.name}' (offset ${t.offset}, ${t.size} bytes) does not match: stored ${unmaskCrc(t.maskedCrc ?? 0).toString(16)}, computed ${actual.toString(16)} (the data file is corrupt)`,
    { file: file.path, tensor: t.name, offset: t.offset },
  );
}

export function scalarUnit(dtype: DType, itemSize: number): number {
  return dtype === 'complex64' || dtype === 'complex128' ? itemSize / 2 : itemSize;
}

export function checkInFile(file: ByteSource, t: StoredTensor): void {
  if (t.offset + t.size > file.size) {
    throw new Tf2TorchError(
      ErrorCode.TRUNCATED,
      `${file.path}: tensor '${t.name}' lies at offset ${t.offset} (+${t.size} bytes), beyond the end of the file (${file.size} bytes); the file is truncated`,
      { file: file.path, tensor: t.name, offset: t.offset },
    );
  }
}

/**
 * The checksum TF computes for a DT_STRING tensor, after checking the lengths' own checksum. The lengths
 * (as TF hashes them: uint32, or uint64 when wide) go through a small scratch buffer: a tensor of millions
 * of short strings costs no per-element memory.
 */
function stringTensorCrc(file: ByteSource, t: StoredTensor, bytes: Uint8Array): number {
  const r = new ByteReader(bytes, `${file.path}: string tensor '${t.name}'`, file.path);
  const scratch = new Uint8Array(64 * 1024);
  const scratchView = new DataView(scratch.buffer);
  let used = 0;
  let lengthsCrc = 0;
  let total = 0;
  for (let i = 0; i < t.numElements; i++) {
    const len = r.varint('string length');
    total += len;
    if (used + 8 > scratch.length) {
      lengthsCrc = crc32c(scratch.subarray(0, used), lengthsCrc);
      used = 0;
    }
    if (len > 0xffffffff) {
      scratchView.setBigUint64(used, BigInt(len), !t.bigEndian);
      used += 8;
    } else {
      scratchView.setUint32(used, len, !t.bigEndian);
      used += 4;
    }
  }
  lengthsCrc = crc32c(scratch.subarray(0, used), lengthsCrc);
  const storedLengthCrc = r.bytesN(4, 'length checksum');
  const stored = new DataView(storedLengthCrc.buffer, storedLengthCrc.byteOffset, 4).getUint32(0, !t.bigEndian);
  if (stored !== maskCrc(lengthsCrc)) {
    throw new Tf2TorchError(
      ErrorCode.TENSOR_CHECKSUM,
      `${file.path}: length checksum of string tensor '${t.name}' does not match`,
      {
        file: file.path,
        tensor: t.name,
        offset: t.offset,
      },
    );
  }
  if (total !== r.remaining) {
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${file.path}: string tensor '${t.name}' has ${r.remaining} bytes of strings, its lengths say ${total}`,
      {
        file: file.path,
        tensor: t.name,
        offset: t.offset,
      },
    );
  }
  const crc = crc32c(storedLengthCrc, lengthsCrc);
  return crc32c(bytes.subarray(r.offset), crc);
}

/** The whole tensor, verified, little-endian (string tensors: their raw stored bytes). */
export async function readStored(file: ByteSource, t: StoredTensor, verify: boolean): Promise<Uint8Array> {
  checkInFile(file, t);
  const bytes = await file.readAt(t.offset, t.size, `tensor '${t.name}'`);
  if (t.dtype === 'string') {
    const actual = stringTensorCrc(file, t, bytes);
    if (verify && t.maskedCrc !== undefined && unmaskCrc(t.maskedCrc) !== actual) throw checksumError(file, t, actual);
    return bytes;
  }
  verifyAndSwap(file, t, verify, bytes);
  return bytes;
}

/** readStored into the caller's buffer of exactly `t.size` bytes (fixed-size dtypes). */
export async function readStoredInto(
  file: ByteSource,
  t: StoredTensor,
  verify: boolean,
  target: Uint8Array,
): Promise<void> {
  if (t.dtype === 'string' || target.byteLength !== t.size)
    throw new Error(`${t.name}: readStoredInto needs a fixed-size dtype and a ${t.size}-byte target`);
  checkInFile(file, t);
  await file.readInto(target, t.offset, `tensor '${t.name}'`);
  verifyAndSwap(file, t, verify, target);
}

/**
 * Runs of the stored tensor (byte offsets within it, whole scalars), little-endian, unverified: the
 * strided blocks of a transpose produced in bands. The caller verifies with a streamed pass.
 */
export async function readStoredRuns(
  file: ByteSource,
  t: StoredTensor,
  target: Uint8Array,
  offsets: ArrayLike<number>,
  runLength: number,
): Promise<void> {
  if (t.dtype === 'string') throw new Error(`${t.name}: string tensors have no runs`);
  checkInFile(file, t);
  const absolute = Float64Array.from(offsets as ArrayLike<number>, (o) => {
    if (o < 0 || o + runLength > t.size) throw new Error(`${t.name}: run at ${o} (+${runLength}) outside the tensor`);
    return t.offset + o;
  });
  await file.readRunsInto(target, absolute, runLength, `tensor '${t.name}'`);
  if (t.bigEndian) swapBytesInPlace(target, scalarUnit(t.dtype, t.itemSize));
}

function verifyAndSwap(file: ByteSource, t: StoredTensor, verify: boolean, bytes: Uint8Array): void {
  if (verify && t.maskedCrc !== undefined) {
    const actual = crc32c(bytes);
    if (unmaskCrc(t.maskedCrc) !== actual) throw checksumError(file, t, actual);
  }
  if (t.bigEndian) swapBytesInPlace(bytes, scalarUnit(t.dtype, t.itemSize));
}

/**
 * Chunk by chunk; the checksum is compared after the last chunk (before the iteration ends). The next
 * chunk is read while the consumer handles the current one (at most two chunks in memory), so that a
 * copy reads and writes at the same time.
 */
export async function* streamStored(
  file: ByteSource,
  t: StoredTensor,
  verify: boolean,
  chunkSize = DEFAULT_CHUNK_BYTES,
  reuse = false,
): AsyncGenerator<Uint8Array> {
  if (t.dtype === 'string') {
    const all = await readStored(file, t, verify);
    for (let at = 0; at < all.length; at += chunkSize) yield all.subarray(at, Math.min(all.length, at + chunkSize));
    return;
  }
  checkInFile(file, t);
  const unit = scalarUnit(t.dtype, t.itemSize);
  // Whole scalars per chunk, so that swapping never splits an element.
  const step = Math.max(unit, chunkSize - (chunkSize % unit));
  const last = t.size;
  let crc = 0;
  let at = 0;
  for await (const chunk of file.readChunks(t.offset, last, step, `tensor '${t.name}'`, reuse)) {
    at += chunk.byteLength;
    if (verify) crc = crc32c(chunk, crc);
    if (t.bigEndian) swapBytesInPlace(chunk, unit);
    if (at >= last && verify && t.maskedCrc !== undefined && unmaskCrc(t.maskedCrc) !== crc)
      throw checksumError(file, t, crc);
    yield chunk;
  }
  if (last === 0 && verify && t.maskedCrc !== undefined && unmaskCrc(t.maskedCrc) !== 0)
    throw checksumError(file, t, 0);
}
