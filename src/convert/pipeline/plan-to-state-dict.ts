/**
 * Plan outputs → the state dict writers consume, lazily: an untransformed output IS the source's
 * TensorRef (streamed in chunks by the writer); a transformed one is produced in bands of bounded
 * size when the writer reaches it (bands.ts), read ahead by a bounded number of bytes,
 * so memory stays the same whatever the size of the model or of its largest tensor.
 */
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { StateDictEntry, StridedStorage } from '../../formats/state-dict.js';
import { applyTransforms, freshBytes } from '../../kernels/apply.js';
import { generateBytes } from '../../kernels/generated-values.js';
import { type CompiledOutput, compileViews, inSourceOrder, rowMajorStrides } from '../../kernels/views.js';
import type { Plan, PlanOutput } from '../../mapping/plan.js';
import type { Transform } from '../../mapping/types.js';
import { DTYPES, type DType, numElements, type TensorRef } from '../../tensor.js';
import {
  type Band,
  checkHoldable,
  DEFAULT_STREAM_LIMITS,
  produceBands,
  readsWhole,
  type StreamLimits,
} from './bands.js';
import { BandsAhead } from './bands-ahead.js';
import { BufferPool, MIN_POOLED_BYTES } from './buffer-pool.js';
import { EarlyReads } from './early-reads.js';
import { PassThroughChain } from './pass-through-chain.js';
import { inThreadTransposer, type Transposer } from './transposer.js';

/** Computed bytes, and the pooled buffers they used (returned to the pool once written). */
interface Computed {
  readonly bytes: Uint8Array;
  readonly pooled: readonly Uint8Array[];
}

/** A TensorRef whose bytes are computed on demand: `read()` whole (fresh memory the caller keeps), `stream()` in bands. */
function computedTensor(
  name: string,
  dtype: DType,
  shape: readonly number[],
  read: () => Promise<Uint8Array>,
  stream: () => AsyncIterable<Uint8Array>,
): TensorRef {
  const byteLength = numElements(shape) * DTYPES[dtype].itemSize;
  return {
    name,
    dtype,
    shape: [...shape],
    byteLength,
    read,
    async *stream() {
      let produced = 0;
      for await (const bytes of stream()) {
        produced += bytes.byteLength;
        yield bytes;
      }
      if (produced !== byteLength) throw new Error(`${name}: computed ${produced} bytes, expected ${byteLength}`);
    },
  };
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
  for (const ref of refs) checkHoldable(ref);
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

/** A whole computed output as bands (outputs views cannot express): released together after the last. */
async function* wholeBands(
  refs: readonly TensorRef[],
  transforms: readonly Transform[],
  limits: StreamLimits,
  pool: BufferPool,
): AsyncGenerator<Band> {
  const { bytes, pooled } = await computeOutput(refs, transforms, pool);
  const step = Math.max(1, limits.bandBytes);
  for (let at = 0; at < bytes.byteLength || at === 0; at += step) {
    const last = at + step >= bytes.byteLength;
    yield {
      bytes: bytes.subarray(at, Math.min(bytes.byteLength, at + step)),
      release: () => {
        if (last) for (const b of pooled) pool.give(b);
      },
    };
  }
}

/** How an output's bands are made, and which of its sources are read whole (and can be read early). */
interface Producer {
  readonly wholeSources: readonly TensorRef[];
  produce(): AsyncIterable<Band>;
  /** The output as a view of its source's order, when offered (then written that way, not read ahead). */
  readonly strided?: StridedStorage;
}

/**
 * An output that reorders one whole source (a transposed kernel), as a strided view of the source's
 * own order with the casts applied element by element: nothing is moved, the source streams as it
 * lies. Undefined when the output selects part of its source, joins several, or keeps their order.
 */
function stridedForm(
  refs: readonly TensorRef[],
  compiled: CompiledOutput,
  limits: StreamLimits,
  pool: BufferPool,
): StridedStorage | undefined {
  const [view, ...others] = compiled.views;
  if (compiled.zeroed !== undefined) return undefined; // values the source does not hold
  if (view === undefined || others.length > 0 || inSourceOrder(view) || view.offset !== 0) return undefined;
  const ref = refs[view.input] as TensorRef;
  if (numElements(view.shape) !== numElements(ref.shape)) return undefined;
  if (compiled.casts.length === 0) return { storage: ref, strides: view.strides };
  const inOrder: CompiledOutput = {
    views: [{ input: view.input, offset: 0, shape: ref.shape, strides: rowMajorStrides(ref.shape) }],
    casts: compiled.casts,
    type: { dtype: compiled.type.dtype, shape: ref.shape },
  };
  const casts: Transform[] = compiled.casts.map(({ to }) => ({ op: 'cast', dtype: to }));
  const storage = computedTensor(
    ref.name,
    compiled.type.dtype,
    ref.shape,
    async () => (await computeOutput([ref], casts, undefined)).bytes,
    () => releasing(produceBands([ref], inOrder, limits, pool)),
  );
  return { storage, strides: view.strides };
}

/** Bands as plain bytes, each released once the consumer asks for the next. */
async function* releasing(bands: AsyncIterable<Band>): AsyncGenerator<Uint8Array> {
  for await (const band of bands) {
    try {
      yield band.bytes;
    } finally {
      band.release();
    }
  }
}

export interface StateDictOptions {
  /** Bounds the memory of computed outputs (tests make them tiny so that banding runs on small tensors). */
  readonly limits?: StreamLimits;
  /**
   * Offer reordered outputs as strided views of their sources (`StateDictEntry.strided`), for a torch
   * writer: such outputs are then not read ahead in row-major order, which they can still be read in.
   */
  readonly strided?: boolean;
  /** Where in-memory transposes run (default: this thread); its `allocate` makes the pooled buffers. */
  readonly transposer?: Transposer;
  /** For safetensors: aliases marked `copyInSafetensors` become tensors of their own (read again, whole). */
  readonly copyAliases?: boolean;
}

/** The plan's outputs as writer entries over the source's tensors. */
export function planToStateDict(
  plan: Plan,
  tensors: readonly TensorRef[],
  options: StateDictOptions = {},
): StateDictEntry[] {
  const limits = options.limits ?? DEFAULT_STREAM_LIMITS;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const transposer = options.transposer ?? inThreadTransposer;
  const pool = new BufferPool(transposer.allocate);
  // The next output's source is read early (BERT-base's kernels): memory grows by one such source.
  const sources = new EarlyReads(pool, Math.min(limits.earlyReadBytes, limits.wholeInputBytes));
  const producers = plan.outputs.map((o): Producer | undefined => {
    if (o.kind !== 'tensor' || (o.transforms.length === 0 && o.sources.length === 1)) return undefined;
    const refs = sourcesOf(o, byName);
    const compiled = compileViews(refs, o.transforms);
    if (compiled === undefined)
      return { wholeSources: [], produce: () => wholeBands(refs, o.transforms, limits, pool) };
    const strided = options.strided ? stridedForm(refs, compiled, limits, pool) : undefined;
    return {
      ...(strided === undefined ? {} : { strided }),
      wholeSources: compiled.views.flatMap((view) => {
        const ref = refs[view.input] as TensorRef;
        return readsWhole(view, ref, limits) ? [ref] : [];
      }),
      produce: () => produceBands(refs, compiled, limits, pool, sources, transposer),
    };
  });
  // Streamed as they lie, in the writer's order (torch takes strided forms where offered).
  const chain = new PassThroughChain();
  const order = producers.flatMap((p, index) => (p === undefined || p.strided !== undefined ? [] : [index]));
  const nextInOrder = new Map(order.map((index, k) => [index, order[k + 1]]));
  const bandsAhead = new BandsAhead(
    order,
    (index) => {
      const next = producers[nextInOrder.get(index) ?? -1];
      for (const ref of next?.wholeSources ?? []) sources.start(ref);
      return (producers[index] as Producer).produce();
    },
    limits.aheadBytes,
  );
  return plan.outputs.map((o, index): StateDictEntry => {
    if (o.kind === 'alias')
      return options.copyAliases && o.copyInSafetensors
        ? { key: o.key, tensor: aliasCopy(plan, o, byName) }
        : { key: o.key, aliasOf: o.aliasOf };
    if (o.kind === 'generated') {
      const generate = async () => generateBytes(o.generator, o.dtype, o.shape);
      return {
        key: o.key,
        tensor: computedTensor(o.key, o.dtype, o.shape, generate, async function* () {
          yield await generate();
        }),
      };
    }
    const producer = producers[index];
    if (producer === undefined) return { key: o.key, tensor: chain.add(sourcesOf(o, byName)[0] as TensorRef) };
    const refs = sourcesOf(o, byName);
    const read = async () => (await computeOutput(refs, o.transforms, undefined)).bytes;
    const tensor = computedTensor(o.key, o.dtype, o.shape, read, () => bandsAhead.take(index));
    if (producer.strided === undefined) return { key: o.key, tensor };
    const { storage, strides } = producer.strided;
    return { key: o.key, tensor, strided: { storage: chain.add(storage), strides } };
  });
}

/** A second, independent tensor with an alias's bytes: its source output computed again, whole. */
function aliasCopy(
  plan: Plan,
  alias: PlanOutput & { kind: 'alias' },
  byName: ReadonlyMap<string, TensorRef>,
): TensorRef {
  const source = plan.outputs.find((o) => o.key === alias.aliasOf);
  if (source === undefined || source.kind === 'alias')
    throw new Tf2TorchError(ErrorCode.PLAN, `${alias.key}: its source ${alias.aliasOf} is not a tensor of the plan`, {
      tensor: alias.key,
    });
  const read = async () =>
    source.kind === 'generated'
      ? generateBytes(source.generator, source.dtype, source.shape)
      : (await computeOutput(sourcesOf(source, byName), source.transforms, undefined)).bytes;
  return computedTensor(alias.key, alias.dtype, alias.shape, read, async function* () {
    yield await read();
  });
}
