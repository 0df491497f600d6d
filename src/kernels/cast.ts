/**
 * Bit-exact conversions between float16, bfloat16, float32 and float64, as numpy and torch do them:
 * - widening (f16/bf16 → f32/f64, f32 → f64) is exact; NaN payloads are kept (shifted), as the hardware does;
 * - f32/f64 → f16: round to nearest even, overflow to ±inf, NaN keeps its top payload bits (numpy's halffloat);
 * - f32 → bf16: round to nearest even, any NaN → 0xffff (what torch's vectorised CPU conversion writes,
 *   checked against torch 1.13; from float16 torch goes through c10 and writes 0x7fc0); f64 → bf16 goes through f32 as torch does.
 * Values are worked on as integer bit patterns so that no NaN payload is ever canonicalised by the engine.
 */
import type { DType, FloatDType } from '../tensor.js';

const f64 = new Float64Array(1);
const u32of64 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32of32 = new Uint32Array(f32.buffer);

function f32BitsToNumber(bits: number): number {
  u32of32[0] = bits;
  return f32[0] as number;
}

function numberToF32Bits(value: number): number {
  f32[0] = value;
  return u32of32[0] as number;
}

/** float32 bits of a float16 (exact). */
export function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let sig = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (sig << 13)) >>> 0;
  if (exp === 0) {
    if (sig === 0) return sign >>> 0;
    // Subnormal half: normalise into a float32 exponent.
    let e = -1;
    do {
      e++;
      sig <<= 1;
    } while ((sig & 0x400) === 0);
    return (sign | ((127 - 15 - e) << 23) | ((sig & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exp - 15 + 127) << 23) | (sig << 13)) >>> 0;
}

/** Round a non-negative value to an integer, ties to even. */
function roundHalfEven(q: number): number {
  const r = Math.floor(q);
  const diff = q - r;
  if (diff > 0.5 || (diff === 0.5 && r % 2 === 1)) return r + 1;
  return r;
}

/** float16 bits of a finite or infinite number (one rounding from the exact value: numpy's result). */
function numberToHalfBits(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const abs = Math.abs(value);
  if (abs >= 65520) return sign | 0x7c00; // halfway to 2^16 and beyond round to infinity
  if (abs < 2 ** -14) return sign | roundHalfEven(abs * 2 ** 24); // subnormal (may round up to 0x400)
  let e = Math.floor(Math.log2(abs));
  if (2 ** e > abs) e--;
  else if (2 ** (e + 1) <= abs) e++;
  let q = roundHalfEven(abs * 2 ** (10 - e));
  if (q === 2048) {
    q = 1024;
    e++;
  }
  if (e + 15 >= 31) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | (q - 1024);
}

/** float16 bits from float32 bits (numpy npy_floatbits_to_halfbits). */
export function floatBitsToHalf(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) {
    const sign = (bits >>> 16) & 0x8000;
    const payload = (bits & 0x7fffff) >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 1 : payload);
  }
  return numberToHalfBits(f32BitsToNumber(bits));
}

/** bfloat16 bits from float32 bits (torch: round to nearest even, NaN → 0xffff). */
export function floatBitsToBFloat(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return 0xffff;
  const bias = ((bits >>> 16) & 1) + 0x7fff;
  return ((bits + bias) >>> 16) & 0xffff;
}

/** float32 bits from float64 (round to nearest even; NaN keeps the top 23 payload bits, quieted). */
function doubleToFloatBits(lo: number, hi: number): number {
  if ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) !== 0 || lo !== 0)) {
    const payload = ((hi & 0xfffff) << 3) | (lo >>> 29);
    return ((hi & 0x80000000) | 0x7fc00000 | payload) >>> 0;
  }
  u32of64[0] = lo;
  u32of64[1] = hi;
  return numberToF32Bits(f64[0] as number);
}

/** float64 (lo, hi) words from float32 bits; NaN payloads shift up as cvtss2sd does. */
function floatBitsToDouble(bits: number, out: Uint32Array, at: number): void {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) {
    const sig = bits & 0x7fffff;
    out[at] = (sig << 29) >>> 0;
    out[at + 1] = ((bits & 0x80000000) | 0x7ff80000 | (sig >>> 3)) >>> 0;
    return;
  }
  f64[0] = f32BitsToNumber(bits);
  out[at] = u32of64[0] as number;
  out[at + 1] = u32of64[1] as number;
}

function aligned(bytes: Uint8Array, unit: number): Uint8Array {
  return bytes.byteOffset % unit === 0 ? bytes : new Uint8Array(bytes); // a copy, not a view: realigned
}

/** float32 bit patterns of every element of a float tensor, into `out` when given (float32 input: a view). */
function toFloatBits(bytes: Uint8Array, from: FloatDType, out?: Uint32Array): Uint32Array {
  if (from === 'float32') {
    const b = aligned(bytes, 4);
    const bits = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    if (out === undefined) return bits;
    out.set(bits);
    return out;
  }
  if (from === 'float64') {
    const b = aligned(bytes, 4);
    const w = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    const bits = out ?? new Uint32Array(w.length / 2);
    for (let i = 0; i < bits.length; i++) bits[i] = doubleToFloatBits(w[2 * i] as number, w[2 * i + 1] as number);
    return bits;
  }
  const b = aligned(bytes, 2);
  const h = new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  const bits = out ?? new Uint32Array(h.length);
  if (from === 'bfloat16') for (let i = 0; i < h.length; i++) bits[i] = ((h[i] as number) << 16) >>> 0;
  else for (let i = 0; i < h.length; i++) bits[i] = halfToFloatBits(h[i] as number);
  return bits;
}

const ITEM_SIZE: Record<FloatDType, number> = { float16: 2, bfloat16: 2, float32: 4, float64: 8 };

/** Converts the bytes of a float tensor from one float dtype to another; same dtype returns the input. */
export function castBytes(bytes: Uint8Array, from: DType, to: DType): Uint8Array {
  if (from === to) return bytes;
  const count = bytes.byteLength / ITEM_SIZE[from as FloatDType];
  const out = new Uint8Array(count * ITEM_SIZE[to as FloatDType]);
  castInto(bytes, from, to, out);
  return out;
}

/**
 * castBytes into `target` (exactly the output's size, aligned to its item size), so that a band of a
 * streamed tensor is converted without allocating.
 */
export function castInto(bytes: Uint8Array, from: DType, to: DType, target: Uint8Array): void {
  if (from === to) {
    target.set(bytes);
    return;
  }
  const src = from as FloatDType;
  if (src === 'float64' && to === 'float16') {
    // numpy rounds double → half once, from the exact value.
    const b = aligned(bytes, 8);
    const d = new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
    const w = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    const out = new Uint16Array(target.buffer, target.byteOffset, d.length);
    for (let i = 0; i < d.length; i++) {
      const hi = w[2 * i + 1] as number;
      const isNotANumber = (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) !== 0 || w[2 * i] !== 0);
      out[i] = isNotANumber
        ? floatBitsToHalf(doubleToFloatBits(w[2 * i] as number, hi))
        : numberToHalfBits(d[i] as number);
    }
    return;
  }
  if (to === 'float32') {
    toFloatBits(bytes, src, new Uint32Array(target.buffer, target.byteOffset, target.byteLength / 4));
    return;
  }
  const bits = toFloatBits(bytes, src);
  switch (to) {
    case 'float64': {
      const out = new Uint32Array(target.buffer, target.byteOffset, bits.length * 2);
      for (let i = 0; i < bits.length; i++) floatBitsToDouble(bits[i] as number, out, 2 * i);
      return;
    }
    case 'float16': {
      const out = new Uint16Array(target.buffer, target.byteOffset, bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = floatBitsToHalf(bits[i] as number);
      return;
    }
    case 'bfloat16': {
      const out = new Uint16Array(target.buffer, target.byteOffset, bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = floatBitsToBFloat(bits[i] as number);
      // torch converts half → bfloat16 element by element through c10, whose NaN is 0x7fc0.
      if (src === 'float16') for (let i = 0; i < bits.length; i++) if (out[i] === 0xffff) out[i] = 0x7fc0;
      return;
    }
    default:
      throw new Error(`cast to ${to} is not a float conversion`);
  }
}
