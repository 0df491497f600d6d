/**
 * The executor's recycled buffers: a slow consumer (a write that takes a while, during which the next
 * tensor is already being read and transposed) must still see every tensor's own bytes, through
 * stream() and read(), with sources that can be read into a buffer and sources that cannot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { planToStateDict } from '../../src/convert/tensors.js';
import type { Plan, PlanOutput } from '../../src/mapping/plan.js';
import { memoryTensor, type TensorRef } from '../../src/tensor.js';

const ROWS = 64;
const COLS = 512; // 128 KiB of float32: large enough to be pooled

function source(name: string, seed: number, readInto: boolean): TensorRef {
  const words = new Uint32Array(ROWS * COLS).map((_, i) => (Math.imul(i + 1, 2654435761) ^ seed) >>> 0);
  const bytes = new Uint8Array(words.buffer);
  const ref = memoryTensor(name, 'float32', [ROWS, COLS], bytes);
  return readInto ? { ...ref, readInto: async (target) => void target.set(bytes) } : ref;
}

function transposed(bytes: Uint8Array): Uint8Array {
  const src = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Uint32Array(src.length);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLS; c++) out[c * ROWS + r] = src[r * COLS + c] as number;
  return new Uint8Array(out.buffer);
}

test('stream() chunks of computed tensors stay intact while the next ones are computed into recycled buffers', async () => {
  const sources = Array.from({ length: 8 }, (_, i) => source(`w${i}`, i * 7919, i % 3 !== 2));
  const outputs: PlanOutput[] = sources.flatMap((s, i): PlanOutput[] => [
    {
      kind: 'tensor',
      key: `k${i}.weight`,
      sources: [{ name: s.name, dtype: 'float32', shape: s.shape }],
      transforms: [{ op: 'transpose' }],
      shape: [COLS, ROWS],
      dtype: 'float32',
    },
    {
      kind: 'tensor',
      key: `k${i}.copy`,
      sources: [{ name: s.name, dtype: 'float32', shape: s.shape }],
      transforms: [],
      shape: s.shape,
      dtype: 'float32',
    },
  ]);
  const plan = { outputs } as unknown as Plan;
  const entries = planToStateDict(plan, sources);
  for (let pass = 0; pass < 2; pass++) {
    for (const [i, e] of entries.entries()) {
      assert.ok('tensor' in e);
      const s = sources[Math.floor(i / 2)] as TensorRef;
      const want = i % 2 === 0 ? transposed(await s.read()) : await s.read();
      const chunks: Buffer[] = [];
      for await (const chunk of e.tensor.stream()) {
        await sleep(5); // a slow write: the read-ahead runs meanwhile
        chunks.push(Buffer.from(chunk));
      }
      assert.ok(Buffer.concat(chunks).equals(want), `${e.key}, pass ${pass}`);
      assert.ok(Buffer.from(await e.tensor.read()).equals(want), `${e.key} read(), pass ${pass}`);
    }
  }
});

test('a source too large to transform in memory is refused by name before anything is allocated', async () => {
  const huge: TensorRef = {
    name: 'giant/kernel',
    dtype: 'float32',
    shape: [1 << 20, 1 << 20],
    byteLength: 4 * 2 ** 40,
    read: () => Promise.reject(new Error('must not be read')),
    readInto: () => Promise.reject(new Error('must not be read')),
    // biome-ignore lint/correctness/useYield: a stream that fails before its first chunk
    async *stream() {
      throw new Error('must not be streamed');
    },
  };
  const plan = {
    outputs: [
      {
        kind: 'tensor',
        key: 'giant.weight',
        sources: [{ name: huge.name, dtype: 'float32', shape: huge.shape }],
        transforms: [{ op: 'transpose' }],
        shape: huge.shape,
        dtype: 'float32',
      },
    ],
  } as unknown as Plan;
  const [entry] = planToStateDict(plan, [huge]);
  assert.ok(entry && 'tensor' in entry);
  await assert.rejects(
    entry.tensor.read(),
    /giant\/kernel: 4398046511104 bytes; a tensor that needs a transform is held in memory once/,
  );
});
