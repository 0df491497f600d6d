/**
 * Partitioned variables. The full tensor's entry lists its slices; each slice is stored under a binary
 * key built with TF's OrderedCode: 0x00, the escaped name ending 0x00 0x01, the rank, then (start,
 * length) per dimension as signed "increasing" numbers (length −1 = the whole dimension).
 * We decode every such key rather than re-encode, check the layout as TensorFlow does (every element in
 * exactly one slice), then copy each slice into its hyper-rectangle.
 */
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { utf8Text } from '../../io/text.js';
import type { Extent } from './proto.js';
import { MAX_RANK } from './proto.js';

/**
 * Slices of one partitioned variable. Overlaps are found by a sweep, pairwise in the worst case (8,192 slices:
 * 17 M pairs); TensorFlow's partitioners write one slice per parameter server or shard, at most a few hundred.
 */
export const MAX_SLICES_PER_TENSOR = 8192;
/** A refusal names this many slices at most. */
const SLICES_NAMED = 8;

export interface SliceKey {
  name: string;
  extents: Extent[];
}

function bad(where: string, why: string): never {
  throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: malformed slice key: ${why}`);
}

/** OrderedCode WriteSignedNumIncreasing, decoded (only values that fit a safe integer matter here). */
function readSigned(key: Uint8Array, pos: number, where: string): { value: number; next: number } {
  const first = key[pos];
  if (first === undefined) bad(where, 'ends inside a number');
  const negative = (first & 0x80) === 0;
  const byteAt = (i: number): number => {
    const b = key[pos + i];
    if (b === undefined) bad(where, 'ends inside a number');
    return negative ? b ^ 0xff : b;
  };
  const b0 = byteAt(0);
  let len = 0;
  while (len < 8 && b0 & (0x80 >> len)) len++;
  if (len === 8) {
    const b1 = byteAt(1);
    len = (b1 & 0x80) === 0 ? 8 : (b1 & 0x40) === 0 ? 9 : 10;
  }
  let x = 0n;
  for (let i = 0; i < len; i++) x = (x << 8n) | BigInt(byteAt(i));
  const payloadBits = BigInt(8 * len - len - 1);
  x &= (1n << payloadBits) - 1n;
  const v = negative ? -x - 1n : x;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -1n) bad(where, `slice bound ${v} out of range`);
  return { value: Number(v), next: pos + len };
}

/** Decodes a key starting with 0x00; returns undefined for keys that are not slice keys. */
export function decodeSliceKey(key: Uint8Array, where: string): SliceKey | undefined {
  if (key[0] !== 0x00) return undefined;
  let pos = 1;
  const name: number[] = [];
  for (;;) {
    const b = key[pos];
    if (b === undefined) bad(where, 'name not terminated');
    if (b === 0x00) {
      const c = key[pos + 1];
      if (c === 0x01) {
        pos += 2;
        break;
      }
      if (c !== 0xff) bad(where, 'bad escape in name');
      name.push(0x00);
      pos += 2;
    } else if (b === 0xff) {
      if (key[pos + 1] !== 0x00) bad(where, 'bad escape in name');
      name.push(0xff);
      pos += 2;
    } else {
      name.push(b);
      pos += 1;
    }
  }
  const lenByte = key[pos];
  if (lenByte === undefined || lenByte > 8) bad(where, 'bad rank');
  let rank = 0;
  for (let i = 1; i <= lenByte; i++) rank = rank * 256 + (key[pos + i] ?? bad(where, 'ends inside the rank'));
  pos += 1 + lenByte;
  if (rank > MAX_RANK) bad(where, `rank ${rank}`);
  const extents: Extent[] = [];
  for (let d = 0; d < rank; d++) {
    const start = readSigned(key, pos, where);
    const length = readSigned(key, start.next, where);
    pos = length.next;
    extents.push(length.value < 0 ? { start: 0, length: undefined } : { start: start.value, length: length.value });
  }
  if (pos !== key.length) bad(where, 'trailing bytes');
  return { name: utf8Text(Uint8Array.from(name)), extents };
}

/** TensorFlow's notation of a slice (TensorSlice::DebugString): `start,length` per dimension, `-` for a whole one. */
export function sliceNotation(extents: readonly Extent[]): string {
  return extents.map((e) => (e.length === undefined ? '-' : `${e.start},${e.length}`)).join(':');
}

/** TensorSlice::Intersect in one dimension: a whole dimension meets anything; extents must share an index. */
function meetAt(a: Extent, b: Extent): boolean {
  if (a.length === undefined || b.length === undefined) return true;
  return Math.max(a.start, b.start) < Math.min(a.start + a.length, b.start + b.length);
}

/** TensorSlice::Overlaps: the slices meet in every dimension (two rank-0 slices always do). */
export function slicesOverlap(a: readonly Extent[], b: readonly Extent[]): boolean {
  return a.every((e, d) => meetAt(e, b[d]!));
}

export type SliceLayoutProblem =
  | { kind: 'overlap'; first: number; second: number }
  | { kind: 'short'; covered: number; elements: number };

/**
 * TensorFlow's rule for a partitioned variable: TensorSliceSet::Register refuses a slice that overlaps one already
 * registered, and reading the whole tensor (QueryMeta) needs the registered slices' elements to add up to the
 * tensor's. Together: every element lies in exactly one slice. `slices` must lie inside `shape` (sliceBox).
 * A sweep along the dimension the fewest slices span whole compares each slice only with those that reach it
 * there: one pass for the partitions TensorFlow writes (cut along one axis), pairwise at worst.
 */
export function sliceLayoutProblem(
  slices: readonly (readonly Extent[])[],
  shape: readonly number[],
): SliceLayoutProblem | undefined {
  const n = slices.length;
  const rank = shape.length;
  // per slice and dimension, [lo, hi) with a whole dimension as (−∞, ∞): it meets every non-empty extent
  const lo = new Float64Array(n * rank);
  const hi = new Float64Array(n * rank);
  const empty = new Uint8Array(n);
  const spanning = new Array<number>(rank).fill(0);
  slices.forEach((s, i) => {
    s.forEach((e, d) => {
      const whole = e.length === undefined;
      lo[i * rank + d] = whole ? -Infinity : e.start;
      hi[i * rank + d] = whole ? Infinity : e.start + e.length!;
      if (e.length === 0) empty[i] = 1;
      if (whole || (e.start === 0 && e.length === shape[d])) spanning[d]!++;
    });
  });
  const sweep = spanning.indexOf(Math.min(...spanning));
  const order = [...Array(n).keys()];
  if (sweep >= 0) order.sort((a, b) => lo[a * rank + sweep]! - lo[b * rank + sweep]! || a - b);
  /** Intervals meet when each starts before the other ends (a whole one, (−∞, ∞), meets any non-empty one). */
  const overlap = (i: number, j: number): boolean => {
    if (empty[i] || empty[j]) return slicesOverlap(slices[i]!, slices[j]!); // TF: a whole dimension meets [s, s)
    for (let a = i * rank, b = j * rank, end = a + rank; a < end; a++, b++) {
      if (lo[a]! >= hi[b]! || lo[b]! >= hi[a]!) return false;
    }
    return true;
  };
  const active: number[] = [];
  let from = -Infinity;
  for (const i of order) {
    if (sweep >= 0 && lo[i * rank + sweep]! > from) {
      // a slice ending (along the sweep) where this one starts meets neither it nor any later one
      from = lo[i * rank + sweep]!;
      let kept = 0;
      for (const j of active) if (hi[j * rank + sweep]! > from) active[kept++] = j;
      active.length = kept;
    }
    for (const j of active)
      if (overlap(i, j)) return { kind: 'overlap', first: Math.min(i, j), second: Math.max(i, j) };
    active.push(i);
  }
  // disjoint slices inside the shape hold at most every element once; fewer means a gap
  const elements = shape.reduce((a, b) => a * b, 1);
  let covered = 0;
  for (const s of slices) covered += s.reduce((c, e, d) => c * (e.length ?? shape[d]!), 1);
  return covered === elements ? undefined : { kind: 'short', covered, elements };
}

/** Refuses, as TensorFlow does, a partitioned variable whose slices overlap or leave a gap; names the slices. */
export function checkSliceLayout(
  slices: readonly (readonly Extent[])[],
  shape: readonly number[],
  where: string,
  context: { file: string; tensor: string },
): void {
  if (slices.length > MAX_SLICES_PER_TENSOR) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${where}: ${slices.length} slices exceed the limit of ${MAX_SLICES_PER_TENSOR} per partitioned variable`,
      context,
    );
  }
  const problem = sliceLayoutProblem(slices, shape);
  if (problem === undefined) return;
  if (problem.kind === 'overlap') {
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${where}: slices ${sliceNotation(slices[problem.first]!)} and ${sliceNotation(slices[problem.second]!)} overlap (TensorFlow refuses overlapping slices)`,
      context,
    );
  }
  const named = slices.slice(0, SLICES_NAMED).map(sliceNotation).join(', ');
  const more = slices.length > SLICES_NAMED ? `, … (${slices.length} in all)` : '';
  throw new Tf2TorchError(
    ErrorCode.MALFORMED,
    `${where}: its slices hold ${problem.covered} of its ${problem.elements} elements (slices ${named || 'none'}${more} of shape [${shape}])`,
    context,
  );
}

/** Concrete (start, length) per dimension of `shape`, checked to lie inside it. */
export function sliceBox(
  extents: readonly Extent[],
  shape: readonly number[],
  where: string,
): { start: number[]; length: number[] } {
  if (extents.length !== shape.length)
    bad(where, `slice of rank ${extents.length} for a tensor of rank ${shape.length}`);
  const start: number[] = [];
  const length: number[] = [];
  shape.forEach((dim, d) => {
    const e = extents[d]!;
    const s = e.length === undefined ? 0 : e.start;
    const l = e.length === undefined ? dim : e.length;
    if (s < 0) bad(where, `extent starts at ${s} in dimension ${d}`);
    if (s + l > dim) bad(where, `extent [${s}, ${s + l}) outside dimension ${d} of size ${dim}`);
    start.push(s);
    length.push(l);
  });
  return { start, length };
}

/** Copies a dense row-major slice block into the full tensor buffer. */
export function copySliceInto(
  full: Uint8Array,
  shape: readonly number[],
  itemSize: number,
  box: { start: number[]; length: number[] },
  block: Uint8Array,
): void {
  const rank = shape.length;
  if (rank === 0) {
    full.set(block.subarray(0, itemSize));
    return;
  }
  // strides in elements of the full tensor
  const strides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1]! * shape[d + 1]!;
  const rowBytes = box.length[rank - 1]! * itemSize;
  const rows = box.length.slice(0, -1).reduce((a, b) => a * b, 1);
  if (rowBytes === 0 || rows === 0) return;
  const index = new Array<number>(rank - 1).fill(0);
  for (let row = 0; row < rows; row++) {
    let element = box.start[rank - 1]!;
    for (let d = 0; d < rank - 1; d++) element += (box.start[d]! + index[d]!) * strides[d]!;
    full.set(block.subarray(row * rowBytes, (row + 1) * rowBytes), element * itemSize);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < box.length[d]!) break;
      index[d] = 0;
    }
  }
}
