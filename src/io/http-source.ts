/**
 * A remote object as a `ByteSource`: positioned reads by Range requests under its pinned identity.
 * When the caller knows which ranges it will read, and in what order (`expect`: a conversion's plan),
 * those ranges are fetched ahead: adjacent ones merged into one request, cut into pieces of at most
 * `PIECE_BYTES`, `MAX_IN_FLIGHT` requests at once, their bytes within `BUDGET_BYTES`. A piece read through
 * once stays while the budget has room (a tensor checked by one pass and transposed by another is read
 * twice); the oldest such pieces make room for the next. A read no piece covers is fetched on its own.
 * With a local copy kept (`keepCopy`: a conversion that reads its tensors twice, `--format both`), every
 * byte fetched is also written there at its offset, and later reads of it come from the copy: each byte
 * crosses the network once (a retried request's repeated bytes aside).
 */
import { Arena, type ArenaPart } from './arena.js';
import { type ByteSource, checkRange, readChunksOf } from './byte-source.js';
import { crc32c } from './crc32c.js';
import type { HttpClient, ObjectIdentity } from './http-client.js';

/** Ranges this close are fetched as one (0: only adjacent ones; skipped bytes are never fetched). */
export const COALESCE_GAP_BYTES = 0;
/** Longest single request ahead of the reader: large tensors arrive in parallel pieces. */
export const PIECE_BYTES = 4 * 1024 * 1024;
/** Requests ahead of the reader at once. */
export const MAX_IN_FLIGHT = 8;
/**
 * Memory of the pieces fetched ahead (in flight or held), over every object of a tree: one buffer
 * (`Arena`) each piece takes its own length of, so a 3 KB bias between two large kernels holds 3 KB of
 * it and the bytes ahead of the reader do not shrink where small tensors alternate with large ones. On
 * top of a local conversion's, within the 200 MiB a conversion by URL keeps to (BERT-base,
 * docs/BENCHMARKS.md). A reader waiting on a piece not yet started starts it whatever the budget.
 */
export const BUDGET_BYTES = 32 * 1024 * 1024;
/** Runs of a strided read with no piece ahead are fetched as their span when it is at most this. */
const MAX_SPAN_BYTES = 32 * 1024 * 1024;

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

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

/** One range fetched ahead; evictable once every byte of it has been read. */
interface Piece {
  readonly object: RemoteObject;
  readonly offset: number;
  readonly length: number;
  bytes?: Promise<Uint8Array>;
  delivered: number;
  /** Dropped for room: its bytes may hold another piece now; a reader that waited on it fetches again. */
  evicted?: boolean;
  /** Chunks of it lent to a reader and not yet given back: it is not evicted meanwhile. */
  leases?: number;
  /** Where it is fetched: a part of the budget's arena (`at` -1: a buffer of its own, started beyond the budget). */
  part?: ArenaPart;
}

/** Merges ranges in the order given: a range starting within `gap` after the previous one's end joins it. */
export function coalesce(ranges: readonly ByteRange[], gap = COALESCE_GAP_BYTES, maxPiece = PIECE_BYTES): ByteRange[] {
  const merged: { offset: number; end: number }[] = [];
  for (const { offset, length } of ranges) {
    if (length <= 0) continue;
    const last = merged[merged.length - 1];
    if (last !== undefined && offset >= last.end && offset - last.end <= gap)
      last.end = Math.max(last.end, offset + length);
    else merged.push({ offset, end: offset + length });
  }
  const pieces: ByteRange[] = [];
  for (const { offset, end } of merged)
    for (let at = offset; at < end; at += maxPiece) pieces.push({ offset: at, length: Math.min(maxPiece, end - at) });
  return pieces;
}

/** Fetches the expected pieces of a tree's objects in order, within the memory budget. */
export class Prefetcher {
  private readonly queue: Piece[] = [];
  /** Pieces read through, oldest first: dropped when the budget needs their room. */
  private readonly evictable: Piece[] = [];
  private readonly arena: Arena;
  private inFlight = 0;
  /**
   * Requests allowed at once now: one at first, one more as each piece arrives (up to `maxInFlight`). Started
   * together, pieces share the bandwidth and all arrive late: the first, which the reader waits for, alone.
   */
  private allowed = 1;
  /** Bytes the expected ranges cover (what a conversion needs), for progress. */
  expectedBytes = 0;

  /** `allocate`: the budget's buffer (shared memory where another thread fills it: `HttpClient.newBuffer`). */
  constructor(
    budget = BUDGET_BYTES,
    private readonly maxInFlight = MAX_IN_FLIGHT,
    private readonly allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes),
  ) {
    this.arena = new Arena(budget, allocate);
  }

  add(pieces: Piece[]): void {
    this.queue.push(...pieces);
    this.pump();
  }

  /** Starts `piece` now (a reader waits for it), whatever the budget: outside it when it is full. */
  start(piece: Piece): Promise<Uint8Array> {
    if (piece.bytes !== undefined) return piece.bytes;
    const at = this.queue.indexOf(piece);
    if (at >= 0) this.queue.splice(at, 1);
    this.inFlight++;
    piece.part = this.arena.take(piece.length) ?? { at: -1, bytes: this.allocate(piece.length) };
    const target = piece.part.bytes;
    piece.bytes = piece.object.fetchInto(target, piece.offset).then(
      () => target,
      (error: unknown) => {
        piece.object.forget(piece); // a later read fetches it again (and reports the failure itself)
        piece.evicted = true;
        this.release(piece);
        throw error;
      },
    );
    piece.bytes.catch(() => undefined);
    void piece.bytes
      .finally(() => {
        this.inFlight--;
        this.allowed = Math.min(this.maxInFlight, this.allowed + 1);
        this.pump();
      })
      .catch(() => undefined);
    return piece.bytes;
  }

  /** `piece` has been read through: kept only while the budget has room. */
  readThrough(piece: Piece): void {
    if (!this.evictable.includes(piece)) this.evictable.push(piece);
    this.pump();
  }

  /** `piece`'s bytes back to the budget (a part outside it is left to the collector). */
  private release(piece: Piece): void {
    const part = piece.part;
    piece.part = undefined;
    if (part !== undefined && part.at >= 0) this.arena.give(part);
  }

  /** Whether the next piece, of `length` bytes, fits (read-through pieces dropped for it, oldest first). */
  private makeRoom(length: number): boolean {
    while (!this.arena.fits(length)) {
      const at = this.evictable.findIndex((p) => !p.leases);
      if (at < 0) return false;
      const [oldest] = this.evictable.splice(at, 1) as [Piece];
      oldest.object.forget(oldest);
      oldest.evicted = true;
      this.release(oldest);
    }
    return true;
  }

  private pump(): void {
    while (this.inFlight < this.allowed && this.queue.length > 0) {
      const next = this.queue[0] as Piece;
      if (!this.makeRoom(next.length)) return;
      this.start(next);
    }
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
   */
  async readInto(target: Uint8Array, offset: number, withCrc = false): Promise<number | undefined> {
    const end = offset + target.byteLength;
    let crc = 0;
    const fetched = async (from: number, to: number) => {
      const part = target.subarray(from - offset, to - offset);
      await this.fetchInto(part, from);
      if (withCrc) crc = crc32c(part, crc);
    };
    let at = offset;
    for (const piece of this.covering(offset, end)) {
      if (piece.offset > at) await fetched(at, piece.offset);
      const bytes = await this.prefetcher.start(piece);
      const from = Math.max(at, piece.offset);
      const to = Math.min(end, piece.offset + piece.length);
      if (piece.evicted) {
        await fetched(from, to); // its room went to another piece while this read waited: fetched again
        at = to;
        continue;
      }
      const part = bytes.subarray(from - piece.offset, to - piece.offset);
      const into = target.subarray(from - offset, to - offset);
      // The range thread copies into shared memory (a tensor read whole for a transpose) as the message
      // arrives, before it fills any piece started later: the bytes stay until then, whatever is evicted
      // meanwhile. Not with a local copy kept, whose reads fill pieces from this thread.
      const copying =
        this.copy === undefined ? this.client.copyElsewhere?.(into, part, withCrc ? crc : undefined) : undefined;
      if (copying !== undefined) crc = (await copying) ?? crc;
      else {
        into.set(part);
        if (withCrc) crc = crc32c(into, crc);
      }
      piece.delivered += to - from;
      if (piece.delivered >= piece.length) this.prefetcher.readThrough(piece);
      at = to;
    }
    if (at < end) await fetched(at, end);
    return withCrc ? crc : undefined;
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
      piece.delivered += length;
      if (piece.delivered >= piece.length) this.prefetcher.readThrough(piece);
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
