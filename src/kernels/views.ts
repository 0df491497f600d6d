/**
 * Transforms as index arithmetic, so that an output can be produced in bands without its sources in
 * memory: transpose, select, slice, squeeze and (contiguous) reshape turn a source into a strided view of
 * its elements; a concat of whole parts is the parts in sequence; casts are elementwise and apply to
 * any band. A band of the output is a smaller view; its elements are gathered in runs that are
 * contiguous in the source (in source order), then permuted into output order.
 */

import { numElements } from '../tensor.js';
import { resolveReshape, type ShapedType, type Transform, transformType, transposeAxes } from './transforms.js';

/** Elements of source `input` at `offset + Σ index[i]·strides[i]`, in row-major order of `shape`. */
export interface ElementView {
  readonly input: number;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

export interface CompiledOutput {
  /** The output's elements are these views' elements, one view after the other. */
  readonly views: readonly ElementView[];
  /** Elementwise conversions applied in order to the gathered elements. */
  readonly casts: readonly { from: ShapedType['dtype']; to: ShapedType['dtype'] }[];
  readonly type: ShapedType;
  /** Slices of the output set to zeros once gathered (`zero` transforms, followed by casts only). */
  readonly zeroed?: readonly ZeroedSlice[];
}

export interface ZeroedSlice {
  readonly axis: number;
  readonly index: number;
}

export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = (strides[i + 1] as number) * (shape[i + 1] as number);
  return strides;
}

function isContiguous(v: ElementView): boolean {
  const expected = rowMajorStrides(v.shape);
  return v.shape.every((d, i) => d === 1 || v.strides[i] === expected[i]);
}

function dropAxes(v: ElementView, drop: (size: number, axis: number) => boolean): ElementView {
  const keep = v.shape.map((d, i) => !drop(d, i));
  return { ...v, shape: v.shape.filter((_, i) => keep[i]), strides: v.strides.filter((_, i) => keep[i]) };
}

/**
 * The output of `transforms` over `inputs` as views, or undefined where a transform mixes elements in
 * a way views cannot express (a reshape of a transposed view, a concat along an inner axis followed
 * by more than casts): those outputs are computed whole.
 */
export function compileViews(
  inputs: readonly ShapedType[],
  transforms: readonly Transform[],
): CompiledOutput | undefined {
  const type = transformType(inputs, transforms); // the same validation as at plan time
  const whole = (input: number): ElementView => {
    const shape = (inputs[input] as ShapedType).shape;
    return { input, offset: 0, shape, strides: rowMajorStrides(shape) };
  };
  let dtype = (inputs[0] as ShapedType).dtype;
  const casts: { from: typeof dtype; to: typeof dtype }[] = [];
  let rest = transforms;
  if (inputs.length > 1) {
    const axis = (transforms[0] as { op: 'concat'; axis: number }).axis;
    rest = transforms.slice(1);
    // A concat is its parts in sequence when every axis before the concat axis has size 1.
    if ((inputs[0] as ShapedType).shape.slice(0, axis).some((d) => d !== 1)) return undefined;
    if (rest.some((op) => op.op !== 'cast')) return undefined;
    for (const op of rest) {
      if (op.op !== 'cast') continue;
      casts.push({ from: dtype, to: op.dtype });
      dtype = op.dtype;
    }
    return { views: inputs.map((_, i) => whole(i)), casts, type };
  }
  let v = whole(0);
  const zeroed: ZeroedSlice[] = [];
  for (const [i, op] of rest.entries()) {
    switch (op.op) {
      case 'transpose': {
        const perm = transposeAxes(v.shape.length, op.axes);
        v = { ...v, shape: perm.map((a) => v.shape[a] as number), strides: perm.map((a) => v.strides[a] as number) };
        break;
      }
      case 'squeeze':
        v = dropAxes(v, (d, i) => (op.axis === undefined ? d === 1 : i === op.axis));
        break;
      case 'select':
        v = { ...dropAxes(v, (_, i) => i === op.axis), offset: v.offset + op.index * (v.strides[op.axis] as number) };
        break;
      case 'slice':
        v = {
          ...v,
          shape: v.shape.map((d, i) => (i === op.axis ? op.end - op.start : d)),
          offset: v.offset + op.start * (v.strides[op.axis] as number),
        };
        break;
      case 'reshape': {
        if (!isContiguous(v)) return undefined;
        const shape = resolveReshape(v.shape, op.shape);
        v = { ...v, shape, strides: rowMajorStrides(shape) };
        break;
      }
      case 'cast':
        casts.push({ from: dtype, to: op.dtype });
        dtype = op.dtype;
        break;
      case 'concat':
        return undefined; // rejected by transformType
      case 'zero':
        // Zeroed in each band once gathered; a reordering after it would move the slice.
        if (rest.slice(i + 1).some((next) => next.op !== 'cast')) return undefined;
        zeroed.push({ axis: op.axis, index: op.index });
        break;
    }
  }
  return zeroed.length > 0 ? { views: [v], casts, type, zeroed } : { views: [v], casts, type };
}

/**
 * Sets to zero, in a band holding output elements [start, start + band.byteLength / itemSize) of an
 * output of `shape`, the elements its zeroed slices cover.
 */
export function zeroInBand(
  band: Uint8Array,
  start: number,
  itemSize: number,
  shape: readonly number[],
  zeroed: readonly ZeroedSlice[],
): void {
  const end = start + band.byteLength / itemSize;
  for (const { axis, index } of zeroed) {
    const inner = numElements(shape.slice(axis + 1));
    const period = (shape[axis] as number) * inner;
    if (period === 0) continue;
    for (let o = Math.floor(start / period); o * period + index * inner < end; o++) {
      const from = Math.max(start, o * period + index * inner);
      const to = Math.min(end, o * period + (index + 1) * inner);
      if (from < to) band.fill(0, (from - start) * itemSize, (to - start) * itemSize);
    }
  }
}

/**
 * Sub-views of `v` with at most `maxElements` elements each (at least one element), whose contents
 * one after the other are `v`'s: ranges along the outermost axis whose trailing block fits, for
 * every index of the axes before it.
 */
export function* bandsOf(v: ElementView, maxElements: number): Generator<ElementView> {
  const n = numElements(v.shape);
  if (n === 0) return;
  if (n <= maxElements) {
    yield v;
    return;
  }
  let axis = 0;
  while (numElements(v.shape.slice(axis + 1)) > maxElements) axis++;
  const inner = numElements(v.shape.slice(axis + 1));
  const perBand = Math.max(1, Math.floor(maxElements / inner));
  const outer = v.shape.slice(0, axis);
  const index = new Array<number>(axis).fill(0);
  const size = v.shape[axis] as number;
  for (let o = 0; o < numElements(outer); o++) {
    let base = v.offset;
    for (let a = 0; a < axis; a++) base += (index[a] as number) * (v.strides[a] as number);
    for (let at = 0; at < size; at += perBand) {
      yield {
        input: v.input,
        offset: base + at * (v.strides[axis] as number),
        shape: [Math.min(perBand, size - at), ...v.shape.slice(axis + 1)],
        strides: v.strides.slice(axis),
      };
    }
    for (let a = axis - 1; a >= 0; a--) {
      index[a] = (index[a] as number) + 1;
      if ((index[a] as number) < (outer[a] as number)) break;
      index[a] = 0;
    }
  }
}

/** Whether the view's elements lie in its source in the view's own order (it reads front to back). */
export function inSourceOrder(view: ElementView): boolean {
  const strides = view.strides.filter((_, i) => view.shape[i] !== 1);
  return strides.every((s, i) => i === 0 || s < (strides[i - 1] as number));
}

/**
 * How to gather a view: `runs` runs of `runLength` elements at `offsets` (ascending when `inOrder`),
 * filling a buffer of shape `gatheredShape` in row-major order; `axes` then permutes that buffer into
 * the view's order (undefined: it already is, the view reads its source front to back).
 */
export interface GatherPlan {
  readonly offsets: Float64Array;
  readonly runLength: number;
  readonly gatheredShape: readonly number[];
  readonly axes: readonly number[] | undefined;
}

/** A view's axes in source order, and how many of the innermost make one contiguous run. */
function sourceOrder(view: ElementView) {
  const v = dropAxes(view, (d) => d === 1); // size-1 axes change neither order nor layout
  // Source order: the axes by decreasing stride (stable, so equal strides keep the view's order).
  const order = [...v.shape.keys()].sort((a, b) => (v.strides[b] as number) - (v.strides[a] as number));
  const shape = order.map((a) => v.shape[a] as number);
  const strides = order.map((a) => v.strides[a] as number);
  let runLength = 1;
  let first = shape.length;
  while (first > 0 && strides[first - 1] === runLength) {
    first--;
    runLength *= shape[first] as number;
  }
  return { v, order, shape, strides, runLength, outer: shape.slice(0, first) };
}

/** How many runs gathering the view takes, of how many elements (gatherPlan's, without building it). */
export function runsOf(view: ElementView): { readonly count: number; readonly runLength: number } {
  const { outer, runLength } = sourceOrder(view);
  return { count: numElements(outer), runLength };
}

export function gatherPlan(view: ElementView): GatherPlan {
  const { v, order, shape, strides, runLength, outer } = sourceOrder(view);
  const first = outer.length;
  const offsets = new Float64Array(numElements(outer));
  const index = new Array<number>(first).fill(0);
  let at = v.offset;
  if (first === 1) {
    // one outer axis (a narrow kernel's band: a million runs of one element): a plain loop
    const step = strides[0] as number;
    for (let r = 0; r < offsets.length; r++) offsets[r] = at + r * step;
  } else {
    for (let r = 0; r < offsets.length; r++) {
      offsets[r] = at;
      for (let a = first - 1; a >= 0; a--) {
        at += strides[a] as number;
        index[a] = (index[a] as number) + 1;
        if ((index[a] as number) < (outer[a] as number)) break;
        at -= (strides[a] as number) * (outer[a] as number);
        index[a] = 0;
      }
    }
  }
  const identity = order.every((a, i) => a === i);
  return {
    offsets,
    runLength,
    gatheredShape: shape,
    axes: identity ? undefined : order.map((_, i) => order.indexOf(i)),
  };
}
