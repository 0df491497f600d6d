/**
 * A remote object as a `ByteSource`: positioned reads by Range requests under its pinned identity.
 * When the caller knows which ranges it will read, and in what order (`expect`: a conversion's plan),
 * those ranges are fetched ahead (io/prefetcher.ts) and reads are served from them (copied, or lent as
 * views to a reader that borrows); a read no piece covers is fetched on its own.
 * With a local copy kept (`keepCopy`: a conversion that reads its tensors twice, `--format both`), every
 * byte fetched is also written there at its offset, and later reads of it come from the copy: each byte
 * crosses the network once (a retried request's repeated bytes aside).
 */
import { type ByteSource, checkRange, readChunksOf } from './byte-source.js';
import { crc32c } from './crc32c.js';
import { crc32cCombine } from './crc32c-runs.js';
import type { ObjectIdentity } from './http-answers.js';
import type { HttpClient } from './http-client.js';
import { type ByteRange, coalesce, type Piece, type Prefetcher } from './prefetcher.js';

/** Runs of a strided read with no piece ahead are fetched as their span when it is at most this. */
const MAX_SPAN_BYTES = 32 * 1024 * 1024;

/** A local file holding the bytes fetched of one object at their own offsets (sparse where nothing was). */
export interface FetchedCopy {
  write(bytes: Uint8Array, position: number): Promise<void>;
  readInto(target: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

/** Makes the local copy of the object at `path` (its file is created on the first write). */
export type FetchedCopies = (path: string) => FetchedCopy;

/** Disjoint [start, end) ranges in offset order, merged as they are added. */
class RangeSet {
  private ranges: { start: number; end: number }[] = [];

  add(start: number, end: number): void {
    const kept: { start: number; end: number }[] = [];
    for (const r of this.ranges)
      if (r.end < start || r.start > end) kept.push(r);
      else {
        start = Math.min(start, r.start);
        end = Math.max(end, r.end);
      }
    kept.push({ start, end });
    kept.sort((a, b) => a.start - b.start);
    this.ranges = kept;
  }

  /** The ranges overlapping [start, end), clipped to it. */
  within(start: number, end: number): { start: number; end: number }[] {
    return this.ranges
      .filter((r) => r.start < end && r.end > start)
      .map((r) => ({ start: Math.max(r.start, start), end: Math.min(r.end, end) }));
  }
}

/** One remote file: where it is fetched, what it is pinned to, the pieces expected of it. */
export class RemoteObject {
  private pieces: Piece[] = [];
  private copy: { file: FetchedCopy; held: RangeSet } | undefined;

  constructor(
    readonly path: string,
    private readonly url: string,
    readonly identity: ObjectIdentity,
    private readonly client: HttpClient,
    private readonly prefetcher: Prefetcher,
  ) {}

  get size(): number {
    return this.identity.size;
  }

  /** The reads to come, in the order they will come. */
  expect(ranges: readonly ByteRange[]): void {
    const added: Piece[] = coalesce(ranges).map((r) => ({ object: this, ...r, delivered: 0 }));
    for (const r of ranges) this.prefetcher.expectedBytes += r.length;
    this.pieces.push(...added);
    this.pieces.sort((a, b) => a.offset - b.offset);
    this.prefetcher.add(added);
  }

  /** From now on, bytes fetched are kept in `file` too, and read from it again. */
  keepCopy(file: FetchedCopy): void {
    this.copy ??= { file, held: new RangeSet() };
  }

  /** Closes the local copy (its bytes are gone with it). */
  async closeCopy(): Promise<void> {
    const copy = this.copy;
    this.copy = undefined;
    await copy?.file.close();
  }

  /** `target.byteLength` bytes at `offset` from the server, or from the local copy where it holds them. */
  async fetchInto(target: Uint8Array, offset: number): Promise<void> {
    const copy = this.copy;
    if (copy === undefined) return this.client.readRange(this.url, this.path, this.identity, target, offset);
    const end = offset + target.byteLength;
    const fetchAndKeep = async (from: number, to: number) => {
      const part = target.subarray(from - offset, to - offset);
      await this.client.readRange(this.url, this.path, this.identity, part, from);
      await copy.file.write(part, from);
      copy.held.add(from, to);
    };
    let at = offset;
    for (const held of copy.held.within(offset, end)) {
      if (held.start > at) await fetchAndKeep(at, held.start);
      await copy.file.readInto(target.subarray(held.start - offset, held.end - offset), held.start);
      at = held.end;
    }
    if (at < end) await fetchAndKeep(at, end);
  }

  forget(piece: Piece): void {
    this.pieces = this.pieces.filter((p) => p !== piece);
  }

  /** Pieces overlapping [offset, end), in offset order. */
  private covering(offset: number, end: number): Piece[] {
    return this.pieces.filter((p) => p.offset < end && p.offset + p.length > offset);
  }

  /**
   * `target.byteLength` bytes at `offset`: from the pieces ahead where they cover it, else fetched.
   * With `withCrc`, resolves to the CRC-32C of `target`, computed by the range thread as it copies.
   * The parts (one per piece, and the gaps between) are taken at once, each as it arrives, rather
   * than one after another: a kernel in three pieces waits for the last to arrive, not for three
   * round trips to the range thread behind each other.
   */
  async readInto(target: Uint8Array, offset: number, withCrc = false): Promise<number | undefined> {
    const end = offset + target.byteLength;
    const parts: Promise<number>[] = [];
    const lengths: number[] = [];
    const part = (from: number, to: number, read: (into: Uint8Array) => Promise<number>) => {
      parts.push(read(target.subarray(from - offset, to - offset)));
      lengths.push(to - from);
    };
    let at = offset;
    // pieces not started yet are started one after another, as the budget would: a large read does
    // not start all of its pieces beyond it at once
    let unstarted: Promise<unknown> = Promise.resolve();
    for (const piece of this.covering(offset, end)) {
      if (piece.offset > at) part(at, piece.offset, (into) => this.fetchPart(into, at, withCrc));
      const from = Math.max(at, piece.offset);
      const to = Math.min(end, piece.offset + piece.length);
      const after = piece.bytes === undefined ? unstarted : undefined;
      part(from, to, async (into) => {
        await after?.catch(() => undefined);
        return this.fromPiece(piece, into, from, withCrc);
      });
      if (after !== undefined) unstarted = parts[parts.length - 1] as Promise<number>;
      at = to;
    }
    if (at < end) part(at, end, (into) => this.fetchPart(into, at, withCrc));
    // every part settled before returning, a failed one too: the caller may reuse `target` then
    const settled = await Promise.allSettled(parts);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (!withCrc) return undefined;
    let crc = 0;
    settled.forEach((r, i) => {
      crc = crc32cCombine(crc, (r as PromiseFulfilledResult<number>).value, lengths[i] as number);
    });
    return crc;
  }

  /** `into` fetched on its own from `from`; its CRC-32C with `withCrc` (else 0). */
  private async fetchPart(into: Uint8Array, from: number, withCrc: boolean): Promise<number> {
    await this.fetchInto(into, from);
    return withCrc ? crc32c(into) : 0;
  }

  /** `into` (the bytes at `from`) copied out of `piece` once it has arrived; its CRC-32C with `withCrc`. */
  private async fromPiece(piece: Piece, into: Uint8Array, from: number, withCrc: boolean): Promise<number> {
    const bytes = await this.prefetcher.start(piece);
    // its room went to another piece while this read waited: fetched again
    if (piece.evicted) return this.fetchPart(into, from, withCrc);
    const part = bytes.subarray(from - piece.offset, from - piece.offset + into.byteLength);
    // The range thread copies into shared memory (a tensor read whole for a transpose) as the message
    // arrives, before it fills any piece started later: the bytes stay until then, whatever is evicted
    // meanwhile. Not with a local copy kept, whose reads fill pieces from this thread.
    const copying =
      this.copy === undefined ? this.client.copyElsewhere?.(into, part, withCrc ? 0 : undefined) : undefined;
    let crc = 0;
    if (copying !== undefined) crc = (await copying) ?? 0;
    else {
      into.set(part);
      if (withCrc) crc = crc32c(into);
    }
    this.prefetcher.delivered(piece, into.byteLength);
    return crc;
  }

  /**
   * A view of the fetched bytes at [offset, offset + length) where one piece holds them all (no local
   * copy kept), kept from eviction until `release`; undefined where the caller must read a copy.
   */
  async lend(offset: number, length: number): Promise<{ bytes: Uint8Array; release: () => void } | undefined> {
    const [piece, ...more] = this.covering(offset, offset + length);
    if (this.copy !== undefined || piece === undefined || more.length > 0) return undefined;
    if (piece.offset > offset || piece.offset + piece.length < offset + length) return undefined;
    const bytes = await this.prefetcher.start(piece);
    if (piece.evicted) return undefined;
    piece.leases = (piece.leases ?? 0) + 1;
    const release = () => {
      piece.leases = (piece.leases ?? 1) - 1;
      this.prefetcher.delivered(piece, length);
    };
    return { bytes: bytes.subarray(offset - piece.offset, offset - piece.offset + length), release };
  }

  hasPiecesIn(offset: number, end: number): boolean {
    return this.covering(offset, end).length > 0;
  }
}

export class HttpSource implements ByteSource {
  constructor(private readonly object: RemoteObject) {}

  get path(): string {
    return this.object.path;
  }

  get size(): number {
    return this.object.size;
  }

  async readAt(offset: number, length: number, what = 'data'): Promise<Uint8Array> {
    const target = new Uint8Array(length);
    await this.readInto(target, offset, what);
    return target;
  }

  async readInto(target: Uint8Array, offset: number, what = 'data'): Promise<void> {
    checkRange(this.path, this.size, offset, target.byteLength, what);
    if (target.byteLength > 0) await this.object.readInto(target, offset);
  }

  async readIntoWithCrc(target: Uint8Array, offset: number, what = 'data'): Promise<number> {
    checkRange(this.path, this.size, offset, target.byteLength, what);
    return (await this.object.readInto(target, offset, true)) ?? 0;
  }

  async readRunsInto(target: Uint8Array, offsets: ArrayLike<number>, runLength: number, what = 'data'): Promise<void> {
    if (offsets.length === 0 || runLength === 0) return;
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for (let i = 0; i < offsets.length; i++) {
      const at = offsets[i] as number;
      checkRange(this.path, this.size, at, runLength, what);
      first = Math.min(first, at);
      last = Math.max(last, at + runLength);
    }
    // Runs nobody fetched ahead: one request for their span rather than one per run.
    if (!this.object.hasPiecesIn(first, last) && last - first <= MAX_SPAN_BYTES) {
      const span = await this.readAt(first, last - first, what);
      for (let i = 0; i < offsets.length; i++) {
        const at = (offsets[i] as number) - first;
        target.set(span.subarray(at, at + runLength), i * runLength);
      }
      return;
    }
    for (let i = 0; i < offsets.length; i++)
      await this.object.readInto(target.subarray(i * runLength, (i + 1) * runLength), offsets[i] as number);
  }

  /**
   * Chunks copied out of the pieces ahead. With `reuse`, three buffers take turns (a chunk is overwritten
   * only once the consumer asks for the one after next), so a long tensor makes no garbage.
   */
  readChunks(
    offset: number,
    length: number,
    chunkSize: number,
    what = 'data',
    reuse: boolean | 'borrow' = false,
  ): AsyncGenerator<Uint8Array> {
    if (!reuse) return readChunksOf(this, offset, length, chunkSize, what);
    if (reuse === 'borrow') return this.borrowChunks(offset, length, chunkSize, what);
    const ring: Uint8Array[] = [];
    let turn = 0;
    const readAt = async (at: number, n: number) => {
      const slot = turn++ % 3;
      if ((ring[slot]?.byteLength ?? 0) < n) ring[slot] = new Uint8Array(Math.max(1, Math.min(chunkSize, length)));
      const target = (ring[slot] as Uint8Array).subarray(0, n);
      await this.readInto(target, at, what);
      return target;
    };
    return readChunksOf({ path: this.path, size: this.size, readAt }, offset, length, chunkSize, what);
  }

  /**
   * Chunks lent out of the pieces ahead where one piece holds a whole chunk (no copy: most chunks of a
   * tensor streamed as it lies), else copied; each given back once the consumer asks for the next.
   */
  private async *borrowChunks(offset: number, length: number, chunkSize: number, what: string) {
    checkRange(this.path, this.size, offset, length, what);
    const step = Math.max(1, chunkSize);
    const lent: (() => void)[] = [];
    try {
      for (let at = 0; at < length; at += step) {
        const n = Math.min(step, length - at);
        const loan = await this.object.lend(offset + at, n);
        const chunk = loan?.bytes ?? (await this.readAt(offset + at, n, what)); // a chunk across pieces: a copy
        lent.push(loan?.release ?? (() => undefined));
        if (lent.length > 1) (lent.shift() as () => void)();
        yield chunk;
      }
    } finally {
      for (const release of lent) release();
    }
  }

  async close(): Promise<void> {}
}
