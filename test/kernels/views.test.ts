/**
 * Transforms as views, produced in bands: for random shapes and transform chains, gathering every band
 * (runs of the source, then the band's permutation, then the casts) and joining the bands must give
 * exactly what applyTransforms computes on the whole tensor, down to bands of a single element.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyTransforms, type DenseTensor, transposeBytes } from '../../src/kernels/apply.js';
import { castBytes } from '../../src/kernels/cast.js';
import { bandsOf, type CompiledOutput, compileViews, gatherPlan, inSourceOrder } from '../../src/kernels/views.js';
import type { Transform } from '../../src/mapping/types.js';
import { DTYPES, type DType, numElements } from '../../src/tensor.js';
import { seededRandom } from '../support/random.js';

function randomTensor(dtype: DType, shape: number[], random: () => number): DenseTensor {
  const bytes = new Uint8Array(numElements(shape) * DTYPES[dtype].itemSize);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  return { dtype, shape, bytes };
}

/** The output assembled band by band from the views, as the streaming executor does it. */
function viaBands(inputs: readonly DenseTensor[], compiled: CompiledOutput, maxElements: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const view of compiled.views) {
    const input = inputs[view.input] as DenseTensor;
    const size = DTYPES[input.dtype].itemSize;
    for (const band of bandsOf(view, maxElements)) {
      assert.ok(numElements(band.shape) <= maxElements, 'a band is never larger than asked');
      const plan = gatherPlan(band);
      const runBytes = plan.runLength * size;
      let bytes: Uint8Array = new Uint8Array(plan.offsets.length * runBytes);
      plan.offsets.forEach((o, r) => {
        bytes.set(input.bytes.subarray(o * size, o * size + runBytes), r * runBytes);
      });
      if (plan.axes !== undefined)
        bytes = transposeBytes({ dtype: input.dtype, shape: plan.gatheredShape, bytes }, plan.axes).bytes;
      for (const { from, to } of compiled.casts) bytes = castBytes(bytes, from, to);
      parts.push(bytes);
    }
  }
  return Buffer.concat(parts);
}

const CASES: { name: string; dtype: DType; shapes: number[][]; transforms: Transform[] }[] = [
  { name: '2-d transpose', dtype: 'float32', shapes: [[37, 23]], transforms: [{ op: 'transpose' }] },
  {
    name: 'bf16 transpose then cast',
    dtype: 'bfloat16',
    shapes: [[16, 41]],
    transforms: [{ op: 'transpose' }, { op: 'cast', dtype: 'float32' }],
  },
  {
    name: 'cast then transpose',
    dtype: 'float32',
    shapes: [[9, 13]],
    transforms: [{ op: 'cast', dtype: 'float16' }, { op: 'transpose' }],
  },
  {
    name: 'rank-3 permutation',
    dtype: 'float64',
    shapes: [[3, 5, 7]],
    transforms: [{ op: 'transpose', axes: [2, 0, 1] }],
  },
  {
    name: 'select then transpose',
    dtype: 'int16',
    shapes: [[4, 6, 10]],
    transforms: [{ op: 'select', axis: 1, index: 3 }, { op: 'transpose' }],
  },
  {
    name: 'select of an inner axis',
    dtype: 'float32',
    shapes: [[5, 3, 8]],
    transforms: [{ op: 'select', axis: 2, index: 5 }],
  },
  {
    name: 'leading rows sliced, cast (a padded embedding cut to the vocabulary)',
    dtype: 'bfloat16',
    shapes: [[13, 6]],
    transforms: [
      { op: 'slice', axis: 0, start: 0, end: 9 },
      { op: 'cast', dtype: 'float32' },
    ],
  },
  {
    name: 'inner slice then transpose',
    dtype: 'float32',
    shapes: [[5, 11]],
    transforms: [{ op: 'slice', axis: 1, start: 2, end: 7 }, { op: 'transpose' }],
  },
  {
    name: 'squeeze, reshape, cast',
    dtype: 'float16',
    shapes: [[1, 12, 1, 5]],
    transforms: [{ op: 'squeeze' }, { op: 'reshape', shape: [6, -1] }, { op: 'cast', dtype: 'float64' }],
  },
  {
    name: 'concat of parts along the first axis, cast',
    dtype: 'float32',
    shapes: [
      [3, 7],
      [5, 7],
    ],
    transforms: [
      { op: 'concat', axis: 0 },
      { op: 'cast', dtype: 'bfloat16' },
    ],
  },
  {
    name: 'complex items (several words) transposed',
    dtype: 'complex64',
    shapes: [[6, 11]],
    transforms: [{ op: 'transpose' }],
  },
  { name: 'a scalar', dtype: 'float32', shapes: [[]], transforms: [{ op: 'cast', dtype: 'float64' }] },
];

test('every band size gives the bytes of the whole-tensor computation', () => {
  const random = seededRandom(11);
  for (const c of CASES) {
    const inputs = c.shapes.map((s) => randomTensor(c.dtype, s, random));
    const compiled = compileViews(inputs, c.transforms);
    assert.ok(compiled, `${c.name}: expressible as views`);
    const want = applyTransforms(inputs, c.transforms);
    assert.deepEqual(compiled.type.shape, want.shape, c.name);
    const total = numElements(want.shape);
    for (const maxElements of [1, 2, 3, 7, 16, 50, total, total * 2]) {
      const got = viaBands(inputs, compiled, maxElements);
      assert.ok(Buffer.from(want.bytes).equals(got), `${c.name}: bands of ${maxElements} elements`);
    }
  }
});

test('only reorderings need gathering in a second order; the rest reads the source front to back', () => {
  const t = { dtype: 'float32' as const, shape: [4, 5, 6] };
  const view = (transforms: Transform[]) => compileViews([t], transforms)?.views[0];
  assert.equal(inSourceOrder(view([]) as never), true);
  assert.equal(inSourceOrder(view([{ op: 'select', axis: 1, index: 2 }]) as never), true);
  assert.equal(inSourceOrder(view([{ op: 'slice', axis: 0, start: 0, end: 3 }]) as never), true);
  assert.equal(inSourceOrder(view([{ op: 'transpose' }]) as never), false);
  assert.equal(inSourceOrder(view([{ op: 'transpose', axes: [0, 2, 1] }]) as never), false);
});

test('views refuse what they cannot express, so that those outputs are computed whole', () => {
  const t = { dtype: 'float32' as const, shape: [4, 6] };
  assert.equal(compileViews([t], [{ op: 'transpose' }, { op: 'reshape', shape: [24] }]), undefined);
  assert.equal(compileViews([t, t], [{ op: 'concat', axis: 1 }]), undefined);
  assert.ok(compileViews([t, t], [{ op: 'concat', axis: 0 }]));
});
