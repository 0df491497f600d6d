/**
 * The CRC-32C of a byte range computed from pieces read in any order (the strided runs of a transpose
 * produced in bands), so that the checksum covers the bytes actually used, read once. CRCs are linear
 * over GF(2): a piece's contribution is its own CRC moved past the bytes after it (multiplication by
 * x^(8n) modulo the polynomial, as zlib's crc32_combine), and the pieces' contributions add by XOR.
 */
import { crc32c, crc32cTables } from './crc32c.js';

const POLY = 0x82f63b78; // reflected Castagnoli polynomial

/** a·b modulo the polynomial (reflected: bit 31 is x^0). */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0…63. */
const X_POWERS: Uint32Array = (() => {
  const table = new Uint32Array(64);
  let p = 0x40000000; // x^1
  for (let k = 0; k < 64; k++) {
    table[k] = p;
    p = multiplyModP(p, p);
  }
  return table;
})();

/** x^(8n) modulo the polynomial: the operator that moves a CRC register past n zero bytes. */
function zeroBytesOperator(n: number): number {
  let p = 0x80000000; // x^0
  let k = 3; // 8n = n·2^3
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2), k++) {
    if (rest % 2 === 1) p = multiplyModP(X_POWERS[k % 64] as number, p);
  }
  return p;
}

/** The register `crc` (raw: no pre/post inversion) after `n` zero bytes. */
export function crc32cSkipZeros(crc: number, n: number): number {
  return n === 0 ? crc >>> 0 : multiplyModP(zeroBytesOperator(n), crc);
}

/** The CRC-32C of two byte strings one after the other, from their CRCs and the second's length (zlib's crc32_combine). */
export function crc32cCombine(first: number, second: number, secondLength: number): number {
  return (crc32cSkipZeros(first, secondLength) ^ second) >>> 0;
}

/** The byte-sliced tables of one skip distance: four lookups per skip. */
function skipTables(n: number): Uint32Array {
  const op = zeroBytesOperator(n);
  const tables = new Uint32Array(1024);
  for (let k = 0; k < 4; k++) for (let v = 0; v < 256; v++) tables[k * 256 + v] = multiplyModP(op, v << (8 * k));
  return tables;
}

/** Runs shorter than this are hashed by the byte table inline (a native call costs more). */
const INLINE_RUN_BYTES = 64;

/**
 * Accumulates the CRC-32C of the `length` bytes at `start` from runs at any offsets in that range.
 * Runs must not overlap; once they have covered every byte (`covered === length`), `value()` is the
 * CRC of the whole range. Of runs covering part of it, `value()` is the CRC of the range with zeros
 * wherever no run lies: two accumulators fed the same runs, in any order, agree.
 */
export class ScatteredCrc32c {
  /** Raw register of the whole range, the runs added so far and zeros elsewhere. */
  private raw = 0;
  covered = 0;
  private tablesGap = -1;
  private tables: Uint32Array = new Uint32Array(0);

  constructor(
    readonly start: number,
    readonly length: number,
  ) {}

  /**
   * Runs of `runLength` bytes, one after another in `bytes`, lying at `offsets` (ascending runs are
   * chained cheaply; a run behind the previous one starts a new piece).
   */
  addRuns(bytes: Uint8Array, offsets: ArrayLike<number>, runLength: number): void {
    const [t0, t1, t2, t3] = crc32cTables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
    let acc = 0; // raw register of the current piece, from its first run to `end`
    let end = -1;
    for (let i = 0; i < offsets.length; i++) {
      const at = (offsets[i] as number) - this.start;
      if (at < 0 || at + runLength > this.length)
        throw new Error(`run at ${at} (+${runLength}) outside ${this.length}`);
      if (at < end) {
        this.flush(acc, end);
        end = -1;
      }
      if (end < 0) acc = 0;
      else if (at > end) {
        if (at - end !== this.tablesGap) {
          this.tablesGap = at - end;
          this.tables = skipTables(this.tablesGap);
        }
        const t = this.tables;
        acc =
          (t[acc & 0xff] as number) ^
          (t[256 + ((acc >>> 8) & 0xff)] as number) ^
          (t[512 + ((acc >>> 16) & 0xff)] as number) ^
          (t[768 + (acc >>> 24)] as number);
      }
      const from = i * runLength;
      if (runLength === 4) {
        // one float32: four bytes at once (slicing by 4)
        const w =
          acc ^
          ((bytes[from] as number) |
            ((bytes[from + 1] as number) << 8) |
            ((bytes[from + 2] as number) << 16) |
            ((bytes[from + 3] as number) << 24));
        acc =
          (t3[w & 0xff] as number) ^
          (t2[(w >>> 8) & 0xff] as number) ^
          (t1[(w >>> 16) & 0xff] as number) ^
          (t0[w >>> 24] as number);
      } else if (runLength < INLINE_RUN_BYTES) {
        for (let b = from; b < from + runLength; b++)
          acc = (t0[(acc ^ (bytes[b] as number)) & 0xff] as number) ^ (acc >>> 8);
      } else {
        acc = ~crc32c(bytes.subarray(from, from + runLength), ~acc >>> 0); // raw continuation
      }
      end = at + runLength;
    }
    if (end >= 0) this.flush(acc, end);
    this.covered += offsets.length * runLength;
  }

  private flush(acc: number, end: number): void {
    this.raw = (this.raw ^ crc32cSkipZeros(acc >>> 0, this.length - end)) >>> 0;
  }

  /** The CRC-32C of the range, the runs' bytes and zeros elsewhere (the range's own once covered). */
  value(): number {
    // The standard CRC starts from an all-ones register and inverts the result.
    return (this.raw ^ crc32cSkipZeros(0xffffffff, this.length) ^ 0xffffffff) >>> 0;
  }
}
