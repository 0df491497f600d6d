/**
 * Transforms on bytes (execution time): the byte-level twin of transformType(). Inputs and output are
 * dense little-endian row-major tensors; the result is a fresh contiguous buffer whenever data moves.
 */

import { DTYPES, type DType, numElements } from '../tensor.js';
import { castBytes } from './cast.js';
import { concatSlices, resolveReshape, type Transform, transformType, transposeAxes } from './transforms.js';

export interface DenseTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

export type Words = Uint8Array | Uint16Array | Uint32Array;

/**
 * Where results go: `allocate(n)` returns n bytes of any content, 8-byte aligned, which the transform
 * then overwrites entirely. The executor passes one that recycles buffers; by default they are fresh.
 */
export type Allocate = (byteLength: number) => Uint8Array;

export const freshBytes: Allocate = (n) => new Uint8Array(n);

/**
 * Views the bytes as words as wide as possible (≤ 4 bytes) that divide the item size; an item is
 * `perItem` words. Integer words: no float NaN canonicalisation can ever touch the data. `make`
 * does not zero-fill: every caller writes each word of what it makes.
 */
function asWords(
  bytes: Uint8Array,
  itemSize: number,
  allocate: Allocate,
): { words: Words; perItem: number; make: (n: number) => Words } {
  const width = itemSize % 4 === 0 ? 4 : itemSize % 2 === 0 ? 2 : 1;
  // A copy (a fresh array, not a view of the same bytes) realigns the data.
  const b = bytes.byteOffset % width === 0 ? bytes : new Uint8Array(bytes);
  return { words: wordsOf(b, width), perItem: itemSize / width, make: (n) => wordsOf(allocate(n * width), width) };
}

/** The bytes as words of `width` bytes (4, 2, or 1: the bytes themselves), sharing their memory. */
export function wordsOf(b: Uint8Array, width: number): Words {
  if (width === 4) return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  if (width === 2) return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  return b;
}

function toBytes(w: Words): Uint8Array {
  return w instanceof Uint8Array ? w : new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
}

/** Rows handled together: each step reads 16 source rows and writes 16 adjacent output words (a cache line of float32). */
const ROW_GROUP = 16;
/** Source columns per tile: 16 rows of them and the output lines being filled stay in cache. */
const TILE_COLUMNS = 64;

/**
 * 2-D transpose of a [rows, cols] matrix of single-word items. Blocked, and 16 rows at a time so that
 * output writes are contiguous: a plain tile loop is 4-8x slower when `rows` is a large power of
 * two (e.g. [3072, 768]), where every output word of a column lands in the same cache set.
 */
function transpose2d(src: Words, dst: Words, rows: number, cols: number): void {
  transposeBlock(src, 0, cols, rows, cols, dst);
}

/**
 * A block of a 2-D transpose read straight from its source: `dst[j * rows + r] = src[base + r *
 * stride + j]` for r < rows, j < cols, in words of one width. Unrolled by hand: V8 does not unroll,
 * and the loop form is about 1.7x slower.
 */
export function transposeBlock(src: Words, base: number, stride: number, rows: number, cols: number, dst: Words): void {
  const grouped = rows - (rows % ROW_GROUP);
  for (let c0 = 0; c0 < cols; c0 += TILE_COLUMNS) {
    const c1 = Math.min(cols, c0 + TILE_COLUMNS);
    for (let r = 0; r < grouped; r += ROW_GROUP) {
      const rowBase = base + r * stride;
      for (let c = c0; c < c1; c++) {
        const o = c * rows + r;
        let i = rowBase + c;
        dst[o] = src[i] as number;
        i += stride;
        dst[o + 1] = src[i] as number;
        i += stride;
        dst[o + 2] = src[i] as number;
        i += stride;
        dst[o + 3] = src[i] as number;
        i += stride;
        dst[o + 4] = src[i] as number;
        i += stride;
        dst[o + 5] = src[i] as number;
        i += stride;
        dst[o + 6] = src[i] as number;
        i += stride;
        dst[o + 7] = src[i] as number;
        i += stride;
        dst[o + 8] = src[i] as number;
        i += stride;
        dst[o + 9] = src[i] as number;
        i += stride;
        dst[o + 10] = src[i] as number;
        i += stride;
        dst[o + 11] = src[i] as number;
        i += stride;
        dst[o + 12] = src[i] as number;
        i += stride;
        dst[o + 13] = src[i] as number;
        i += stride;
        dst[o + 14] = src[i] as number;
        i += stride;
        dst[o + 15] = src[i] as number;
      }
    }
  }
  if (grouped < rows) transposeLastRows(src, base, stride, grouped, rows, cols, dst);
}

/**
 * The rows after the last full group. A function of its own: inline, its loops (which most calls never
 * enter) had no type feedback, and V8 threw the optimised transpose away at the end of a call — 27
 * times in a BERT-base conversion, each band starting again unoptimised. Apart: 4 times, and the
 * transposes of that conversion took 233 ms instead of 261.
 */
function transposeLastRows(
  src: Words,
  base: number,
  stride: number,
  from: number,
  rows: number,
  cols: number,
  dst: Words,
): void {
  for (let r = from; r < rows; r++) {
    const rowBase = base + r * stride;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[rowBase + c] as number;
  }
}

/**
 * `transposeBlock` from bfloat16 words into float32 ones: each word becomes the high half (exact).
 * A function of its own, not a shift parameter, so that V8 compiles it for these two array types
 * only: called with every word width, the shared function ran at half the speed.
 */
export function transposeWidenBlock(
  src: Uint16Array,
  base: number,
  stride: number,
  rows: number,
  cols: number,
  dst: Uint32Array,
): void {
  const grouped = rows - (rows % ROW_GROUP);
  for (let c0 = 0; c0 < cols; c0 += TILE_COLUMNS) {
    const c1 = Math.min(cols, c0 + TILE_COLUMNS);
    for (let r = 0; r < grouped; r += ROW_GROUP) {
      const rowBase = base + r * stride;
      for (let c = c0; c < c1; c++) {
        const o = c * rows + r;
        let i = rowBase + c;
        dst[o] = (src[i] as number) << 16;
        i += stride;
        dst[o + 1] = (src[i] as number) << 16;
        i += stride;
        dst[o + 2] = (src[i] as number) << 16;
        i += stride;
        dst[o + 3] = (src[i] as number) << 16;
        i += stride;
        dst[o + 4] = (src[i] as number) << 16;
        i += stride;
        dst[o + 5] = (src[i] as number) << 16;
        i += stride;
        dst[o + 6] = (src[i] as number) << 16;
        i += stride;
        dst[o + 7] = (src[i] as number) << 16;
        i += stride;
        dst[o + 8] = (src[i] as number) << 16;
        i += stride;
        dst[o + 9] = (src[i] as number) << 16;
        i += stride;
        dst[o + 10] = (src[i] as number) << 16;
        i += stride;
        dst[o + 11] = (src[i] as number) << 16;
        i += stride;
        dst[o + 12] = (src[i] as number) << 16;
        i += stride;
        dst[o + 13] = (src[i] as number) << 16;
        i += stride;
        dst[o + 14] = (src[i] as number) << 16;
        i += stride;
        dst[o + 15] = (src[i] as number) << 16;
      }
    }
  }
  if (grouped < rows) widenLastRows(src, base, stride, grouped, rows, cols, dst);
}

/** `transposeLastRows` of `transposeWidenBlock`. */
function widenLastRows(
  src: Uint16Array,
  base: number,
  stride: number,
  from: number,
  rows: number,
  cols: number,
  dst: Uint32Array,
): void {
  for (let r = from; r < rows; r++) {
    const rowBase = base + r * stride;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = (src[rowBase + c] as number) << 16;
  }
}

/** General permutation of axes; an item of several words is an extra innermost axis that stays put. */
export function transposeBytes(t: DenseTensor, axes?: readonly number[], allocate: Allocate = freshBytes): DenseTensor {
  const perm = transposeAxes(t.shape.length, axes);
  const shape = perm.map((a) => t.shape[a] as number);
  const { words, perItem, make } = asWords(t.bytes, DTYPES[t.dtype].itemSize, allocate);
  const out = make(words.length);
  if (t.shape.length === 2 && perItem === 1 && perm[0] === 1) {
    transpose2d(words, out, t.shape[0] as number, t.shape[1] as number);
    return { dtype: t.dtype, shape, bytes: toBytes(out) };
  }
  const inDims = [...t.shape, perItem];
  const inStrides = new Array<number>(inDims.length).fill(1);
  for (let i = inDims.length - 2; i >= 0; i--) inStrides[i] = (inStrides[i + 1] as number) * (inDims[i + 1] as number);
  const fullPerm = [...perm, inDims.length - 1];
  const outDims = fullPerm.map((a) => inDims[a] as number);
  const srcStride = fullPerm.map((a) => inStrides[a] as number);
  const rank = outDims.length;
  const index = new Array<number>(rank).fill(0);
  let from = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = words[from] as number;
    // Odometer increment over the output index, tracking the source offset.
    for (let d = rank - 1; d >= 0; d--) {
      from += srcStride[d] as number;
      const next = (index[d] as number) + 1;
      if (next < (outDims[d] as number)) {
        index[d] = next;
        break;
      }
      from -= (srcStride[d] as number) * (outDims[d] as number);
      index[d] = 0;
    }
  }
  return { dtype: t.dtype, shape, bytes: toBytes(out) };
}

/** Slice `index` along `axis`, dropping the axis. */
export function selectBytes(t: DenseTensor, axis: number, index: number, allocate: Allocate = freshBytes): DenseTensor {
  const itemSize = DTYPES[t.dtype].itemSize;
  const outer = numElements(t.shape.slice(0, axis));
  const n = t.shape[axis] as number;
  const inner = numElements(t.shape.slice(axis + 1)) * itemSize;
  const out = allocate(outer * inner);
  for (let o = 0; o < outer; o++) {
    const at = (o * n + index) * inner;
    out.set(t.bytes.subarray(at, at + inner), o * inner);
  }
  return { dtype: t.dtype, shape: t.shape.filter((_, i) => i !== axis), bytes: out };
}

/** Indices `start` to `end - 1` along `axis`, the axis kept. */
export function sliceBytes(
  t: DenseTensor,
  axis: number,
  start: number,
  end: number,
  allocate: Allocate = freshBytes,
): DenseTensor {
  const itemSize = DTYPES[t.dtype].itemSize;
  const outer = numElements(t.shape.slice(0, axis));
  const n = t.shape[axis] as number;
  const inner = numElements(t.shape.slice(axis + 1)) * itemSize;
  const length = (end - start) * inner;
  const out = allocate(outer * length);
  for (let o = 0; o < outer; o++) {
    const at = (o * n + start) * inner;
    out.set(t.bytes.subarray(at, at + length), o * length);
  }
  return { dtype: t.dtype, shape: t.shape.map((d, i) => (i === axis ? end - start : d)), bytes: out };
}

/** Concatenation along `axis` (shapes already checked by transformType). */
export function concatBytes(parts: readonly DenseTensor[], axis: number, allocate: Allocate = freshBytes): DenseTensor {
  const first = parts[0] as DenseTensor;
  const itemSize = DTYPES[first.dtype].itemSize;
  const outer = numElements(first.shape.slice(0, axis));
  const inner = numElements(first.shape.slice(axis + 1)) * itemSize;
  const rank = first.shape.length;
  const total = parts.reduce((s, p) => s + concatSlices(p.shape, rank, axis), 0);
  const out = allocate(outer * total * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const len = concatSlices(p.shape, rank, axis) * inner;
      out.set(p.bytes.subarray(o * len, (o + 1) * len), at);
      at += len;
    }
  }
  const shape = [...first.shape];
  shape[axis] = total;
  return { dtype: first.dtype, shape, bytes: out };
}

/** A copy with slice `index` along `axis` set to zeros (zero bits are zero in every dtype). */
export function zeroSliceBytes(
  t: DenseTensor,
  axis: number,
  index: number,
  allocate: Allocate = freshBytes,
): DenseTensor {
  const outer = numElements(t.shape.slice(0, axis));
  const n = t.shape[axis] as number;
  const inner = numElements(t.shape.slice(axis + 1)) * DTYPES[t.dtype].itemSize;
  const out = allocate(t.bytes.byteLength);
  out.set(t.bytes);
  for (let o = 0; o < outer; o++) out.fill(0, (o * n + index) * inner, (o * n + index + 1) * inner);
  return { ...t, bytes: out };
}

/** Applies the transforms of a plan output to its source tensors' bytes; moved data goes to `allocate`d buffers. */
export function applyTransforms(
  inputs: readonly DenseTensor[],
  transforms: readonly Transform[],
  allocate: Allocate = freshBytes,
): DenseTensor {
  transformType(inputs, transforms); // same validation as at plan time
  let t = inputs[0] as DenseTensor;
  let rest = transforms;
  if (inputs.length > 1) {
    const concat = transforms[0] as { op: 'concat'; axis: number };
    t = concatBytes(inputs, concat.axis, allocate);
    rest = transforms.slice(1);
  }
  for (const op of rest) {
    switch (op.op) {
      case 'transpose':
        t = transposeBytes(t, op.axes, allocate);
        break;
      case 'squeeze':
        t = {
          ...t,
          shape: op.axis === undefined ? t.shape.filter((d) => d !== 1) : t.shape.filter((_, i) => i !== op.axis),
        };
        break;
      case 'select':
        t = selectBytes(t, op.axis, op.index, allocate);
        break;
      case 'slice':
        t = sliceBytes(t, op.axis, op.start, op.end, allocate);
        break;
      case 'reshape':
        t = { ...t, shape: resolveReshape(t.shape, op.shape) };
        break;
      case 'concat':
        break; // rejected by transformType
      case 'cast':
        t = { dtype: op.dtype, shape: t.shape, bytes: castBytes(t.bytes, t.dtype, op.dtype) };
        break;
      case 'zero':
        t = zeroSliceBytes(t, op.axis, op.index, allocate);
        break;
    }
  }
  return t;
}
