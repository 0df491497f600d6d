/** Gathering a strided view (torch views, numpy Fortran order) into contiguous row-major bytes. */

/** Copies the elements of a view (element strides, relative to the start of `span`) into C order. */
export function gatherStrided(
  span: Uint8Array,
  shape: readonly number[],
  stride: readonly number[],
  itemSize: number,
): Uint8Array {
  let total = 1;
  for (const d of shape) total *= d;
  const out = new Uint8Array(total * itemSize);
  const index = new Array<number>(shape.length).fill(0);
  let source = 0;
  for (let at = 0; at < out.byteLength; at += itemSize) {
    out.set(span.subarray(source * itemSize, source * itemSize + itemSize), at);
    // odometer: the last index moves fastest
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      source += stride[d]!;
      if (index[d]! < shape[d]!) break;
      source -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** Element strides of a column-major (Fortran-order) array: the first index moves fastest. */
export function fortranStrides(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let s = 1;
  for (const d of shape) {
    strides.push(s);
    s *= d;
  }
  return strides;
}
