/**
 * Sources read whole ahead of their turn: while the bands of one output are computed (the main
 * thread transposing), the next output's source is already being read on the thread pool, so that
 * the transposes never wait for a read. One source ahead, up to `maxBytes`: the memory bound of the
 * conversion grows by that much and no more.
 */
import type { TensorRef } from '../../tensor.js';
import type { BufferPool } from './buffer-pool.js';

export class EarlyReads {
  private readonly reads = new Map<TensorRef, Promise<Uint8Array>>();

  constructor(
    private readonly pool: BufferPool,
    private readonly maxBytes: number,
  ) {}

  /** Starts reading `ref` whole into a pooled buffer, unless too large, unreadable that way, or started already. */
  start(ref: TensorRef): void {
    if (ref.readInto === undefined || ref.byteLength > this.maxBytes || this.reads.has(ref)) return;
    const read = this.readWhole(ref);
    read.catch(() => undefined); // unclaimed, its failure is nobody's: the claimant reads again and reports
    // The next output's source is started before the current one claims its own: two at most.
    const oldest = this.reads.keys().next();
    if (this.reads.size >= 2 && !oldest.done) this.reads.delete(oldest.value); // unclaimed: left to the garbage collector
    this.reads.set(ref, read);
  }

  /** `ref` read whole into a pooled buffer (the caller gives it back): the prefetched read, or a fresh one. */
  async read(ref: TensorRef): Promise<Uint8Array> {
    const started = this.reads.get(ref);
    this.reads.delete(ref);
    if (started !== undefined) {
      try {
        return await started;
      } catch {
        // read again below: the error is reported by the read the conversion waits for
      }
    }
    return this.readWhole(ref);
  }

  private async readWhole(ref: TensorRef): Promise<Uint8Array> {
    const target = this.pool.take(ref.byteLength);
    try {
      if (ref.readInto) await ref.readInto(target);
      else target.set(await ref.read());
    } catch (error) {
      this.pool.give(target);
      throw error;
    }
    return target;
  }
}
