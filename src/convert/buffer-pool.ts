/**
 * Recycled buffers for the tensors the executor computes. A model's large tensors come in a few
 * sizes (BERT-base: 2.4 MB and 9.4 MB kernels), so a freed buffer is soon reused at the same size:
 * no allocation, page faults or garbage per tensor, and the process's peak memory stays at what is
 * live instead of growing with garbage the collector has not reached yet.
 */
import { freshBytes } from '../mapping/apply.js';

/** Below this, allocation is cheap and pooling would only hoard small buffers. */
export const MIN_POOLED_BYTES = 64 * 1024;
/** Free buffers kept at most, in bytes: a source read whole (≤ 32 MiB, typically 8-20 MB) and a few bands. */
export const MAX_FREE_BYTES = 24 * 1024 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Uint8Array[]>();
  private freeBytes = 0;

  /** `n` bytes, 8-byte aligned, of arbitrary content. */
  take(n: number): Uint8Array {
    const reused = this.free.get(n)?.pop();
    if (reused === undefined) return freshBytes(n);
    this.freeBytes -= n;
    return reused;
  }

  /** Returns a buffer from take(); the caller must no longer use it. */
  give(buffer: Uint8Array): void {
    const n = buffer.byteLength;
    if (n < MIN_POOLED_BYTES) return;
    if (this.freeBytes + n > MAX_FREE_BYTES) this.evictFor(n);
    if (this.freeBytes + n > MAX_FREE_BYTES) return;
    const list = this.free.get(n) ?? [];
    list.push(buffer);
    this.free.set(n, list);
    this.freeBytes += n;
  }

  /** Drops free buffers of other sizes (the model moved on to tensors of another shape). */
  private evictFor(n: number): void {
    for (const [size, list] of this.free) {
      if (size === n) continue;
      while (list.length > 0 && this.freeBytes + n > MAX_FREE_BYTES) {
        list.pop();
        this.freeBytes -= size;
      }
    }
  }
}
