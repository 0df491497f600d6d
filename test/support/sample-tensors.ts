/**
 * Deterministic tensors covering every dtype PyTorch has a storage for, plus the shape edge cases
 * (0-dim, empty, 1-D, 3-D), for writer round trips. Bytes are pseudo-random but valid (bools 0/1).
 */
import { DTYPES, type DType, memoryTensor, numElements, type TensorRef } from '../../src/tensor.js';

export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function sampleTensor(name: string, dtype: DType, shape: readonly number[], seed = 1): TensorRef {
  const bytes = pseudoRandomBytes(numElements(shape) * DTYPES[dtype].itemSize, seed);
  if (dtype === 'bool') for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! & 1;
  return memoryTensor(name, dtype, shape, bytes);
}

export const TORCH_DTYPES: readonly DType[] = [
  'float16',
  'float32',
  'float64',
  'bfloat16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'bool',
  'complex64',
  'complex128',
];

/** One tensor per dtype (shape [2, 3]), then 0-dim, empty and odd shapes. */
export function sampleStateDict(dtypes: readonly DType[] = TORCH_DTYPES): TensorRef[] {
  const out = dtypes.map((d, i) => sampleTensor(`layer.${d}.weight`, d, [2, 3], i + 1));
  out.push(sampleTensor('scalar', 'float32', [], 101));
  out.push(sampleTensor('masked_bias', 'int64', [], 102));
  out.push(sampleTensor('empty', 'float32', [0], 103));
  out.push(sampleTensor('empty2d', 'int32', [3, 0], 104));
  out.push(sampleTensor('vector', 'float16', [7], 105));
  out.push(sampleTensor('cube', 'float32', [2, 3, 4], 106));
  return out;
}

/** A tensor whose stream fails after its first chunk (atomicity tests). */
export function failingTensor(name: string, byteLength = 4096): TensorRef {
  return {
    name,
    dtype: 'uint8',
    shape: [byteLength],
    byteLength,
    read: async () => {
      throw new Error(`simulated read failure in ${name}`);
    },
    async *stream() {
      yield new Uint8Array(16);
      throw new Error(`simulated read failure in ${name}`);
    },
  };
}
