/**
 * One buffer cut into parts of any length, first fit, a freed part merged with the free space beside
 * it. The fetch-ahead's memory: allocated once (shared memory when another thread fills it), so
 * hundreds of pieces of every length make no allocation, page faults or garbage, and a small piece
 * takes only its own bytes of the budget.
 */

/** Parts start on this boundary (bytes): copies out of them stay aligned. */
const ALIGN_BYTES = 64;

/** The bytes a part of `length` takes (a multiple of the alignment, at least one). */
const spanOf = (length: number) => Math.max(1, Math.ceil(length / ALIGN_BYTES)) * ALIGN_BYTES;

export interface ArenaPart {
  readonly at: number;
  readonly bytes: Uint8Array;
}

export class Arena {
  private memory: Uint8Array | undefined;
  /** Free [start, end) spans, in offset order, never touching one another. */
  private free: { start: number; end: number }[];

  /** `allocate` makes the one buffer, on the first part asked for. */
  constructor(
    readonly size: number,
    private readonly allocate: (bytes: number) => Uint8Array,
  ) {
    this.free = [{ start: 0, end: size }];
  }

  /** The first free span long enough for a part of `length` bytes, or -1. */
  private firstFit(length: number): number {
    const need = spanOf(length);
    return this.free.findIndex((span) => span.end - span.start >= need);
  }

  /** Whether a part of `length` bytes would be had now. */
  fits(length: number): boolean {
    return this.firstFit(length) >= 0;
  }

  /** A part of `length` bytes, or undefined when no free span is long enough. */
  take(length: number): ArenaPart | undefined {
    const at = this.firstFit(length);
    if (at < 0) return undefined;
    const need = spanOf(length);
    const span = this.free[at] as { start: number; end: number };
    const start = span.start;
    span.start += need;
    if (span.start === span.end) this.free.splice(at, 1);
    this.memory ??= this.allocate(this.size);
    return { at: start, bytes: this.memory.subarray(start, start + length) };
  }

  /** `part`'s bytes back to the free space. */
  give(part: ArenaPart): void {
    const start = part.at;
    const end = start + spanOf(part.bytes.byteLength);
    let i = 0;
    while (i < this.free.length && (this.free[i] as { start: number }).start < start) i++;
    const before = this.free[i - 1];
    const after = this.free[i];
    if ((before !== undefined && before.end > start) || (after !== undefined && after.start < end))
      throw new Error('arena: part given back twice');
    if (before?.end === start && after?.start === end) {
      before.end = after.end;
      this.free.splice(i, 1);
    } else if (before?.end === start) before.end = end;
    else if (after?.start === end) after.start = start;
    else this.free.splice(i, 0, { start, end });
  }

  /** Bytes in parts now (alignment included). */
  get used(): number {
    return this.size - this.free.reduce((sum, span) => sum + span.end - span.start, 0);
  }
}
