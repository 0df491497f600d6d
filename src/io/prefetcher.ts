/**
 * The fetch-ahead of remote objects (io/http-source.ts): the ranges a conversion will read, in its
 * order, merged where adjacent and cut into pieces of at most `PIECE_BYTES`, fetched `MAX_IN_FLIGHT` at
 * a time (one at first, one more as each arrives) into one arena of `BUDGET_BYTES`. A piece read
 * through once stays while the budget has room; the oldest such pieces, unless lent, make room for the next.
 */
import { Arena, type ArenaPart } from './arena.js';

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

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** Where a piece's bytes come from: its remote object. */
export interface PieceSource {
  fetchInto(target: Uint8Array, offset: number): Promise<void>;
  /** The piece is gone (evicted or failed): reads no longer look for it. */
  forget(piece: Piece): void;
}

/** One range fetched ahead; evictable once every byte of it has been read. */
export interface Piece {
  readonly object: PieceSource;
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

  /** `n` more bytes of `piece` handed to readers: once it is read through, kept only while the budget has room. */
  delivered(piece: Piece, n: number): void {
    piece.delivered += n;
    if (piece.delivered < piece.length) return;
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
