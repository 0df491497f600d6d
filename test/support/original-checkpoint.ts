/**
 * Test checkpoints the way an original TF1 trainer leaves them: the model's float32 variables with
 * seeded random values, each with the optimizer slots the trainer creates beside it
 * (`{variable}/{slot}`), and the int64 `global_step` counter. Plus the expected state dict built from a
 * plain key → (variable, transpose?) table, computed with the naive loops of reference-transforms.ts.
 */
import assert from 'node:assert/strict';
import { seededRandom } from './random.js';
import { type RawTensor, transpose2d } from './reference-transforms.js';
import { randomTensorBytes, writeBundle } from './tf-bundle-writer.js';
import type { LoadedTensor } from './torch-load.js';

export type VariableSpec = readonly [name: string, shape: readonly number[]];

export async function writeOriginalCheckpoint(
  prefix: string,
  variables: readonly VariableSpec[],
  { seed = 1, slots = [] as readonly string[] } = {},
): Promise<void> {
  const random = seededRandom(seed);
  const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const float = (name: string, shape: readonly number[]) => ({
    name,
    dtype: 'float32' as const,
    shape: [...shape],
    bytes: randomTensorBytes('float32', count(shape), random),
  });
  const step = new Uint8Array(8);
  new DataView(step.buffer).setBigInt64(0, 1000n, true);
  await writeBundle(prefix, [
    ...variables.flatMap(([name, shape]) => [float(name, shape), ...slots.map((s) => float(`${name}/${s}`, shape))]),
    { name: 'global_step', dtype: 'int64', shape: [], bytes: step },
  ]);
}

/** key → [TF variable, transposed?], a row of an expected-state-dict table. */
export type ExpectedRow = [key: string, variable: string, transpose?: boolean];

/** google-research/bert's encoder layer (modeling.py) under `p` → BertLayer's keys under `k`, kernels transposed. */
export function bertLayerRows(k: string, p: string): ExpectedRow[] {
  const rows: ExpectedRow[] = [];
  for (const q of ['query', 'key', 'value'])
    rows.push(
      [`${k}.attention.self.${q}.weight`, `${p}/attention/self/${q}/kernel`, true],
      [`${k}.attention.self.${q}.bias`, `${p}/attention/self/${q}/bias`],
    );
  for (const [key, scope] of [
    ['attention.output', 'attention/output'],
    ['intermediate', 'intermediate'],
    ['output', 'output'],
  ]) {
    rows.push(
      [`${k}.${key}.dense.weight`, `${p}/${scope}/dense/kernel`, true],
      [`${k}.${key}.dense.bias`, `${p}/${scope}/dense/bias`],
    );
    if (key !== 'intermediate')
      rows.push(
        [`${k}.${key}.LayerNorm.weight`, `${p}/${scope}/LayerNorm/gamma`],
        [`${k}.${key}.LayerNorm.bias`, `${p}/${scope}/LayerNorm/beta`],
      );
  }
  return rows;
}

/** key → [TF variable, transposed?]: the expected state dict from the checkpoint's tensors. */
export function expectedFrom(
  tf: ReadonlyMap<string, RawTensor>,
  table: readonly ExpectedRow[],
): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [key, variable, transpose] of table) {
    const t = tf.get(variable);
    assert.ok(t, `${variable} missing from the test checkpoint`);
    out.set(key, transpose ? transpose2d(t) : t);
  }
  return out;
}

/** Every expected key present with the same shape and bytes; nothing else in the output. */
export function assertExactly(loaded: ReadonlyMap<string, LoadedTensor>, expected: ReadonlyMap<string, RawTensor>) {
  for (const [key, e] of expected) {
    const got = loaded.get(key);
    assert.ok(got, `${key} missing from the output`);
    assert.equal(got.dtype, e.dtype, key);
    assert.deepEqual(got.shape, e.shape, key);
    assert.deepEqual(Buffer.from(got.bytes), Buffer.from(e.bytes), `${key}: values differ`);
  }
  const extra = [...loaded.keys()].filter((k) => !expected.has(k));
  assert.deepEqual(extra, [], 'keys the expected state dict lacks');
}
