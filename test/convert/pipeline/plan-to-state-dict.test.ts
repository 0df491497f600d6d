/**
 * The executor's recycled buffers: a slow consumer (a write that takes a while, during which the next
 * tensor is already being read and transposed) must still see every tensor's own bytes, through
 * stream() and read(), with sources that can be read into a buffer and sources that cannot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { planToStateDict } from '../../../src/convert/pipeline/plan-to-state-dict.js';
import type { Plan, PlanOutput } from '../../../src/mapping/plan.js';
import type { Transform } from '../../../src/mapping/types.js';
import { memoryTensor, type TensorRef } from '../../../src/tensor.js';

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

/** A 2-D float32 kernel whose reads are counted, and the plan output that transposes (and maybe casts) it. */
function countedKernel(name: string): { ref: TensorRef; reads: () => number } {
  const base = source(name, 17, true);
  let reads = 0;
  const ref: TensorRef = {
    ...base,
    read: async () => {
      reads++;
      return base.read();
    },
    readInto: async (target) => {
      reads++;
      await base.readInto?.(target);
    },
  };
  return { ref, reads: () => reads };
}

function output(key: string, from: TensorRef, transforms: Transform[], shape: number[], dtype = 'float32') {
  return {
    kind: 'tensor',
    key,
    sources: [{ name: from.name, dtype: from.dtype, shape: from.shape }],
    transforms,
    shape,
    dtype,
  };
}

test('strided: a transposed kernel is offered as a view of its source, which is then neither read whole nor read ahead', async () => {
  const kernel = countedKernel('dense/kernel');
  const rows = source('emb', 3, true);
  const plan = {
    // The kernel comes after an output that is read ahead: the read-ahead would reach it next.
    outputs: [
      output('part.weight', rows, [{ op: 'select', axis: 0, index: 1 }], [COLS]),
      output('dense.weight', kernel.ref, [{ op: 'transpose' }], [COLS, ROWS]),
      output('emb.weight', rows, [], [ROWS, COLS]),
    ],
  } as unknown as Plan;
  const [part, dense, emb] = planToStateDict(plan, [kernel.ref, rows], { strided: true });
  assert.ok(dense && 'tensor' in dense && dense.strided, 'the transpose has a strided form');
  const stored: Buffer[] = [];
  for await (const chunk of dense.strided.storage.stream()) stored.push(Buffer.from(chunk));
  assert.ok(Buffer.concat(stored).equals(await kernel.ref.read()), 'stored as the source itself');
  const streamedReads = kernel.reads();
  assert.deepEqual(dense.strided.strides, [1, COLS]); // [out, in] over the [in, out] source
  assert.ok(emb && 'tensor' in emb && emb.strided === undefined, 'in source order: nothing to offer');
  assert.ok(part && 'tensor' in part && part.strided === undefined, 'a part of a source is not a view of all of it');
  // Streaming the others must not read the kernel (it is not read ahead in row-major order) …
  for (const e of [emb, part]) for await (const _ of e.tensor.stream());
  assert.equal(kernel.reads(), streamedReads);
  // … and its row-major form still reads correctly on demand.
  const chunks: Buffer[] = [];
  for await (const chunk of dense.tensor.stream()) chunks.push(Buffer.from(chunk));
  assert.ok(Buffer.concat(chunks).equals(transposed(await kernel.ref.read())));
  // Without the option, no strided forms.
  const [, plain] = planToStateDict(plan, [kernel.ref, rows]);
  assert.ok(plain && 'tensor' in plain && plain.strided === undefined);
});

test('strided: a cast and transposed kernel is stored as the cast source, in the source order', async () => {
  const kernel = source('k', 5, true);
  const plan = {
    outputs: [
      output('k.weight', kernel, [{ op: 'cast', dtype: 'float16' }, { op: 'transpose' }], [COLS, ROWS], 'float16'),
    ],
  } as unknown as Plan;
  const [entry] = planToStateDict(plan, [kernel], { strided: true });
  assert.ok(entry && 'tensor' in entry && entry.strided);
  const storage = entry.strided.storage;
  assert.equal(storage.dtype, 'float16');
  assert.deepEqual(storage.shape, [ROWS, COLS]);
  assert.deepEqual(entry.strided.strides, [1, COLS]);
  const chunks: Buffer[] = [];
  for await (const chunk of storage.stream()) chunks.push(Buffer.from(chunk));
  const streamed = Buffer.concat(chunks);
  // The storage read through the strides is the row-major output, element for element.
  const halves = new Uint16Array(streamed.buffer, streamed.byteOffset, streamed.byteLength / 2);
  const rowMajor = await entry.tensor.read();
  const want = new Uint16Array(rowMajor.buffer, rowMajor.byteOffset, rowMajor.byteLength / 2);
  for (let o = 0; o < COLS; o++) for (let i = 0; i < ROWS; i++) assert.equal(halves[o + i * COLS], want[o * ROWS + i]);
  assert.ok(Buffer.from(await storage.read()).equals(streamed), 'read() and stream() agree');
});
