/**
 * Small pure readers over a byte array that keep the offset explicit. Every read checks bounds and
 * throws E_TRUNCATED / E_MALFORMED with a description of what was being read (`where`).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';

export class ByteReader {
  offset = 0;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** Used in error messages, e.g. "bert_model.ckpt.index block at 1234". */
    readonly where: string,
    readonly file?: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.bytes.byteLength) {
      throw new Tf2TorchError(
        ErrorCode.TRUNCATED,
        `${this.where}: ${what} needs ${n} bytes at offset ${this.offset}, only ${this.remaining} left`,
        { file: this.file, offset: this.offset },
      );
    }
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }

  u16(what = 'uint16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }

  u32(what = 'uint32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  i32(what = 'int32'): number {
    this.need(4, what);
    const v = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return v;
  }

  u64(what = 'uint64'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }

  f64(what = 'float64'): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }

  /** Moves past `n` bytes (checked), without a view of them. */
  skip(n: number, what = 'bytes'): void {
    this.need(n, what);
    this.offset += n;
  }

  bytesN(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** Base-128 varint (protobuf / LevelDB), up to 64 bits, as a bigint. */
  varint64(what = 'varint'): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.u8(what);
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (result >= 1n << 64n) break;
        return result;
      }
    }
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${this.where}: malformed ${what} at offset ${this.offset}`, {
      file: this.file,
      offset: this.offset,
    });
  }

  /** A varint that must fit a safe JS number (sizes, offsets, counts). */
  varint(what = 'varint'): number {
    // Fast path without bigints for up to 7 bytes (49 bits): the lengths of millions of table entries.
    const start = this.offset;
    let value = 0;
    for (let i = 0, scale = 1; i < 7 && this.offset < this.bytes.byteLength; i++, scale *= 128) {
      const b = this.bytes[this.offset++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
    }
    this.offset = start; // longer or truncated: the checked path below says which
    const v = this.varint64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Tf2TorchError(ErrorCode.LIMIT, `${this.where}: ${what} ${v} is too large`, {
        file: this.file,
        offset: this.offset,
      });
    }
    return Number(v);
  }
}
