/**
 * A Node worker thread that runs transposes (convert/transposer.ts) on buffers in shared memory: the
 * main thread posts a job, the worker writes the band in place and answers. The worker keeps the
 * process alive only while a job is pending, and a failed worker leaves the jobs to the main thread.
 */
import { Worker } from 'node:worker_threads';
import { addressSpaceShort } from '../../io/thread-room.js';
import type { Allocate } from '../../kernels/apply.js';
import { formatBytes } from '../../units.js';
import { inThreadTransposer, runTransposeJob, type TransposeJob, type Transposer } from './transposer.js';

/** Below this many bytes a band is transposed here: a message round trip costs about as much. */
export const MIN_THREAD_JOB_BYTES = 256 * 1024;

/**
 * The thread's own V8 code range, in MiB: with the default a thread added 780–840 MiB of address space
 * (measured), with 16 280–350 MiB. A reservation that fails under an address-space limit (`ulimit -v`)
 * aborts the whole process; one loop's compiled code fits in 16.
 */
const THREAD_CODE_RANGE_MB = 16;

/**
 * Free address space needed to start the thread under a limit: it takes 32–160 MiB (V8 shrinks its
 * reservations to fit), and the conversion's buffers the rest. Measured on a 32 MiB-kernel conversion:
 * with the thread it completed from 135 MB free at this point and aborted at 84 MB (in this thread it
 * completed at 84 MB). Below it, transposes run here: a failed reservation aborts, it cannot be caught.
 */
export const THREAD_ADDRESS_SPACE_BYTES = 256 * 1024 * 1024;

/**
 * Why a second thread must not start here, or undefined: Linux's address-space limit less what this
 * process maps is below THREAD_ADDRESS_SPACE_BYTES (io/thread-room.ts). When nothing is known, it starts.
 */
export function transposeThreadUnavailable(limits?: string, status?: string): string | undefined {
  const free = addressSpaceShort(THREAD_ADDRESS_SPACE_BYTES, limits, status);
  if (free === undefined) return undefined;
  return `transposes run in the main thread: the address-space limit (ulimit -v) leaves ${formatBytes(free)} free, a second thread needs ${formatBytes(THREAD_ADDRESS_SPACE_BYTES)}`;
}

/** A job as posted: the buffers as shared memory and offsets. */
export interface PostedJob {
  readonly id: number;
  readonly src: { readonly memory: SharedArrayBuffer; readonly offset: number; readonly length: number };
  readonly dst: { readonly memory: SharedArrayBuffer; readonly offset: number; readonly length: number };
  readonly job: Omit<TransposeJob, 'src' | 'dst'>;
}

export type JobReply = { readonly id: number; readonly error?: string };

const allocateShared: Allocate = (n) => new Uint8Array(new SharedArrayBuffer(n));

function shared(bytes: Uint8Array): PostedJob['src'] | undefined {
  return bytes.buffer instanceof SharedArrayBuffer
    ? { memory: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength }
    : undefined;
}

export function startTransposeThread(minJobBytes = MIN_THREAD_JOB_BYTES): Transposer {
  let worker: Worker | undefined;
  try {
    worker = new Worker(new URL('./transpose-worker.js', import.meta.url), {
      resourceLimits: { codeRangeSizeMb: THREAD_CODE_RANGE_MB },
    });
  } catch {
    return inThreadTransposer; // no thread (resources refused): the same jobs, here
  }
  worker.unref();
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void; job: TransposeJob }>();
  let nextId = 0;
  const fail = (reason: string) => {
    worker = undefined;
    // The thread is gone: its unfinished jobs are done here instead.
    for (const [id, p] of pending) {
      pending.delete(id);
      try {
        runTransposeJob(p.job);
        p.resolve();
      } catch (error) {
        p.reject(error instanceof Error ? error : new Error(reason));
      }
    }
  };
  worker.on('message', (reply: JobReply) => {
    const p = pending.get(reply.id);
    if (p === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0) worker?.unref();
    if (reply.error === undefined) p.resolve();
    else p.reject(new Error(`transpose thread: ${reply.error}`));
  });
  worker.on('error', (error) => fail(error.message));
  worker.on('exit', () => fail('the transpose thread exited'));
  return {
    allocate: allocateShared,
    transpose(job) {
      const src = shared(job.src);
      const dst = shared(job.dst);
      if (worker === undefined || src === undefined || dst === undefined || job.dst.byteLength < minJobBytes) {
        runTransposeJob(job);
        return Promise.resolve();
      }
      const id = nextId++;
      const { src: _s, dst: _d, ...rest } = job;
      const posted: PostedJob = { id, src, dst, job: rest };
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject, job });
        worker?.ref();
        worker?.postMessage(posted);
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
