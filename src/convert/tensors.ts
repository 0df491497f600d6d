/**
 * Plan outputs → the state dict writers consume, lazily: an untransformed output IS the source's
 * TensorRef (streamed in chunks by the writer); a transformed one is materialised only when the
 * writer reaches it, so memory holds about one tensor at a time whatever the model size.
 */
import { constants as bufferConstants } from 'node:buffer';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { StateDictEntry } from '../formats/state-dict.js';
import { applyTransforms, freshBytes } from '../mapping/apply.js';
import type { Plan, PlanOutput } from '../mapping/plan.js';
import type { Generator, Transform } from '../mapping/types.js';
import { DTYPES, type DType, numElements, type TensorRef } from '../tensor.js';
import { BufferPool, MIN_POOLED_BYTES } from './buffer-pool.js';

/** Transformed tensors are materialised whole; Node's Buffer limit (4 GiB on 64-bit Node 20) bounds them. */
const MAX_TRANSFORMED_BYTES = bufferConstants.MAX_LENGTH;

/** Computed bytes, and the pooled buffers they used (returned to the pool once written). */
interface Computed {
  readonly bytes: Uint8Array;
  readonly pooled: readonly Uint8Array[];
}

type Compute = (pool: BufferPool | undefined) => Promise<Computed>;

/**
 * A TensorRef whose bytes are computed on demand. `read()` returns fresh memory the caller keeps;
 * `stream()` computes into pooled buffers and takes them back when the consumer asks for more (or
 * stops): a consumer must be done with the chunk by then, as the writers are once `write` resolved.
 */
function computedTensor(
  name: string,
  dtype: DType,
  shape: readonly number[],
  compute: Compute,
  pool: BufferPool,
): TensorRef {
  const byteLength = numElements(shape) * DTYPES[dtype].itemSize;
  return {
    name,
    dtype,
    shape: [...shape],
    byteLength,
    read: async () => (await compute(undefined)).bytes,
    // Already whole in memory: one chunk, so the writer hands it to the disk in one write while the
    // next tensor is being computed (chunking would only add round trips).
    async *stream() {
      const { bytes, pooled } = await compute(pool);
      if (bytes.byteLength !== byteLength)
        throw new Error(`${name}: computed ${bytes.byteLength} bytes, expected ${byteLength}`);
      try {
        yield bytes;
      } finally {
        for (const b of pooled) pool.give(b);
      }
    },
  };
}

/**
 * Values of a generated key (float32 unless int64 arange). `inv-freq` follows torch's float32 steps:
 * 1 / 10000 ** (arange(0, d, 2) / d), each step rounded to float32.
 */
export function generateBytes(g: Generator, dtype: DType, shape: readonly number[]): Uint8Array {
  const n = numElements(shape);
  // Zero is all zero bits in every dtype: keys absent from a checkpoint, written as zeros in the output's dtype.
  if (g.kind === 'fill' && g.value === 0) return new Uint8Array(n * DTYPES[dtype].itemSize);
  if (dtype === 'int64') {
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = g.kind === 'arange' ? BigInt(i) : BigInt(g.kind === 'fill' ? g.value : 0);
    return new Uint8Array(out.buffer);
  }
  if (dtype !== 'float32')
    throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `generated values are float32 or int64, not ${dtype}`);
  const out = new Float32Array(n);
  switch (g.kind) {
    case 'identity':
      for (let i = 0; i < g.size; i++) out[i * g.size + i] = 1;
      break;
    case 'fill':
      out.fill(g.value);
      break;
    case 'arange':
      for (let i = 0; i < n; i++) out[i] = i;
      break;
    case 'inv-freq': {
      const d = Math.fround(g.dModel);
      for (let i = 0; i < n; i++) {
        const exponent = Math.fround(Math.fround(2 * i) / d);
        out[i] = Math.fround(1 / Math.fround(10000 ** exponent));
      }
      break;
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * Read-ahead of one computed tensor: while the writer streams output k to disk (thread pool), the main
 * thread reads and transforms the next computed output. At most two materialised tensors in memory.
 */
class ReadAhead {
  private readonly pending = new Map<number, Promise<Computed>>();
  constructor(
    private readonly computes: readonly (Compute | undefined)[],
    private readonly pool: BufferPool,
  ) {}

  get(index: number, pool: BufferPool | undefined): Promise<Computed> {
    const compute = this.computes[index] as Compute;
    if (pool === undefined) return compute(undefined); // read(): fresh memory, no read-ahead
    const ready = this.pending.get(index) ?? compute(pool);
    this.pending.delete(index);
    const next = this.computes.findIndex((c, i) => i > index && c !== undefined);
    if (next >= 0 && !this.pending.has(next)) {
      const promise = (this.computes[next] as Compute)(this.pool);
      promise.catch(() => undefined); // surfaced when the writer reaches it
      this.pending.set(next, promise);
    }
    return ready;
  }
}

function sourcesOf(o: PlanOutput & { kind: 'tensor' }, byName: ReadonlyMap<string, TensorRef>): TensorRef[] {
  return o.sources.map((s) => {
    const ref = byName.get(s.name);
    if (!ref)
      throw new Tf2TorchError(ErrorCode.TENSOR_NOT_FOUND, `${s.name}: in the plan but not in the checkpoint`, {
        tensor: s.name,
      });
    return ref;
  });
}

/**
 * Reads the sources and applies the transforms. With a pool, sources that can be read into a buffer
 * are, and moved data lands in pooled buffers; those an input the result does not share go back at
 * once, the others once the result is written.
 */
async function computeOutput(
  refs: readonly TensorRef[],
  transforms: readonly Transform[],
  pool: BufferPool | undefined,
): Promise<Computed> {
  for (const ref of refs) {
    // Checked before any allocation: a hostile or corrupt listing must not size a buffer unchecked.
    if (ref.byteLength > MAX_TRANSFORMED_BYTES) {
      throw new Tf2TorchError(
        ErrorCode.LIMIT,
        `${ref.name}: ${ref.byteLength} bytes; a tensor that needs a transform is held in memory once, and this runtime's limit is ${MAX_TRANSFORMED_BYTES} bytes`,
        { tensor: ref.name },
      );
    }
  }
  const pooled: Uint8Array[] = [];
  const take = (n: number) => {
    const b = (pool as BufferPool).take(n);
    pooled.push(b);
    return b;
  };
  const inputs = [];
  const pooledInputs: Uint8Array[] = [];
  for (const ref of refs) {
    let bytes: Uint8Array;
    if (pool !== undefined && ref.readInto !== undefined && ref.byteLength >= MIN_POOLED_BYTES) {
      bytes = pool.take(ref.byteLength);
      pooledInputs.push(bytes);
      await ref.readInto(bytes);
    } else bytes = await ref.read();
    inputs.push({ dtype: ref.dtype, shape: ref.shape, bytes });
  }
  const out = applyTransforms(inputs, transforms, pool === undefined ? freshBytes : take).bytes;
  for (const b of pooledInputs) {
    if (b.buffer === out.buffer) pooled.push(b);
    else pool?.give(b);
  }
  return { bytes: out, pooled };
}

/** The plan's outputs as writer entries over the source's tensors. */
export function planToStateDict(plan: Plan, tensors: readonly TensorRef[]): StateDictEntry[] {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const pool = new BufferPool();
  const computes = plan.outputs.map((o): Compute | undefined => {
    if (o.kind !== 'tensor' || (o.transforms.length === 0 && o.sources.length === 1)) return undefined;
    const refs = sourcesOf(o, byName);
    return (into) => computeOutput(refs, o.transforms, into);
  });
  const readAhead = new ReadAhead(computes, pool);
  return plan.outputs.map((o, index): StateDictEntry => {
    if (o.kind === 'alias') return { key: o.key, aliasOf: o.aliasOf };
    if (o.kind === 'generated') {
      const generate = async () => ({ bytes: generateBytes(o.generator, o.dtype, o.shape), pooled: [] });
      return { key: o.key, tensor: computedTensor(o.key, o.dtype, o.shape, generate, pool) };
    }
    if (computes[index] === undefined) return { key: o.key, tensor: sourcesOf(o, byName)[0] as TensorRef };
    return { key: o.key, tensor: computedTensor(o.key, o.dtype, o.shape, (into) => readAhead.get(index, into), pool) };
  });
}
