/**
 * Bands of the computed outputs produced in plan order ahead of the writer, bounded in bytes: while
 * the writer hands band k to the disk (thread pool), the main thread reads and transforms what comes
 * next, across tensor boundaries, never holding more than `limit` bytes of finished bands. Between
 * bands it yields to the event loop, so that the writer's thread-pool work never waits for more than
 * one band's computation.
 */
import { yieldToEventLoop } from '../../io/yield.js';
import type { Band } from './bands.js';

type Item =
  | { readonly index: number; readonly band: Band }
  | { readonly index: number; readonly end: true }
  | { readonly index: number; readonly error: unknown };

export class BandsAhead {
  private readonly items: Item[] = [];
  private queuedBytes = 0;
  /** The last output the consumer asked for; earlier ones are served without read-ahead. */
  private position = -1;
  private started = false;
  private stopped = false;
  private failedAt = Infinity;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(
    /** Output indices in the order the writer consumes them. */
    private readonly order: readonly number[],
    private readonly produce: (index: number) => AsyncIterable<Band>,
    private readonly limit: number,
  ) {}

  /** The bands of output `index`; each is released when the consumer asks for the next (or stops). */
  async *take(index: number): AsyncGenerator<Uint8Array> {
    if (index <= this.position || index >= this.failedAt || !this.order.includes(index)) {
      yield* this.alone(index);
      return;
    }
    this.position = index;
    if (!this.started) {
      this.started = true;
      void this.run(this.order.indexOf(index));
    }
    let ended = false;
    try {
      for (;;) {
        const item = this.items[0];
        if (item === undefined) {
          await new Promise<void>((resolve) => {
            this.wakeConsumer = resolve;
          });
          continue;
        }
        if (item.index !== index) {
          this.shift(); // an output the consumer skipped
          continue;
        }
        if ('error' in item) {
          this.shift();
          ended = true;
          throw item.error;
        }
        if ('end' in item) {
          this.shift();
          ended = true;
          return;
        }
        try {
          yield item.band.bytes;
        } finally {
          this.shift();
        }
      }
    } finally {
      if (!ended) this.stop(); // the consumer gave up (its write failed): produce nothing more
    }
  }

  private async *alone(index: number): AsyncGenerator<Uint8Array> {
    for await (const band of this.produce(index)) {
      try {
        yield band.bytes;
      } finally {
        band.release();
      }
    }
  }

  private push(item: Item): void {
    this.items.push(item);
    if ('band' in item) this.queuedBytes += item.band.bytes.byteLength;
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }

  private shift(): void {
    const item = this.items.shift();
    if (item !== undefined && 'band' in item) {
      this.queuedBytes -= item.band.bytes.byteLength;
      item.band.release();
    }
    const wake = this.wakeProducer;
    this.wakeProducer = undefined;
    wake?.();
  }

  private stop(): void {
    this.stopped = true;
    while (this.items.length > 0) this.shift();
  }

  private async run(from: number): Promise<void> {
    for (const index of this.order.slice(from)) {
      if (this.stopped) return;
      if (index < this.position) continue; // the consumer has moved past it
      try {
        for await (const band of this.produce(index)) {
          while (!this.stopped && this.queuedBytes > 0 && this.queuedBytes + band.bytes.byteLength > this.limit) {
            await new Promise<void>((resolve) => {
              this.wakeProducer = resolve;
            });
          }
          if (this.stopped) {
            band.release();
            return;
          }
          this.push({ index, band });
          // Let the writer's completed write be followed by its next one before another band is computed.
          await yieldToEventLoop();
        }
        this.push({ index, end: true });
      } catch (error) {
        this.failedAt = index;
        this.push({ index, error });
        return;
      }
    }
  }
}
