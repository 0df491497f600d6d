/**
 * The `zero` transform (Pegasus's padding row): the slice is zeros, everything else the source's bits;
 * an index outside the axis is a plan error; views stream it unless a reordering follows it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyTransforms } from '../../src/kernels/apply.js';
import { transformType } from '../../src/kernels/transforms.js';
import { compileViews } from '../../src/kernels/views.js';

const shape = [2, 3, 4];
const source = Float32Array.from({ length: 24 }, (_, i) => i + 1);
const bytes = new Uint8Array(source.buffer);

test('zero along an inner axis: exactly that slice of every outer index is zero', () => {
  const out = applyTransforms([{ dtype: 'float32', shape, bytes }], [{ op: 'zero', axis: 1, index: 2 }]);
  assert.deepEqual(out.shape, shape);
  const values = new Float32Array(out.bytes.buffer, out.bytes.byteOffset, 24);
  for (let a = 0; a < 2; a++)
    for (let b = 0; b < 3; b++)
      for (let c = 0; c < 4; c++) {
        const i = (a * 3 + b) * 4 + c;
        assert.equal(values[i], b === 2 ? 0 : source[i], `[${a}, ${b}, ${c}]`);
      }
  assert.equal(source[8], 9, 'the source is not modified');
});

test('zero then cast: the zeroed row is zero in the cast dtype too', () => {
  const out = applyTransforms(
    [{ dtype: 'float32', shape, bytes }],
    [
      { op: 'zero', axis: 0, index: 0 },
      { op: 'cast', dtype: 'bfloat16' },
    ],
  );
  assert.ok(out.bytes.subarray(0, 24).every((b) => b === 0));
  assert.ok(out.bytes.subarray(24).some((b) => b !== 0));
});

test('zero: an index outside the axis is refused at plan time', () => {
  assert.throws(
    () => transformType([{ dtype: 'float32', shape }], [{ op: 'zero', axis: 1, index: 3 }]),
    /zero: index 3 out of range for axis 1 of \[2, 3, 4\]/,
  );
});

test('zero as views: streamed (the source in order, the slice zeroed per band) unless a reordering follows it', () => {
  const compiled = compileViews(
    [{ dtype: 'float32', shape }],
    [
      { op: 'zero', axis: 0, index: 1 },
      { op: 'cast', dtype: 'float16' },
    ],
  );
  assert.deepEqual(compiled?.zeroed, [{ axis: 0, index: 1 }]);
  assert.deepEqual(compiled?.views, [{ input: 0, offset: 0, shape, strides: [12, 4, 1] }]);
  assert.equal(
    compileViews([{ dtype: 'float32', shape }], [{ op: 'zero', axis: 0, index: 0 }, { op: 'transpose' }]),
    undefined,
  );
});
