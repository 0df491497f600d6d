/**
 * Transforms on shapes (plan time) and on dtypes. The same list drives `applyTransforms` on bytes at
 * execution time (apply.ts), so what `--dry-run` prints is what gets written.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { type DType, FLOAT_DTYPES, numElements } from '../tensor.js';

/**
 * Transforms, applied in order to the source tensor(s). Shapes are computed from these at plan time;
 * bytes are transformed at execution time.
 */
export type Transform =
  /** Permute axes; without `axes`, reverse them (numpy's `.T`; a 2-D kernel [in, out] → [out, in]). */
  | { readonly op: 'transpose'; readonly axes?: readonly number[] }
  /** Remove size-1 axes: all of them (numpy's `squeeze()`), or only `axis`. */
  | { readonly op: 'squeeze'; readonly axis?: number }
  /** Take slice `index` along `axis` and drop that axis (one per layer: XLNet's r_w_bias [L, n, d]). */
  | { readonly op: 'select'; readonly axis: number; readonly index: number }
  /** Keep indices `start` to `end - 1` along `axis` (numpy's `a[:n]`: GPT-Neo's padded embedding cut to the vocabulary). */
  | { readonly op: 'slice'; readonly axis: number; readonly start: number; readonly end: number }
  /** Reshape to a shape with the same element count (-1 allowed once). */
  | { readonly op: 'reshape'; readonly shape: readonly number[] }
  /**
   * Concatenate several sources along `axis` (only with several sources; must come first). A source with one
   * axis fewer is one slice along `axis` (numpy's `concatenate([a, b[None]])`: ImageGPT's `sos` row).
   */
  | { readonly op: 'concat'; readonly axis: number }
  /** Convert element type (bfloat16/float16/float32/float64 among each other), exactly as numpy/torch do. */
  | { readonly op: 'cast'; readonly dtype: DType }
  /** Set slice `index` along `axis` to zeros, shape unchanged (Pegasus's padding row of the embedding). */
  | { readonly op: 'zero'; readonly axis: number; readonly index: number };

export interface ShapedType {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

function fail(message: string): never {
  throw new Tf2TorchError(ErrorCode.PLAN, message);
}

/** The permutation a transpose applies to a tensor of `rank` axes (reversed when `axes` is absent). */
export function transposeAxes(rank: number, axes?: readonly number[]): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const sorted = [...axes].sort((a, b) => a - b);
  if (axes.length !== rank || sorted.some((a, i) => a !== i))
    fail(`transpose axes [${axes.join(', ')}] are not a permutation of ${rank} axes`);
  return [...axes];
}

function checkAxis(axis: number, rank: number, op: string): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank)
    fail(`${op}: axis ${axis} out of range for a ${rank}-D tensor`);
}

/** Shape after a reshape target with at most one -1. */
export function resolveReshape(from: readonly number[], to: readonly number[]): number[] {
  const total = numElements(from);
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1) fail(`reshape to [${to.join(', ')}]: at most one -1`);
  const known = numElements(to.filter((d) => d !== -1));
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
  if (numElements(out) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) {
    fail(`cannot reshape [${from.join(', ')}] to [${to.join(', ')}]`);
  }
  return out;
}

/** How many slices along `axis` a concat source of `shape` gives to an output of `rank` axes (1 for a lone slice). */
export function concatSlices(shape: readonly number[], rank: number, axis: number): number {
  return shape.length === rank ? (shape[axis] as number) : 1;
}

/** Shape and dtype after the transforms; throws E_PLAN with the reason when they do not apply. */
export function transformType(inputs: readonly ShapedType[], transforms: readonly Transform[]): ShapedType {
  const first = inputs[0];
  if (first === undefined) fail('a rule needs at least one source tensor');
  let shape = [...first.shape];
  let dtype = first.dtype;
  let start = 0;
  if (inputs.length > 1) {
    const concat = transforms[0];
    if (concat?.op !== 'concat') fail(`${inputs.length} sources need a leading concat transform`);
    checkAxis(concat.axis, shape.length, 'concat');
    for (const other of inputs.slice(1)) {
      const full = other.shape.length === shape.length;
      const slice = other.shape.length === shape.length - 1;
      const ok =
        other.dtype === dtype &&
        (full
          ? other.shape.every((d, i) => i === concat.axis || d === shape[i])
          : slice && other.shape.every((d, i) => d === shape[i < concat.axis ? i : i + 1]));
      if (!ok)
        fail(
          `concat along axis ${concat.axis}: [${other.shape.join(', ')}] ${other.dtype} does not fit [${first.shape.join(', ')}] ${dtype}`,
        );
      shape[concat.axis] = (shape[concat.axis] as number) + concatSlices(other.shape, shape.length, concat.axis);
    }
    start = 1;
  }
  for (const t of transforms.slice(start)) {
    switch (t.op) {
      case 'transpose': {
        const axes = transposeAxes(shape.length, t.axes);
        shape = axes.map((a) => shape[a] as number);
        break;
      }
      case 'squeeze':
        if (t.axis === undefined) shape = shape.filter((d) => d !== 1);
        else {
          checkAxis(t.axis, shape.length, 'squeeze');
          if (shape[t.axis] !== 1) fail(`squeeze: axis ${t.axis} of [${shape.join(', ')}] is not 1`);
          shape.splice(t.axis, 1);
        }
        break;
      case 'select':
        checkAxis(t.axis, shape.length, 'select');
        if (!Number.isInteger(t.index) || t.index < 0 || t.index >= (shape[t.axis] as number)) {
          fail(`select: index ${t.index} out of range for axis ${t.axis} of [${shape.join(', ')}]`);
        }
        shape.splice(t.axis, 1);
        break;
      case 'slice': {
        checkAxis(t.axis, shape.length, 'slice');
        const size = shape[t.axis] as number;
        if (!Number.isInteger(t.start) || !Number.isInteger(t.end) || t.start < 0 || t.end > size || t.start > t.end) {
          fail(`slice: ${t.start}:${t.end} out of range for axis ${t.axis} of [${shape.join(', ')}]`);
        }
        shape[t.axis] = t.end - t.start;
        break;
      }
      case 'reshape':
        shape = resolveReshape(shape, t.shape);
        break;
      case 'concat':
        return fail('concat must be the first transform of a rule with several sources');
      case 'cast':
        if (!FLOAT_DTYPES.has(dtype) || !FLOAT_DTYPES.has(t.dtype))
          fail(`cast from ${dtype} to ${t.dtype}: only float16, bfloat16, float32 and float64 convert`);
        dtype = t.dtype;
        break;
      case 'zero':
        checkAxis(t.axis, shape.length, 'zero');
        if (!Number.isInteger(t.index) || t.index < 0 || t.index >= (shape[t.axis] as number))
          fail(`zero: index ${t.index} out of range for axis ${t.axis} of [${shape.join(', ')}]`);
        break;
    }
  }
  return { dtype, shape };
}
