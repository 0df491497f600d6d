/**
 * Independent, deliberately naive versions of the conversion rules (element loops, no shared code with
 * src/mapping), so that architecture tests compare the tool's output against a second computation:
 * numpy's `.T` on a 2-D array, `array[i, ...]`, and bfloat16 → float32 widening.
 */
import { openTfCheckpoint } from '../../src/formats/tf-checkpoint/index.js';
import { DTYPES, type DType } from '../../src/tensor.js';

export interface RawTensor {
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

/** Every tensor of a TF checkpoint, read through the bundle reader (tested against real files elsewhere). */
export async function readTfTensors(prefix: string): Promise<Map<string, RawTensor>> {
  const ckpt = await openTfCheckpoint(prefix);
  const out = new Map<string, RawTensor>();
  try {
    for (const t of ckpt.tensors) out.set(t.name, { dtype: t.dtype, shape: [...t.shape], bytes: await t.read() });
  } finally {
    await ckpt.close();
  }
  return out;
}

/** numpy `.T` of a 2-D array: element (i, j) of the result is element (j, i) of the input. */
export function transpose2d(t: RawTensor): RawTensor {
  const [rows, cols] = t.shape as [number, number];
  const size = DTYPES[t.dtype].itemSize;
  const out = new Uint8Array(t.bytes.length);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const from = (i * cols + j) * size;
      const to = (j * rows + i) * size;
      for (let b = 0; b < size; b++) out[to + b] = t.bytes[from + b] as number;
    }
  }
  return { dtype: t.dtype, shape: [cols, rows], bytes: out };
}

/** `array[index, ...]`: the index-th slab along the first axis. */
export function selectFirstAxis(t: RawTensor, index: number): RawTensor {
  const rest = t.shape.slice(1);
  const slab = rest.reduce((a, b) => a * b, 1) * DTYPES[t.dtype].itemSize;
  return { dtype: t.dtype, shape: rest, bytes: t.bytes.slice(index * slab, (index + 1) * slab) };
}

/** numpy squeeze(): drop every size-1 axis (bytes unchanged). */
export function squeezeAll(t: RawTensor): RawTensor {
  return { dtype: t.dtype, shape: t.shape.filter((d) => d !== 1), bytes: t.bytes };
}

/** bfloat16 → float32 is exact: the 16 bits become the high half of the float32. */
export function bf16ToF32(t: RawTensor): RawTensor {
  if (t.dtype !== 'bfloat16') throw new Error(`bf16ToF32 on ${t.dtype}`);
  const n = t.bytes.length / 2;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4 + 2] = t.bytes[i * 2] as number;
    out[i * 4 + 3] = t.bytes[i * 2 + 1] as number;
  }
  return { dtype: 'float32', shape: t.shape, bytes: out };
}
