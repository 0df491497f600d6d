/**
 * The slice-layout check against an independent reference: over seeded random layouts (partitions cut at random,
 * then slices dropped, duplicated, grown, shrunk, shifted or added; whole dimensions written as `-` or as explicit
 * extents; ranks 0 to 4), it accepts exactly the layouts in which an element-by-element count finds every element
 * once. For non-empty slices that is TensorFlow's rule (no two registered slices intersect, and their elements
 * add up to the tensor's); for empty ones TensorFlow's Intersect differs and is pinned separately.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import type { Extent } from '../../../src/formats/tf-checkpoint/proto.js';
import {
  checkSliceLayout,
  MAX_SLICES_PER_TENSOR,
  sliceLayoutProblem,
  slicesOverlap,
} from '../../../src/formats/tf-checkpoint/slices.js';
import { seededRandom } from '../../support/random.js';

interface Box {
  start: number[];
  length: number[];
}

const CASES = 4000;
const random = seededRandom(1919);
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1)); // inclusive
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

/** Guillotine cuts of the whole tensor: a partition, as TensorFlow's partitioners (and Mesh TF's blocks) make. */
function partition(shape: readonly number[]): Box[] {
  const boxes: Box[] = [{ start: shape.map(() => 0), length: [...shape] }];
  for (let cuts = int(0, 6); cuts > 0; cuts--) {
    const i = int(0, boxes.length - 1);
    const b = boxes[i]!;
    const dims = b.length.flatMap((l, d) => (l >= 2 ? [d] : []));
    if (dims.length === 0) continue;
    const d = pick(dims);
    const at = int(1, b.length[d]! - 1);
    const low = { start: [...b.start], length: [...b.length] };
    const high = { start: [...b.start], length: [...b.length] };
    low.length[d] = at;
    high.start[d] = b.start[d]! + at;
    high.length[d] = b.length[d]! - at;
    boxes.splice(i, 1, low, high);
  }
  return boxes;
}

function randomBox(shape: readonly number[]): Box {
  const start = shape.map((n) => int(0, n - 1));
  return { start, length: shape.map((n, d) => int(1, n - start[d]!)) };
}

/** One change that may leave a gap, an overlap, both, or (by chance) another partition. */
function mutate(boxes: Box[], shape: readonly number[]): void {
  const i = int(0, boxes.length - 1);
  const b = boxes[i]!;
  const d = int(0, shape.length - 1);
  const kind = int(0, 5);
  if (kind === 0 && boxes.length > 1) boxes.splice(i, 1);
  else if (kind === 1) boxes.push({ start: [...b.start], length: [...b.length] });
  else if (kind === 2 && shape.length > 0 && b.start[d]! + b.length[d]! < shape[d]!) b.length[d]!++;
  else if (kind === 3 && shape.length > 0 && b.length[d]! >= 2) b.length[d]!--;
  else if (kind === 4 && shape.length > 0) {
    const shift = pick([-1, 1]);
    if (b.start[d]! + shift >= 0 && b.start[d]! + shift + b.length[d]! <= shape[d]!) b.start[d]! += shift;
  } else if (kind === 5 && shape.length > 0) boxes.push(randomBox(shape));
}

/** A whole dimension is written either way TensorFlow may meet it: `-`, or its explicit extent. */
function extentsOf(box: Box, shape: readonly number[]): Extent[] {
  return shape.map((n, d) =>
    box.start[d] === 0 && box.length[d] === n && random() < 0.6
      ? { start: 0, length: undefined }
      : { start: box.start[d]!, length: box.length[d]! },
  );
}

function randomLayout(): { shape: number[]; slices: Extent[][] } {
  const shape = Array.from({ length: pick([0, 1, 1, 2, 2, 2, 3, 3, 4]) }, () => int(1, 5));
  const boxes = random() < 0.15 ? Array.from({ length: int(1, 5) }, () => randomBox(shape)) : partition(shape);
  for (let n = pick([0, 0, 1, 1, 2, 3]); n > 0; n--) mutate(boxes, shape);
  return { shape, slices: boxes.map((b) => extentsOf(b, shape)) };
}

// ---- the reference: every element visited and counted ------------------------------------------
function elementsOf(extents: readonly Extent[], shape: readonly number[]): number[] {
  const start = extents.map((e) => (e.length === undefined ? 0 : e.start));
  const length = extents.map((e, d) => e.length ?? shape[d]!);
  let flat = [0];
  shape.forEach((n, d) => {
    const next: number[] = [];
    for (const f of flat) for (let k = 0; k < length[d]!; k++) next.push(f * n + start[d]! + k);
    flat = next;
  });
  return flat;
}

function coverage(slices: readonly Extent[][], shape: readonly number[]): number[] {
  const counts = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0);
  for (const s of slices) for (const e of elementsOf(s, shape)) counts[e]!++;
  return counts;
}

test(`over ${CASES} seeded random slice layouts, the check accepts exactly those covering every element once`, () => {
  const seen = { valid: 0, overlap: 0, short: 0, withWhole: 0, multiDimOverlap: 0 };
  for (let n = 0; n < CASES; n++) {
    const { shape, slices } = randomLayout();
    const counts = coverage(slices, shape);
    const exactlyOnce = counts.every((c) => c === 1);
    const problem = sliceLayoutProblem(slices, shape);
    const what = `case ${n}: shape [${shape}], slices ${JSON.stringify(slices)}`;
    assert.equal(problem === undefined, exactlyOnce, `${what}: check says ${JSON.stringify(problem)}`);
    if (slices.some((s) => s.some((e) => e.length === undefined))) seen.withWhole++;
    if (problem === undefined) seen.valid++;
    else if (problem.kind === 'overlap') {
      // the two slices named really share an element
      const first = new Set(elementsOf(slices[problem.first]!, shape));
      assert.ok(
        elementsOf(slices[problem.second]!, shape).some((e) => first.has(e)),
        `${what}: ${problem.first} and ${problem.second} share no element`,
      );
      seen.overlap++;
      if (shape.length >= 2) seen.multiDimOverlap++;
    } else {
      // no overlap was missed: the count finds none, and the gap is the one reported
      assert.ok(
        counts.every((c) => c <= 1),
        `${what}: an overlap was missed`,
      );
      assert.equal(problem.covered, counts.filter((c) => c === 1).length, what);
      assert.equal(problem.elements, counts.length, what);
      seen.short++;
    }
  }
  // the generator reaches every kind of layout often enough for the agreement to mean something
  for (const [kind, count] of Object.entries(seen)) assert.ok(count >= CASES / 20, `${kind}: ${count} cases`);
});

test("TensorFlow's Intersect for empty and rank-0 slices: a whole dimension meets an empty extent", () => {
  const whole: Extent = { start: 0, length: undefined };
  const empty: Extent = { start: 3, length: 0 };
  assert.equal(slicesOverlap([whole, whole], [empty, whole]), true);
  assert.equal(slicesOverlap([{ start: 0, length: 4 }, whole], [empty, whole]), false);
  assert.equal(slicesOverlap([], []), true); // two scalar slices
  assert.deepEqual(sliceLayoutProblem([[], []], []), { kind: 'overlap', first: 0, second: 1 });
  assert.equal(sliceLayoutProblem([[]], []), undefined);
});

test(`more than ${MAX_SLICES_PER_TENSOR} slices are E_LIMIT; the costliest layouts under it are checked quickly`, () => {
  const context = { file: 'model.ckpt.index', tensor: 'w' };
  const whole: Extent = { start: 0, length: undefined };
  const unit = (k: number): Extent => ({ start: k, length: 1 });
  // one cut per column of dimension 1 (a partitioner's axis 1): the sweep runs along it
  const columns = (n: number): Extent[][] => Array.from({ length: n }, (_, k) => [whole, unit(k)]);
  assert.throws(
    () => checkSliceLayout(columns(MAX_SLICES_PER_TENSOR + 1), [2, MAX_SLICES_PER_TENSOR + 1], 'w', context),
    {
      name: 'Tf2TorchError',
      code: 'E_LIMIT',
    },
  );
  // half the slices are unit columns of row 0, half whole rows below: every sweep compares a half pairwise
  const half = MAX_SLICES_PER_TENSOR / 2;
  const crossing: Extent[][] = [
    ...Array.from({ length: half }, (_, k) => [unit(0), unit(k)]),
    ...Array.from({ length: half }, (_, k) => [unit(k + 1), whole]),
  ];
  for (const [layout, shape] of [
    [columns(MAX_SLICES_PER_TENSOR), [2, MAX_SLICES_PER_TENSOR]],
    [crossing, [half + 1, half]],
  ] as const) {
    const started = performance.now();
    checkSliceLayout(layout, shape, 'w', context);
    const ms = performance.now() - started;
    assert.ok(ms < 5000, `${shape}: ${ms.toFixed(0)} ms`);
  }
  assert.throws(
    () => checkSliceLayout([...columns(40), [unit(1), unit(7)]], [2, 40], 'w', context),
    (e: Tf2TorchError) => e.code === 'E_MALFORMED' && /slices -:7,1 and 1,1:7,1 overlap/.test(e.message),
  );
});
