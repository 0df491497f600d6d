/**
 * Decodes a tensor's little-endian bytes into numbers for display (inspect --tensor): first values and
 * min/max/mean, like TensorFlow's inspect_checkpoint. Display only: nothing here feeds a conversion.
 */
import { halfToFloatBits } from '../mapping/cast.js';
import { type DType, numElements } from '../tensor.js';

const scratch = new DataView(new ArrayBuffer(4));

/** The float32 whose bits are `bits` (float16 and bfloat16 widen exactly to float32). */
function floatFromBits(bits: number): number {
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}

export interface ValueSummary {
  count: number;
  first: (number | string)[];
  min?: number;
  max?: number;
  mean?: number;
}

/** A reader of element i as a JS number (bigint-valued types are converted, possibly rounding). */
function elementReader(dtype: DType, view: DataView): ((i: number) => number) | undefined {
  switch (dtype) {
    case 'float32':
      return (i) => view.getFloat32(i * 4, true);
    case 'float64':
      return (i) => view.getFloat64(i * 8, true);
    case 'float16':
      return (i) => floatFromBits(halfToFloatBits(view.getUint16(i * 2, true)));
    case 'bfloat16':
      return (i) => floatFromBits(view.getUint16(i * 2, true) << 16);
    case 'int8':
      return (i) => view.getInt8(i);
    case 'uint8':
      return (i) => view.getUint8(i);
    case 'bool':
      return (i) => view.getUint8(i);
    case 'int16':
      return (i) => view.getInt16(i * 2, true);
    case 'uint16':
      return (i) => view.getUint16(i * 2, true);
    case 'int32':
      return (i) => view.getInt32(i * 4, true);
    case 'uint32':
      return (i) => view.getUint32(i * 4, true);
    case 'int64':
      return (i) => Number(view.getBigInt64(i * 8, true));
    case 'uint64':
      return (i) => Number(view.getBigUint64(i * 8, true));
    case 'complex64':
      return (i) => view.getFloat32(i * 4, true); // per scalar (re, im, re, …)
    case 'complex128':
      return (i) => view.getFloat64(i * 8, true);
    default:
      return undefined;
  }
}

/** Summary of `bytes` holding a tensor of `dtype` and `shape`; `firstCount` values are listed. */
export function summarizeValues(
  dtype: DType,
  shape: readonly number[],
  bytes: Uint8Array,
  firstCount = 10,
): ValueSummary {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = elementReader(dtype, view);
  if (read === undefined) return { count: numElements(shape), first: [`(${bytes.length} raw stored bytes)`] };
  const complex = dtype === 'complex64' || dtype === 'complex128';
  const count = numElements(shape) * (complex ? 2 : 1);
  const first: number[] = [];
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const v = read(i);
    if (i < firstCount) first.push(v);
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  if (count === 0 || complex) return { count, first };
  return { count, first, min, max, mean: sum / count };
}
