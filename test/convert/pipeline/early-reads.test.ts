/**
 * Sources read whole ahead of their turn: the next output's source is read while the current one is
 * transposed. The bytes must be the source's whatever happens to the early read (claimed, dropped,
 * failed), the early reads are bounded, and the conversion's pipeline really starts them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../../../src/convert/pipeline/buffer-pool.js';
import { EarlyReads } from '../../../src/convert/pipeline/early-reads.js';
import { planToStateDict } from '../../../src/convert/pipeline/plan-to-state-dict.js';
import type { Plan, PlanOutput } from '../../../src/mapping/plan.js';
import { memoryTensor, type TensorRef } from '../../../src/tensor.js';

interface Counted extends TensorRef {
  readonly reads: { count: number };
}

/** A float32 [rows, cols] source whose readInto calls are counted; `failures` first calls fail. */
function source(name: string, rows: number, cols: number, failures = 0): Counted {
  const words = new Uint32Array(rows * cols).map((_, i) => (Math.imul(i + 7, 2654435761) ^ name.length) >>> 0);
  const bytes = new Uint8Array(words.buffer);
  const reads = { count: 0 };
  return {
    ...memoryTensor(name, 'float32', [rows, cols], bytes),
    reads,
    async readInto(target: Uint8Array) {
      reads.count++;
      await new Promise((resolve) => setImmediate(resolve));
      if (reads.count <= failures) throw new Error(`${name}: read failed (${reads.count})`);
      target.set(bytes);
    },
  };
}

test('a started read is the one claimed: the source is read once, with its own bytes', async () => {
  const sources = new EarlyReads(new BufferPool(), 1 << 20);
  const a = source('a', 64, 256);
  sources.start(a);
  assert.equal(a.reads.count, 1);
  assert.deepEqual(await sources.read(a), await a.read());
  assert.equal(a.reads.count, 1);
  assert.deepEqual(await sources.read(a), await a.read()); // claimed once: a second read is a fresh one
  assert.equal(a.reads.count, 2);
});

test('sources above the bound are not read early', async () => {
  const sources = new EarlyReads(new BufferPool(), 1000);
  const big = source('big', 64, 256);
  sources.start(big);
  assert.equal(big.reads.count, 0);
  assert.deepEqual(await sources.read(big), await big.read());
});

test('at most two early reads are held: a third drops the oldest, which is then read again', async () => {
  const sources = new EarlyReads(new BufferPool(), 1 << 20);
  const [a, b, c] = ['a', 'bb', 'ccc'].map((n) => source(n, 32, 256)) as [Counted, Counted, Counted];
  sources.start(a);
  sources.start(b);
  sources.start(c);
  assert.deepEqual(await sources.read(a), await a.read());
  assert.equal(a.reads.count, 2);
  assert.deepEqual(await sources.read(c), await c.read());
  assert.equal(c.reads.count, 1);
});

test('an early read that failed is read again; a failure then is the one reported', async () => {
  const sources = new EarlyReads(new BufferPool(), 1 << 20);
  const flaky = source('flaky', 32, 256, 1);
  sources.start(flaky);
  assert.deepEqual(await sources.read(flaky), await flaky.read());
  assert.equal(flaky.reads.count, 2);
  const broken = source('broken', 32, 256, 2);
  sources.start(broken);
  await assert.rejects(sources.read(broken), /broken: read failed \(2\)/);
});

test("the conversion reads the next output's source while the current one is still being produced", async () => {
  // The first output is larger than the read-ahead: its production is still blocked on the writer.
  const refs = [source('w0', 64, 512), source('w11', 32, 256), source('w222', 32, 256)];
  const outputs: PlanOutput[] = refs.map((s, i) => ({
    kind: 'tensor',
    key: `k${i}.weight`,
    sources: [{ name: s.name, dtype: 'float32', shape: s.shape }],
    transforms: [{ op: 'transpose' }],
    shape: [s.shape[1] as number, s.shape[0] as number],
    dtype: 'float32',
  }));
  const limits = {
    bandBytes: 32 << 10,
    aheadBytes: 64 << 10,
    wholeInputBytes: 1 << 20,
    slabBytes: 1 << 20,
    earlyReadBytes: 32 << 10,
  };
  const entries = planToStateDict({ outputs } as unknown as Plan, refs, { limits });
  const first = entries[0];
  assert.ok(first && 'tensor' in first);
  const chunks = first.tensor.stream()[Symbol.asyncIterator]();
  await chunks.next(); // the writer holds the first band of four
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(refs[1]?.reads.count, 1, 'the second source was read early');
  assert.equal(refs[2]?.reads.count, 0, 'one source ahead, no more');
  await chunks.return?.();
});
