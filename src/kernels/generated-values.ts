/**
 * The values of keys no checkpoint holds but the model needs (Transformer-XL's `inv_freq`, identity
 * projections, zeros), declared by architectures as plain data and computed here as bytes.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { DTYPES, type DType, FLOAT_DTYPES, numElements } from '../tensor.js';
import { castBytes } from './cast.js';

/** Values that no checkpoint holds but the model needs (TXL `inv_freq`, identity projections). */
export type GeneratedValues =
  | { readonly kind: 'identity'; readonly size: number }
  | { readonly kind: 'inv-freq'; readonly dModel: number }
  | { readonly kind: 'fill'; readonly value: number }
  | { readonly kind: 'arange'; readonly count: number }
  /** [1, 1, size, size], ones on and below the diagonal: a causal attention mask buffer (bool or float). */
  | { readonly kind: 'causal-mask'; readonly size: number }
  /**
   * float32 [positions, dim]: sines of the even angles in the first half, cosines of the odd ones in the second
   * (XLM's table without interleaving), as transformers' sinusoidal embeddings fill their weight (RoFormer's).
   */
  | { readonly kind: 'sinusoidal-positions'; readonly positions: number; readonly dim: number };

/**
 * Values of a generated key, in `dtype`: bool (a causal mask), int64, or a floating-point dtype (computed in
 * float32, then cast, as a model's `.half()` would cast its float32 buffers). `inv-freq` follows torch's float32
 * steps: 1 / 10000 ** (arange(0, d, 2) / d), each step rounded to float32.
 */
export function generateBytes(g: GeneratedValues, dtype: DType, shape: readonly number[]): Uint8Array {
  const n = numElements(shape);
  // Zero is all zero bits in every dtype: keys absent from a checkpoint, written as zeros in the output's dtype.
  if (g.kind === 'fill' && g.value === 0) return new Uint8Array(n * DTYPES[dtype].itemSize);
  if (g.kind === 'causal-mask' && dtype === 'bool') {
    const mask = new Uint8Array(n);
    for (let row = 0; row < g.size; row++) mask.fill(1, row * g.size, row * g.size + row + 1);
    return mask;
  }
  if (dtype !== 'float32' && FLOAT_DTYPES.has(dtype))
    return castBytes(generateBytes(g, 'float32', shape), 'float32', dtype);
  if (dtype === 'int64') {
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = g.kind === 'arange' ? BigInt(i) : BigInt(g.kind === 'fill' ? g.value : 0);
    return new Uint8Array(out.buffer);
  }
  if (dtype !== 'float32')
    throw new Tf2TorchError(
      ErrorCode.UNSUPPORTED,
      `generated values are floating-point, int64 or a bool mask, not ${dtype}`,
    );
  const out = new Float32Array(n);
  switch (g.kind) {
    case 'identity':
      for (let i = 0; i < g.size; i++) out[i * g.size + i] = 1;
      break;
    case 'fill':
      out.fill(g.value);
      break;
    case 'arange':
      for (let i = 0; i < n; i++) out[i] = i;
      break;
    case 'sinusoidal-positions':
      fillSinusoidal(out, g.positions, g.dim);
      break;
    case 'causal-mask':
      for (let row = 0; row < g.size; row++) out.fill(1, row * g.size, row * g.size + row + 1);
      break;
    case 'inv-freq': {
      const d = Math.fround(g.dModel);
      for (let i = 0; i < n; i++) {
        const exponent = Math.fround(Math.fround(2 * i) / d);
        out[i] = Math.fround(1 / Math.fround(10000 ** exponent));
      }
      break;
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * transformers' `_init_weight` of its sinusoidal position embeddings: angles pos / 10000 ** (2 * (j // 2) / dim) in
 * float64 (numpy), `sin` of the even j in columns [0, ceil(dim / 2)), `cos` of the odd j after them, then rounded
 * to float32. The same float64 steps give the same bits (checked against the real module in the RoFormer tests).
 */
function fillSinusoidal(out: Float32Array, positions: number, dim: number): void {
  const half = Math.ceil(dim / 2);
  for (let pos = 0; pos < positions; pos++) {
    const row = pos * dim;
    for (let j = 0; j < dim; j++) {
      const angle = pos / 10000 ** ((2 * Math.floor(j / 2)) / dim);
      if (j % 2 === 0) out[row + j / 2] = Math.sin(angle);
      else out[row + half + (j - 1) / 2] = Math.cos(angle);
    }
  }
}
