/**
 * One computed output as a sequence of bands of bounded size, so that memory does not follow the
 * largest tensor. Per source view (src/kernels/views.ts), the cheapest way that stays bounded:
 * - in source order (select, squeeze, reshape, concat, cast): the source streamed front to back;
 * - reordered (transpose), source up to `wholeInputBytes`: read whole once, bands gathered from memory;
 * - reordered, larger: in slabs of up to `wholeInputBytes` (a range of output rows), each slab's strided
 *   block read in runs (close runs read as one span), checksummed as read, and its bands gathered from
 *   memory as from a source read whole. Per band instead, a [10240, 2560] kernel took 10,240 reads of
 *   204 bytes for each 4 MiB band; per 32 MiB slab, its runs are 3,276 bytes apart by 1,844: spans.
 */
import { MAX_BYTE_ARRAY_LENGTH } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { Allocate } from '../../kernels/apply.js';
import { transposeBytes } from '../../kernels/apply.js';
import { castBytes, castInto } from '../../kernels/cast.js';
import {
  bandsOf,
  type CompiledOutput,
  type ElementView,
  type GatherPlan,
  gatherPlan,
  inSourceOrder,
  rowMajorStrides,
  runsOf,
  zeroInBand,
} from '../../kernels/views.js';
import { DTYPES, type DType, numElements, type RunBlock, type RunReader, type TensorRef } from '../../tensor.js';
import type { BufferPool } from './buffer-pool.js';
import { EarlyReads } from './early-reads.js';
import { inThreadTransposer, type Transposer } from './transposer.js';

export interface StreamLimits {
  /** Largest band produced at once (output or source bytes, whichever is wider). */
  readonly bandBytes: number;
  /** Bands produced ahead of the writer, in bytes. */
  readonly aheadBytes: number;
  /** Reordered sources up to this size are read whole; larger ones in slabs of strided runs. */
  readonly wholeInputBytes: number;
  /** A slab: the part of a reordered source too large to hold that is read at once (a range of output rows). */
  readonly slabBytes: number;
  /** The next output's source is read whole while the current one is produced, up to this size. */
  readonly earlyReadBytes: number;
}

/**
 * Peak memory is about aheadBytes (bands) + wholeInputBytes (the source being transposed; a slab is
 * smaller) + one source read early (≤ earlyReadBytes, early-reads.ts) + the pool's free buffers (≤ 72 MiB) + the
 * writer's chunks, whatever the model. The values, and what the others cost, are measured in
 * docs/BENCHMARKS.md.
 */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  bandBytes: 4 * 1024 * 1024,
  aheadBytes: 8 * 1024 * 1024,
  wholeInputBytes: 32 * 1024 * 1024,
  slabBytes: 16 * 1024 * 1024,
  earlyReadBytes: 16 * 1024 * 1024,
};

/** A band of output bytes; `release()` once written (returns its buffer to the pool). */
export interface Band {
  readonly bytes: Uint8Array;
  release(): void;
}

/** Reads a source front to back, copying out ascending byte ranges; the rest is read and dropped. */
class SequentialReader {
  private readonly chunks: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart = 0;

  constructor(
    private readonly ref: TensorRef,
    chunkBytes: number,
  ) {
    this.chunks = ref.stream(chunkBytes, { reuse: true })[Symbol.asyncIterator](); // copied out before the next
  }

  private async advance(): Promise<boolean> {
    const next = await this.chunks.next();
    if (next.done) return false;
    this.chunkStart += this.chunk.byteLength;
    this.chunk = next.value;
    return true;
  }

  async copy(offset: number, length: number, target: Uint8Array, at: number): Promise<void> {
    if (offset < this.chunkStart) throw new Error(`${this.ref.name}: ranges out of order at ${offset}`);
    while (length > 0) {
      while (offset >= this.chunkStart + this.chunk.byteLength) {
        if (!(await this.advance())) throw new Error(`${this.ref.name}: source ended before byte ${offset}`);
      }
      const from = offset - this.chunkStart;
      const n = Math.min(length, this.chunk.byteLength - from);
      target.set(this.chunk.subarray(from, from + n), at);
      offset += n;
      at += n;
      length -= n;
    }
  }

  /** Reads to the end: the source verifies its checksum there. */
  async drain(): Promise<void> {
    while (await this.advance());
  }

  async close(): Promise<void> {
    await this.chunks.return?.();
  }
}

/** Applies the casts to a gathered band, into a pooled buffer of `outBytes` (the input goes back to the pool). */
function castAll(bytes: Uint8Array, casts: CompiledOutput['casts'], outBytes: number, pool: BufferPool): Uint8Array {
  if (casts.length === 0) return bytes;
  let current = bytes;
  for (const [i, { from, to }] of casts.entries()) {
    if (i < casts.length - 1) current = castBytes(current, from, to);
    else {
      const out = pool.take(outBytes);
      castInto(current, from, to, out);
      current = out;
    }
  }
  pool.give(bytes);
  return current;
}

/** How a view's bands get their source elements, and what must happen once all bands are out. */
interface Gatherer {
  gather(plan: GatherPlan, target: Uint8Array): Promise<void>;
  /** A 2-D transposed band straight from the source into `target` (sources in memory only). */
  transpose?(plan: GatherPlan, target: Uint8Array, widen: boolean): Promise<void>;
  /** After the last band (reads the rest of a streamed source, whose checksum is checked at its end). */
  finish(): Promise<void>;
  close(): Promise<void>;
}

function streamedGatherer(ref: TensorRef, itemSize: number, chunkBytes: number): Gatherer {
  const reader = new SequentialReader(ref, chunkBytes);
  return {
    async gather(plan, target) {
      const runBytes = plan.runLength * itemSize;
      for (let r = 0; r < plan.offsets.length; r++)
        await reader.copy((plan.offsets[r] as number) * itemSize, runBytes, target, r * runBytes);
    },
    finish: () => reader.drain(),
    close: () => reader.close(),
  };
}

/** Transformed tensors held whole are bounded by the runtime's largest byte array (Node 20: 4 GiB). */
export const MAX_HELD_BYTES = MAX_BYTE_ARRAY_LENGTH;

/** Checked before any allocation: a hostile or corrupt listing must not size a buffer unchecked. */
export function checkHoldable(ref: TensorRef): void {
  if (ref.byteLength > MAX_HELD_BYTES) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${ref.name}: ${ref.byteLength} bytes; a tensor that needs a transform is held in memory once, and this runtime's limit is ${MAX_HELD_BYTES} bytes`,
      { tensor: ref.name },
    );
  }
}

async function inMemoryGatherer(
  ref: TensorRef,
  itemSize: number,
  pool: BufferPool,
  sources: EarlyReads,
  transposer: Transposer,
): Promise<Gatherer> {
  checkHoldable(ref);
  return heldGatherer(await sources.read(ref), itemSize, pool, transposer);
}

/** Bands gathered from `input` (a source read whole, or a slab of one), given back to the pool at close. */
function heldGatherer(input: Uint8Array, itemSize: number, pool: BufferPool, transposer: Transposer): Gatherer {
  return {
    async gather(plan, target) {
      const runBytes = plan.runLength * itemSize;
      for (let r = 0; r < plan.offsets.length; r++) {
        const at = (plan.offsets[r] as number) * itemSize;
        target.set(input.subarray(at, at + runBytes), r * runBytes);
      }
    },
    transpose(plan, target, widen) {
      const [rows, cols] = plan.gatheredShape as [number, number];
      const base = plan.offsets[0] as number;
      const stride = plan.offsets.length > 1 ? (plan.offsets[1] as number) - base : cols;
      const size = itemSize as 1 | 2 | 4; // directTranspose admits no other
      return transposer.transpose({ src: input, base, stride, rows, cols, itemSize: size, widen, dst: target });
    },
    finish: async () => {},
    close: async () => pool.give(input),
  };
}

/**
 * Whether a band is a plain 2-D transpose of single-word items, which can then be written straight
 * from the source in one pass (with bfloat16 → float32 widening in the same pass: `widen`).
 */
function directTranspose(
  plan: GatherPlan,
  itemSize: number,
  casts: CompiledOutput['casts'],
): { widen: boolean } | undefined {
  const [rows, cols] = plan.gatheredShape;
  if (plan.gatheredShape.length !== 2 || plan.axes?.[0] !== 1 || itemSize > 4 || itemSize === 3) return undefined;
  // Runs of one source row each, or the whole block as one run (a band of every row).
  const rowRuns = plan.offsets.length === rows && plan.runLength === cols;
  const oneRun = plan.offsets.length === 1 && plan.runLength === (rows as number) * (cols as number);
  if (!rowRuns && !oneRun) return undefined;
  const widen = casts.length === 1 && casts[0]?.from === 'bfloat16' && casts[0]?.to === 'float32';
  return { widen };
}

/** A view's runs in source order (ascending), band by band: the bytes it uses, as a front-to-back read meets them. */
function* runsInSourceOrder(view: ElementView, maxElements: number): Generator<RunBlock> {
  const order = [...view.shape.keys()].sort((a, b) => (view.strides[b] as number) - (view.strides[a] as number));
  const sorted = {
    ...view,
    shape: order.map((a) => view.shape[a] as number),
    strides: order.map((a) => view.strides[a] as number),
  };
  for (const band of bandsOf(sorted, maxElements)) yield gatherPlan(band);
}

/**
 * The runs of a reordered source too large to hold, checksummed as they are read and verified after
 * the last slab: when the view is a permutation of the whole source its runs cover every byte once and
 * meet the stored checksum; a view of part of it (a select) is read once in order first, checked, and
 * its runs then must match the bytes that read gave them.
 */
async function openRuns(view: ElementView, ref: TensorRef, limits: StreamLimits): Promise<RunReader> {
  const runs = await (ref.runs?.() as Promise<RunReader>);
  const itemSize = DTYPES[ref.dtype].itemSize;
  if (numElements(view.shape) * itemSize !== ref.byteLength) {
    const maxElements = Math.max(1, Math.floor(limits.bandBytes / itemSize));
    await runs.checkPart(runsInSourceOrder(view, maxElements), limits.bandBytes);
  }
  return runs;
}

/**
 * A slab gathered in row-major `gatheredShape` order, seen in the slab's own (output) order: the view
 * its bands are cut from, over the gathered buffer.
 */
function viewOfGathered(plan: GatherPlan, input: number): ElementView {
  const strides = rowMajorStrides(plan.gatheredShape);
  const axes = plan.axes ?? [...plan.gatheredShape.keys()];
  return {
    input,
    offset: 0,
    shape: axes.map((a) => plan.gatheredShape[a] as number),
    strides: axes.map((a) => strides[a] as number),
  };
}

/**
 * Slabs are for views whose bands would be read in short runs (a wide kernel transposed: a band of
 * [2560, 10240] is 10,240 runs of 204 bytes); a band whose runs are this long reads well as it is.
 */
const SHORT_RUN_BYTES = 64 * 1024;
/**
 * A slab's runs are noted as absolute offsets (8 bytes each, twice): past this many (a narrow kernel,
 * a run of one element per source row), slabs are cut to the size of a band.
 */
const MAX_SLAB_RUNS = 1 << 20;

/** How a reordered view too large to hold is read: in slabs of output rows, each gathered at once. */
function* slabPlans(view: ElementView, itemSize: number, limits: StreamLimits): Generator<GatherPlan> {
  const elements = (bytes: number) => Math.max(1, Math.floor(bytes / itemSize));
  const [band] = bandsOf(view, elements(limits.bandBytes));
  const [slab] = bandsOf(view, elements(limits.slabBytes));
  const wide =
    band !== undefined &&
    slab !== undefined &&
    runsOf(band).runLength * itemSize < SHORT_RUN_BYTES &&
    runsOf(slab).count <= MAX_SLAB_RUNS;
  for (const part of bandsOf(view, elements(wide ? limits.slabBytes : limits.bandBytes))) yield gatherPlan(part);
}

/** Whether a view's source is read whole into memory (rather than streamed or read in strided slabs). */
export function readsWhole(view: ElementView, ref: TensorRef, limits: StreamLimits): boolean {
  return !inSourceOrder(view) && (ref.byteLength <= limits.wholeInputBytes || ref.runs === undefined);
}

/** The output's bytes in bands of at most `limits.bandBytes`, each in a pooled buffer. */
export async function* produceBands(
  refs: readonly TensorRef[],
  compiled: CompiledOutput,
  limits: StreamLimits,
  pool: BufferPool,
  sources: EarlyReads = new EarlyReads(pool, 0),
  transposer: Transposer = inThreadTransposer,
): AsyncGenerator<Band> {
  const take: Allocate = (n) => pool.take(n);
  const outItem = DTYPES[compiled.type.dtype].itemSize;
  // Output elements before the current band: where a band lies in the output, for its zeroed slices.
  let produced = 0;
  const zeroed = (out: Uint8Array, start: number): Uint8Array => {
    if (compiled.zeroed !== undefined) zeroInBand(out, start, outItem, compiled.type.shape, compiled.zeroed);
    return out;
  };

  /** The bands of `view`, its elements (of `dtype`) taken from `gatherer`. */
  async function* bandsFrom(view: ElementView, gatherer: Gatherer, dtype: DType): AsyncGenerator<Band> {
    const inItem = DTYPES[dtype].itemSize;
    const maxElements = Math.max(1, Math.floor(limits.bandBytes / Math.max(inItem, outItem)));
    // A direct transpose is started before the band ahead of it is handed out: the transposer (another
    // thread) works on band k + 1 while band k is queued and written.
    let started:
      | {
          readonly done: Promise<void>;
          readonly moved: Uint8Array;
          readonly n: number;
          readonly start: number;
          readonly widen: boolean;
        }
      | undefined;
    const finishStarted = async (): Promise<Band> => {
      const { done, moved, n, start, widen } = started as NonNullable<typeof started>;
      started = undefined;
      await done;
      const out = zeroed(widen ? moved : castAll(moved, compiled.casts, n * outItem, pool), start);
      return { bytes: out, release: () => pool.give(out) };
    };
    try {
      for (const band of bandsOf(view, maxElements)) {
        const plan = gatherPlan(band);
        const n = numElements(band.shape);
        const start = produced;
        produced += n;
        const direct = gatherer.transpose && directTranspose(plan, inItem, compiled.casts);
        if (gatherer.transpose && direct) {
          const moved = pool.take(n * (direct.widen ? 4 : inItem));
          const done = gatherer.transpose(plan, moved, direct.widen);
          done.catch(() => undefined); // awaited below, in order
          const previous = started === undefined ? undefined : await finishStarted();
          started = { done, moved, n, start, widen: direct.widen };
          if (previous !== undefined) yield previous;
          continue;
        }
        if (started !== undefined) yield await finishStarted();
        let bytes = pool.take(n * inItem);
        await gatherer.gather(plan, bytes);
        if (plan.axes !== undefined) {
          const moved = transposeBytes({ dtype, shape: plan.gatheredShape, bytes }, plan.axes, take).bytes;
          pool.give(bytes);
          bytes = moved;
        }
        const out = zeroed(castAll(bytes, compiled.casts, n * outItem, pool), start);
        yield { bytes: out, release: () => pool.give(out) };
      }
      if (started !== undefined) yield await finishStarted();
      await gatherer.finish();
    } finally {
      // Stopped early: a transpose still running must not see its buffers reused.
      await started?.done.catch(() => undefined);
      await gatherer.close();
    }
  }

  for (const view of compiled.views) {
    const ref = refs[view.input] as TensorRef;
    const inItem = DTYPES[ref.dtype].itemSize;
    if (readsWhole(view, ref, limits)) {
      yield* bandsFrom(view, await inMemoryGatherer(ref, inItem, pool, sources, transposer), ref.dtype);
    } else if (inSourceOrder(view)) {
      // Streamed sources are read in chunks of a band: two of them (one read ahead) are held meanwhile.
      yield* bandsFrom(view, streamedGatherer(ref, inItem, limits.bandBytes), ref.dtype);
    } else {
      const runs = await openRuns(view, ref, limits);
      for (const plan of slabPlans(view, inItem, limits)) {
        const bytes = pool.take(numElements(plan.gatheredShape) * inItem);
        try {
          await runs.read(bytes, plan.offsets, plan.runLength);
        } catch (error) {
          pool.give(bytes);
          throw error;
        }
        yield* bandsFrom(viewOfGathered(plan, view.input), heldGatherer(bytes, inItem, pool, transposer), ref.dtype);
      }
      runs.verify();
    }
  }
}
