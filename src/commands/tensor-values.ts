/**
 * Decodes a tensor's little-endian bytes into numbers for display (inspect --tensor): first values and
 * min/max/mean, like TensorFlow's inspect_checkpoint. Display only: nothing here feeds a conversion.
 */
import { ByteReader } from '../io/bytes.js';
import { halfToFloatBits } from '../kernels/cast.js';
import { type DType, numElements, type TensorRef } from '../tensor.js';

const scratch = new DataView(new ArrayBuffer(4));

/** A string value is shown up to this many characters: a tensor may hold one string of 60 MB. */
export const MAX_SHOWN_STRING_CHARS = 80;

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

function float32Reader(bytes: Uint8Array): (i: number) => number {
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return (i) => values[i] as number;
}

/** Bytes per scalar read by elementReader (a complex element is two scalars). */
const SCALAR_BYTES: Partial<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  complex64: 4,
  complex128: 8,
};

/** First values, min, max and a running sum over scalars fed in order, in any number of pieces. */
class Summarizer {
  private readonly first: number[] = [];
  private min = Infinity;
  private max = -Infinity;
  private sum = 0;
  private seen = 0;

  constructor(
    private readonly dtype: DType,
    private readonly firstCount: number,
  ) {}

  /** Whole scalars only. */
  add(bytes: Uint8Array): void {
    const read =
      this.dtype === 'float32' && bytes.byteOffset % 4 === 0
        ? float32Reader(bytes) // the common case, several times faster than a DataView
        : (elementReader(this.dtype, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as (
            i: number,
          ) => number);
    const n = bytes.byteLength / (SCALAR_BYTES[this.dtype] as number);
    for (let i = 0; i < n; i++) {
      const v = read(i);
      if (this.seen + i < this.firstCount) this.first.push(v);
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      this.sum += v;
    }
    this.seen += n;
  }

  result(): ValueSummary {
    const count = this.seen;
    if (count === 0 || this.dtype === 'complex64' || this.dtype === 'complex128') return { count, first: this.first };
    return { count, first: this.first, min: this.min, max: this.max, mean: this.sum / count };
  }
}

/** Summary of `bytes` holding a tensor of `dtype` and `shape`; `firstCount` values are listed. */
export function summarizeValues(
  dtype: DType,
  shape: readonly number[],
  bytes: Uint8Array,
  firstCount = 10,
): ValueSummary {
  if (dtype === 'string') return summarizeStrings(bytes, numElements(shape), firstCount);
  if (SCALAR_BYTES[dtype] === undefined)
    return { count: numElements(shape), first: [`(${bytes.length} raw stored bytes)`] };
  const summarizer = new Summarizer(dtype, firstCount);
  summarizer.add(bytes);
  return summarizer.result();
}

/**
 * The same summary, read in chunks: memory stays at a chunk or two whatever the tensor's size (a
 * tensor of 2 GiB or more cannot be one buffer read in one call).
 */
export async function summarizeTensor(ref: TensorRef, firstCount = 10): Promise<ValueSummary> {
  const scalar = SCALAR_BYTES[ref.dtype];
  if (scalar === undefined) return summarizeValues(ref.dtype, ref.shape, await ref.read(), firstCount);
  const summarizer = new Summarizer(ref.dtype, firstCount);
  let carry = new Uint8Array(0);
  for await (const chunk of ref.stream()) {
    let bytes = chunk;
    if (carry.byteLength > 0) {
      bytes = new Uint8Array(carry.byteLength + chunk.byteLength);
      bytes.set(carry);
      bytes.set(chunk, carry.byteLength);
    }
    const whole = bytes.byteLength - (bytes.byteLength % scalar);
    summarizer.add(bytes.subarray(0, whole));
    carry = bytes.slice(whole);
  }
  return summarizer.result();
}

/**
 * The first strings of a TF DT_STRING tensor as stored (varint lengths, their 4-byte checksum, the bytes),
 * each cut to MAX_SHOWN_STRING_CHARS: only what is shown is decoded, whatever the tensor's size.
 */
function summarizeStrings(bytes: Uint8Array, count: number, firstCount: number): ValueSummary {
  const r = new ByteReader(bytes, 'string tensor');
  const shown: number[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.varint('string length');
    if (i < firstCount) shown.push(length);
  }
  r.skip(4, 'length checksum');
  const first = shown.map((length) => {
    const cut = Math.min(length, MAX_SHOWN_STRING_CHARS * 4); // UTF-8: at most 4 bytes per character
    const text = Buffer.from(r.bytesN(length, 'string').subarray(0, cut)).toString('utf8');
    return text.length > MAX_SHOWN_STRING_CHARS || cut < length
      ? `${JSON.stringify(text.slice(0, MAX_SHOWN_STRING_CHARS))}… (${length} bytes)`
      : JSON.stringify(text);
  });
  return { count, first };
}
