/**
 * Where the 2-D transposes of in-memory sources run. In this thread by default; the Node command line
 * hands them to a second thread (convert/transpose-thread.ts), so that they overlap the reads, the
 * checksums and the writes the main thread drives instead of taking turns with them. Buffers a thread
 * can see are made by the transposer's `allocate` (shared memory); a job on other buffers runs here.
 */
import { type Allocate, freshBytes, transposeBlock, transposeWidenBlock, wordsOf } from '../../kernels/apply.js';

/** `dst[j * rows + r] = src[base + r * stride + j]` in items of `itemSize` bytes (r < rows, j < cols). */
export interface TransposeJob {
  readonly src: Uint8Array;
  readonly base: number;
  readonly stride: number;
  readonly rows: number;
  readonly cols: number;
  readonly itemSize: 1 | 2 | 4;
  /** bfloat16 items widened to float32 on the way (dst holds 4-byte items). */
  readonly widen: boolean;
  readonly dst: Uint8Array;
}

export interface Transposer {
  /** Buffers for sources and bands that this transposer's thread can work on. */
  readonly allocate: Allocate;
  transpose(job: TransposeJob): Promise<void>;
  /** Stops the thread, if any; later jobs run in the caller's thread. */
  close(): Promise<void>;
}

/** Runs one job in the calling thread. */
export function runTransposeJob(job: TransposeJob): void {
  const { src, base, stride, rows, cols, itemSize, widen, dst } = job;
  if (widen)
    transposeWidenBlock(wordsOf(src, 2) as Uint16Array, base, stride, rows, cols, wordsOf(dst, 4) as Uint32Array);
  else transposeBlock(wordsOf(src, itemSize), base, stride, rows, cols, wordsOf(dst, itemSize));
}

/** Transposes in the calling thread, on ordinary buffers. */
export const inThreadTransposer: Transposer = {
  allocate: freshBytes,
  async transpose(job) {
    runTransposeJob(job);
  },
  async close() {},
};
