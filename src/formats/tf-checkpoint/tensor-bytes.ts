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
import { ScatteredCrc32c } from '../../io/crc32c-runs.js';
import { DEFAULT_CHUNK_BYTES, type DType, type RunBlock } from '../../tensor.js';

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
  const what = `tensor '${t.name}'`;
  if (verify && t.maskedCrc !== undefined && file.readIntoWithCrc !== undefined) {
    // the checksum computed where the bytes were copied (a remote source's range thread)
    const actual = await file.readIntoWithCrc(target, t.offset, what);
    if (unmaskCrc(t.maskedCrc) !== actual) throw checksumError(file, t, actual);
    if (t.bigEndian) swapBytesInPlace(target, scalarUnit(t.dtype, t.itemSize));
    return;
  }
  await file.readInto(target, t.offset, what);
  verifyAndSwap(file, t, verify, target);
}

/**
 * Strided runs of a stored tensor (the blocks of a transpose produced in bands), little-endian, with
 * the checksum computed over the bytes as they are read: once the runs have covered the tensor (each
 * byte once, in any order), `verify()` compares it with the stored one. A shard that changed since an
 * earlier read, or a read that returned other bytes, is then a checksum error, not a wrong output.
 */
export class StoredRuns {
  private readonly crc: ScatteredCrc32c | undefined;
  /** Absolute byte offsets of a band's runs, reused from band to band. */
  private absolute = new Float64Array(0);
  /** The checksum `checkPart` noted. */
  private part: number | undefined;

  constructor(
    private readonly file: ByteSource,
    private readonly t: StoredTensor,
    verify: boolean,
  ) {
    if (t.dtype === 'string') throw new Error(`${t.name}: string tensors have no runs`);
    checkInFile(file, t);
    this.crc = verify && t.maskedCrc !== undefined ? new ScatteredCrc32c(t.offset, t.size) : undefined;
  }

  /** Runs of `runLength` elements at element `offsets` (within the tensor), one after another into `target`. */
  async read(target: Uint8Array, offsets: ArrayLike<number>, runLength: number): Promise<void> {
    const { t } = this;
    const runBytes = runLength * t.itemSize;
    if (this.absolute.length < offsets.length) this.absolute = new Float64Array(offsets.length);
    const absolute = this.absolute.subarray(0, offsets.length);
    for (let i = 0; i < offsets.length; i++) {
      const at = (offsets[i] as number) * t.itemSize;
      if (at < 0 || at + runBytes > t.size)
        throw new Error(`${t.name}: run at ${at} (+${runBytes}) outside the tensor`);
      absolute[i] = t.offset + at;
    }
    await this.file.readRunsInto(target, absolute, runBytes, `tensor '${t.name}'`);
    this.crc?.addRuns(target, absolute, runBytes);
    if (t.bigEndian) swapBytesInPlace(target, scalarUnit(t.dtype, t.itemSize));
  }

  /**
   * For runs that will cover only part of the tensor: reads it once in order, checking its stored
   * checksum and noting the checksum of the bytes at `blocks` (element offsets, ascending), which
   * `verify()` then requires of the runs read: the bytes used are the bytes verified.
   */
  async checkPart(blocks: Iterable<RunBlock>, chunkBytes: number): Promise<void> {
    const { file, t } = this;
    if (this.crc === undefined) return;
    const item = t.itemSize;
    const part = new ScatteredCrc32c(t.offset, t.size);
    const at = new Float64Array(1);
    const runs = blocks[Symbol.iterator]();
    let block = runs.next();
    let k = 0; // the run within the block
    let done = 0; // its bytes already noted (a run may span chunks)
    let whole = 0;
    let chunkStart = 0;
    const step = Math.max(item, chunkBytes - (chunkBytes % item));
    for await (const chunk of file.readChunks(t.offset, t.size, step, `tensor '${t.name}'`, true)) {
      whole = crc32c(chunk, whole);
      const chunkEnd = chunkStart + chunk.byteLength;
      while (!block.done) {
        const { offsets, runLength } = block.value;
        if (k === offsets.length) {
          block = runs.next();
          k = 0;
          continue;
        }
        const runStart = (offsets[k] as number) * item;
        const from = runStart + done;
        if (from >= chunkEnd) break;
        if (from < chunkStart) throw new Error(`${t.name}: runs out of order at ${from}`);
        const to = Math.min(runStart + runLength * item, chunkEnd);
        at[0] = t.offset + from;
        part.addRuns(chunk.subarray(from - chunkStart, to - chunkStart), at, to - from);
        done += to - from;
        if (done === runLength * item) {
          k++;
          done = 0;
        }
      }
      chunkStart = chunkEnd;
    }
    if (t.maskedCrc !== undefined && unmaskCrc(t.maskedCrc) !== whole) throw checksumError(file, t, whole);
    this.part = part.value();
  }

  /**
   * After the last run: E_TENSOR_CHECKSUM unless the runs' bytes match the stored checksum (runs that
   * covered every byte once) or those `checkPart` noted (runs over part of the tensor).
   */
  verify(): void {
    const { crc, file, t } = this;
    if (crc === undefined) return;
    const actual = crc.value();
    if (this.part !== undefined) {
      if (actual === this.part) return;
      throw new Tf2TorchError(
        ErrorCode.TENSOR_CHECKSUM,
        `${file.path}: tensor '${t.name}' (offset ${t.offset}, ${t.size} bytes) read in strided runs is not what its checksummed read gave (the file changed while it was read)`,
        { file: file.path, tensor: t.name, offset: t.offset },
      );
    }
    if (crc.covered !== t.size) throw new Error(`${t.name}: runs covered ${crc.covered} of ${t.size} bytes`);
    if (unmaskCrc(t.maskedCrc ?? 0) !== actual) throw checksumError(file, t, actual);
  }
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
  // chunks swapped in place are the stream's own; others may be lent (read only, as the consumer's are)
  const mode = reuse && !t.bigEndian ? 'borrow' : reuse;
  for await (const chunk of file.readChunks(t.offset, last, step, `tensor '${t.name}'`, mode)) {
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
