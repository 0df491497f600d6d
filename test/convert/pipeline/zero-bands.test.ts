/**
 * A `zero` transform streamed in bands (Pegasus's embedding, its padding row zeroed, is a large
 * tensor): with limits so small that a zeroed slice straddles bands, the joined bands equal the whole
 * computation and a naive loop, through the in-order, transposed and cast paths alike; a .bin's
 * strided form is never offered for it (the source's bytes are not the output's).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planToStateDict } from '../../../src/convert/pipeline/plan-to-state-dict.js';
import { applyTransforms } from '../../../src/kernels/apply.js';
import type { Plan } from '../../../src/mapping/plan.js';
import type { Transform } from '../../../src/mapping/types.js';
import { type DType, memoryTensor } from '../../../src/tensor.js';

const [ROWS, COLS] = [50, 30];
const values = Float32Array.from({ length: ROWS * COLS }, (_, i) => i + 1);
const source = memoryTensor('embedding', 'float32', [ROWS, COLS], new Uint8Array(values.buffer));

async function streamed(transforms: Transform[], shape: number[], dtype: DType, strided = false) {
  const plan = {
    outputs: [
      {
        kind: 'tensor',
        key: 'out',
        sources: [{ name: 'embedding', dtype: 'float32', shape: [ROWS, COLS] }],
        transforms,
        shape,
        dtype,
      },
    ],
  } as unknown as Plan;
  const [entry] = planToStateDict(plan, [source], {
    limits: { bandBytes: 52, aheadBytes: 64, wholeInputBytes: 64, slabBytes: 104, earlyReadBytes: 0 },
    strided,
  });
  assert.ok(entry && 'tensor' in entry);
  assert.equal(entry.strided, undefined, 'no strided form of a zeroed output');
  const parts: Uint8Array[] = [];
  for await (const band of entry.tensor.stream()) parts.push(new Uint8Array(band));
  return Buffer.concat(parts);
}

test('zero in bands: row 3 zeroed, straddling bands, as the whole computation and a naive loop give it', async () => {
  const got = await streamed([{ op: 'zero', axis: 0, index: 3 }], [ROWS, COLS], 'float32');
  const want = Float32Array.from(values, (v, i) => (Math.floor(i / COLS) === 3 ? 0 : v));
  assert.deepEqual(got, Buffer.from(want.buffer));
  const computed = applyTransforms(
    [{ dtype: 'float32', shape: [ROWS, COLS], bytes: await source.read() }],
    [{ op: 'zero', axis: 0, index: 3 }],
  );
  assert.deepEqual(got, Buffer.from(computed.bytes));
});

test('zero in bands after a transpose and before a cast: a column of the source, in every band it touches', async (t) => {
  for (const strided of [false, true]) {
    await t.test(`strided ${strided}`, async () => {
      const transforms: Transform[] = [
        { op: 'transpose' },
        { op: 'zero', axis: 1, index: 7 },
        { op: 'cast', dtype: 'bfloat16' },
      ];
      const got = await streamed(transforms, [COLS, ROWS], 'bfloat16', strided);
      const computed = applyTransforms(
        [{ dtype: 'float32', shape: [ROWS, COLS], bytes: await source.read() }],
        transforms,
      );
      assert.deepEqual(got, Buffer.from(computed.bytes));
      const words = new Uint16Array(got.buffer, got.byteOffset, COLS * ROWS);
      for (let c = 0; c < COLS; c++) assert.equal(words[c * ROWS + 7], 0, `[${c}, 7]`);
      assert.ok(words.some((w) => w !== 0));
    });
  }
});

test('zero before a transpose: computed whole, the same values', async () => {
  const transforms: Transform[] = [{ op: 'zero', axis: 0, index: 0 }, { op: 'transpose' }];
  const got = await streamed(transforms, [COLS, ROWS], 'float32');
  const computed = applyTransforms([{ dtype: 'float32', shape: [ROWS, COLS], bytes: await source.read() }], transforms);
  assert.deepEqual(got, Buffer.from(computed.bytes));
});
