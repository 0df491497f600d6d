/**
 * Sources a writer streams as they are (untransformed tensors, strided storages), chained in the
 * order it takes them: when one hands out its last chunk, the next one's first chunk is already being
 * read, so that the read of a small tensor (BERT-base's 2.4 MB kernels: one chunk each) overlaps the
 * write of the one before instead of taking turns with it. One chunk ahead: memory grows by one chunk.
 * A link started ahead that no one takes (the write failed) is left to finish its read and be dropped.
 */
import type { RunReader, TensorRef } from '../../tensor.js';

type StreamOptions = Parameters<TensorRef['stream']>[1];

interface Started {
  readonly position: number;
  readonly chunks: AsyncIterator<Uint8Array>;
  readonly first: Promise<IteratorResult<Uint8Array>>;
}

export class PassThroughChain {
  private readonly sources: TensorRef[] = [];
  private started: Started | undefined;

  /** `ref`, as the next link: its stream starts the following link's when it reaches its last chunk. */
  add(ref: TensorRef): TensorRef {
    const position = this.sources.push(ref) - 1;
    // Delegates (not a spread copy: a source may be a class instance whose methods use `this`).
    return {
      name: ref.name,
      dtype: ref.dtype,
      shape: ref.shape,
      byteLength: ref.byteLength,
      ...(ref.view === undefined ? {} : { view: ref.view }),
      read: () => ref.read(),
      ...(ref.readInto === undefined
        ? {}
        : { readInto: (target: Uint8Array) => ref.readInto?.(target) as Promise<void> }),
      ...(ref.runs === undefined ? {} : { runs: () => ref.runs?.() as Promise<RunReader> }),
      stream: (chunkBytes, options) => this.stream(position, chunkBytes, options),
    };
  }

  private start(position: number, chunkBytes: number | undefined, options: StreamOptions): Started | undefined {
    const ref = this.sources[position];
    if (ref === undefined) return undefined;
    const chunks = ref.stream(chunkBytes, options)[Symbol.asyncIterator]();
    const first = chunks.next();
    first.catch(() => undefined); // surfaces when its link is streamed; not an unhandled rejection meanwhile
    return { position, chunks, first };
  }

  private async *stream(position: number, chunkBytes?: number, options?: StreamOptions): AsyncGenerator<Uint8Array> {
    let own = this.started;
    this.started = undefined;
    if (own?.position !== position) {
      // Taken out of order: the link started for it is not wanted (let its read finish, then drop it).
      await own?.first.catch(() => undefined);
      await own?.chunks.return?.();
      own = this.start(position, chunkBytes, options);
    }
    const { chunks } = own as Started;
    const size = (this.sources[position] as TensorRef).byteLength;
    let result = await (own as Started).first;
    let seen = 0;
    try {
      while (!result.done) {
        seen += result.value.byteLength;
        if (seen >= size && this.started === undefined) this.started = this.start(position + 1, chunkBytes, options);
        yield result.value;
        result = await chunks.next();
      }
    } finally {
      if (!result.done) await chunks.return?.();
    }
  }
}
