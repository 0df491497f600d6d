/**
 * A Node worker thread that runs transposes (convert/transposer.ts) on buffers in shared memory: the
 * main thread posts a job, the worker writes the band in place and answers. The worker keeps the
 * process alive only while a job is pending, and a failed worker leaves the jobs to the main thread.
 */
import { Worker } from 'node:worker_threads';
import type { Allocate } from '../../kernels/apply.js';
import { runTransposeJob, type TransposeJob, type Transposer } from './transposer.js';

/** Below this many bytes a band is transposed here: a message round trip costs about as much. */
export const MIN_THREAD_JOB_BYTES = 256 * 1024;

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
  let worker: Worker | undefined = new Worker(new URL('./transpose-worker.js', import.meta.url));
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
