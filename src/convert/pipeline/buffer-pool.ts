/**
 * Recycled buffers for the bands and sources the executor computes. Buffers come in power-of-two
 * capacities and are handed out as views of the requested length, so that the many slightly
 * different sizes of one model (a 4 MiB band of one kernel, 4.18 MB of the next) share the same few
 * buffers: no allocation, no page faults (a fresh 4 MiB buffer costs more to fault in than to fill)
 * and no garbage per band, and the process's peak memory stays at what is live.
 */
import { freshBytes } from '../../kernels/apply.js';

/** Below this, allocation is cheap and pooling would only hoard small buffers. */
export const MIN_POOLED_BYTES = 64 * 1024;
/**
 * Free buffers kept at most, in bytes (capacities): every buffer size of a model's repeating block, so
 * that none is dropped and allocated again block after block (T5-XL: 8 MiB attention kernels, a
 * 32 MiB-capacity feed-forward kernel, the 4 MiB bands). A dropped buffer stays resident until the next
 * garbage collection: at 48 MiB this churn raised T5-XL's peak RSS from about 165 to 180–200 MiB.
 */
export const MAX_FREE_BYTES = 72 * 1024 * 1024;

function capacityFor(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

export class BufferPool {
  /** Free whole buffers by capacity, most recently freed last. */
  private readonly free = new Map<number, Uint8Array[]>();
  /** The whole buffer behind each view handed out, by its ArrayBuffer. */
  private readonly owners = new WeakMap<ArrayBufferLike, Uint8Array>();
  private freeBytes = 0;

  /** `allocate` makes the pooled buffers (shared memory, for a transpose thread); small ones are plain. */
  constructor(private readonly allocate: (n: number) => Uint8Array = freshBytes) {}

  /** `n` bytes, 8-byte aligned, of arbitrary content. */
  take(n: number): Uint8Array {
    if (n < MIN_POOLED_BYTES) return freshBytes(n);
    const capacity = capacityFor(n);
    let whole = this.free.get(capacity)?.pop();
    if (whole === undefined) {
      whole = this.allocate(capacity);
      this.owners.set(whole.buffer, whole);
    } else this.freeBytes -= capacity;
    return whole.subarray(0, n);
  }

  /** Returns a buffer from take(); the caller must no longer use it (nor any view of it). */
  give(buffer: Uint8Array): void {
    const whole = this.owners.get(buffer.buffer);
    if (whole === undefined) return; // small, or not ours: left to the garbage collector
    const capacity = whole.byteLength;
    if (this.freeBytes + capacity > MAX_FREE_BYTES) this.evictFor(capacity);
    if (this.freeBytes + capacity > MAX_FREE_BYTES) return;
    const list = this.free.get(capacity) ?? [];
    if (list.includes(whole)) return; // given twice: keep one
    list.push(whole);
    this.free.set(capacity, list);
    this.freeBytes += capacity;
  }

  /** Drops free buffers of other capacities (the model moved on to tensors of another shape). */
  private evictFor(capacity: number): void {
    for (const [size, list] of this.free) {
      if (size === capacity) continue;
      while (list.length > 0 && this.freeBytes + capacity > MAX_FREE_BYTES) {
        list.shift();
        this.freeBytes -= size;
      }
    }
  }
}
