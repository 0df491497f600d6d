/**
 * Ranged reads of remote objects in a worker thread (Node): a socket's bytes are copied out of the
 * kernel by the thread that reads it, and on the main thread that copy (every body byte), the request
 * writes and the answers' parsing competed with the conversion it feeds, which local reads (on the
 * thread pool) never did. The worker runs its own `HttpClient` with the same options; bodies land in
 * shared memory (the fetch-ahead's buffers), one message each way per range. Retries, identity checks
 * and their errors are the client's, as in this thread; an error crosses as its code, message and context.
 */
import { Worker } from 'node:worker_threads';
import type { ObjectIdentity } from './http-answers.js';
import {
  type RangeMessage,
  type RangeReply,
  type RangeThreadHandle,
  type RangeThreadOptions,
  rebuiltError,
} from './range-messages.js';
import { addressSpaceShort } from './thread-room.js';

/**
 * The thread's V8 limits, in MiB: a small code range (the default reserves hundreds of MiB of address
 * space) and a small young generation (the default's semispaces added about 20 MiB of RSS); the
 * thread holds little more than requests in flight.
 */
const THREAD_LIMITS = { codeRangeSizeMb: 16, maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 };
/** Free address space needed to start it (as for the transpose thread: convert/pipeline/transpose-thread.ts). */
const THREAD_ADDRESS_SPACE_BYTES = 256 * 1024 * 1024;

export class RangeThread implements RangeThreadHandle {
  bytesFetched = 0;
  requests = 0;
  private worker: Worker | undefined;
  private readonly pending = new Map<
    number,
    { display: string; resolve: (crc?: number) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;

  /** Undefined when no thread can start (the caller reads in its own thread). */
  static start(options: RangeThreadOptions): RangeThread | undefined {
    if (addressSpaceShort(THREAD_ADDRESS_SPACE_BYTES) !== undefined) return undefined;
    try {
      const worker = new Worker(new URL('./range-worker.js', import.meta.url), {
        workerData: options,
        resourceLimits: THREAD_LIMITS,
      });
      return new RangeThread(worker);
    } catch {
      return undefined;
    }
  }

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (reply: RangeReply) => {
      this.bytesFetched = reply.bytesFetched;
      this.requests = reply.requests;
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker?.unref();
      if (reply.error === undefined) p.resolve(reply.crc);
      else p.reject(rebuiltError(reply.error));
    });
    const gone = (why: string) => {
      this.worker = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new Error(`range thread: ${why}`));
      }
    };
    worker.on('error', (error) => gone(error.message));
    worker.on('exit', () => gone('exited'));
    worker.unref(); // after the listeners: adding one refs it again
  }

  /** Whether `target` can be filled there (shared memory, and the thread is running). */
  accepts(target: Uint8Array): boolean {
    return this.worker !== undefined && target.buffer instanceof SharedArrayBuffer;
  }

  async readRange(url: string, display: string, identity: ObjectIdentity, target: Uint8Array, offset: number) {
    await this.post(display, {
      type: 'read',
      request: {
        id: this.nextId++,
        url,
        display,
        identity,
        memory: target.buffer as SharedArrayBuffer,
        at: target.byteOffset,
        length: target.byteLength,
        offset,
      },
    });
  }

  copy(target: Uint8Array, source: Uint8Array, crc?: number): Promise<number | undefined> | undefined {
    if (!this.accepts(target) || !this.accepts(source)) return undefined;
    return this.post('a copy of fetched bytes', {
      type: 'copy',
      request: {
        id: this.nextId++,
        from: source.buffer as SharedArrayBuffer,
        fromAt: source.byteOffset,
        to: target.buffer as SharedArrayBuffer,
        toAt: target.byteOffset,
        length: Math.min(source.byteLength, target.byteLength),
        crc,
      },
    });
  }

  private post(display: string, message: RangeMessage): Promise<number | undefined> {
    const worker = this.worker;
    if (worker === undefined) return Promise.reject(new Error('range thread: not running'));
    return new Promise((resolve, reject) => {
      this.pending.set(message.request.id, { display, resolve, reject });
      worker.ref();
      worker.postMessage(message);
    });
  }

  /** Ends the reads in flight there at once, each failing with `cancelled(its URL)`, and ends the thread. */
  stop(cancelled: (display: string) => Error): void {
    const worker = this.worker;
    this.worker = undefined;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(cancelled(p.display));
    }
    void worker?.terminate();
  }
}
