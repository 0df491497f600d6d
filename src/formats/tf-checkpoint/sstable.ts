/**
 * The LevelDB table format TensorFlow uses for `.index` files (and whole V1 checkpoints): a sorted
 * key → value map. Only the generic table lives here; what the values mean is bundle.ts's business.
 *
 *   [data block 0][trailer] … [data block k][trailer][metaindex][trailer][index block][trailer][footer]
 *   trailer = 1 byte compression (0 none, 1 snappy) + fixed32 masked crc32c(block ++ type byte)
 *   footer  = 48 bytes: two BlockHandles (varint64 offset, size), zero padding, 8-byte magic
 *   block   = entries (varint shared, varint non_shared, varint value_len, key delta, value),
 *             then fixed32 restart offsets, then fixed32 restart count
 */

import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { ByteReader } from '../../io/bytes.js';
import { crc32c, unmaskCrc } from '../../io/crc32c.js';
import { snappyDecompress } from './snappy.js';

export const FOOTER_BYTES = 48;
export const BLOCK_TRAILER_BYTES = 5;
export const TABLE_MAGIC_LO = 0x8b80fb57;
export const TABLE_MAGIC_HI = 0xdb477524;
/** A single table block is ~256 KiB when TF writes it; 64 MiB stops an absurd handle before allocation. */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

/**
 * What one table may hold once parsed, checked entry by entry before each key is allocated (a snappy
 * block of 64 MB can carry 16 million 4-byte entries, or keys that grow by one byte each).
 * - entries: an index holds one entry per tensor and per slice. The largest real ones — T5-11B and
 *   mT5-XXL saved by Mesh TensorFlow, every variable and Adafactor slot also stored as slices — have
 *   tens of thousands; one million leaves 15-20× headroom and keeps the parsed listing near 250 MB.
 * - keyBytes: one key is a variable name (plus a slice spec): bytes to a few hundred in practice.
 * - keysTotal: the sum of all keys (a real 60k-entry index: ~6 MB).
 * - decompressedBytes: all blocks decompressed (the entries' values point into them). An index of tens
 *   of thousands of entries is a few MB; V1 files, whose values are the tensors, pass their own bound.
 */
export interface TableLimits {
  readonly entries: number;
  readonly keyBytes: number;
  readonly keysTotal: number;
  readonly decompressedBytes: number;
}

export const INDEX_TABLE_LIMITS: TableLimits = {
  entries: 1_000_000,
  keyBytes: 64 * 1024,
  keysTotal: 128 * 1024 * 1024,
  decompressedBytes: 512 * 1024 * 1024,
};

/** Counts what a table has produced so far against its limits; throws E_LIMIT naming the file. */
export class TableBudget {
  private entries = 0;
  private keys = 0;
  private decompressed = 0;

  constructor(
    private readonly file: string | undefined,
    readonly limits: TableLimits = INDEX_TABLE_LIMITS,
  ) {}

  private fail(message: string): never {
    throw new Tf2TorchError(ErrorCode.LIMIT, `${this.file ?? 'table'}: ${message}`, { file: this.file });
  }

  /** Before a block's `count` entries (keys of `keyBytes` in all, the longest `longestKey`) are allocated. */
  reserve(count: number, keyBytes: number, longestKey: number, where: string): void {
    this.entries += count;
    this.keys += keyBytes;
    if (this.entries > this.limits.entries) this.fail(`more than ${this.limits.entries} table entries (${where})`);
    if (longestKey > this.limits.keyBytes)
      this.fail(`a key of ${longestKey} bytes, above the ${this.limits.keyBytes}-byte limit (${where})`);
    if (this.keys > this.limits.keysTotal) this.fail(`keys total more than ${this.limits.keysTotal} bytes (${where})`);
  }

  /** How many more entries the table may have (a scan can stop beyond it). */
  get entriesLeft(): number {
    return this.limits.entries - this.entries;
  }

  /** How many more decompressed bytes a block may have. */
  get decompressedLeft(): number {
    return this.limits.decompressedBytes - this.decompressed;
  }

  block(bytes: number, where: string): void {
    this.decompressed += bytes;
    if (this.decompressed > this.limits.decompressedBytes)
      this.fail(`blocks decompress to more than ${this.limits.decompressedBytes} bytes (${where})`);
  }
}

export interface BlockHandle {
  offset: number;
  size: number;
}

export interface TableEntry {
  key: Uint8Array;
  value: Uint8Array;
}

function readHandle(r: ByteReader, what: string): BlockHandle {
  return { offset: r.varint(`${what} offset`), size: r.varint(`${what} size`) };
}

/** Reads one block, verifies its trailer checksum, decompresses it. */
export async function readBlock(
  file: ByteSource,
  handle: BlockHandle,
  what: string,
  verify = true,
  budget = new TableBudget(file.path),
): Promise<{ bytes: Uint8Array; compressed: boolean }> {
  const where = `${file.path}: ${what} at offset ${handle.offset}`;
  if (handle.size > MAX_BLOCK_BYTES) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${where} claims ${handle.size} bytes, above the ${MAX_BLOCK_BYTES}-byte block limit`,
      {
        file: file.path,
        offset: handle.offset,
      },
    );
  }
  const raw = await file.readAt(handle.offset, handle.size + BLOCK_TRAILER_BYTES, what);
  const body = raw.subarray(0, handle.size);
  const type = raw[handle.size]!;
  if (verify) {
    const stored = new DataView(raw.buffer, raw.byteOffset + handle.size + 1, 4).getUint32(0, true);
    const actual = crc32c(raw.subarray(handle.size, handle.size + 1), crc32c(body));
    if (unmaskCrc(stored) !== actual) {
      throw new Tf2TorchError(
        ErrorCode.BLOCK_CHECKSUM,
        `${where}: block checksum does not match (the file is corrupt or truncated)`,
        {
          file: file.path,
          offset: handle.offset,
        },
      );
    }
  }
  if (type === 0) {
    budget.block(body.length, where);
    return { bytes: body, compressed: false };
  }
  if (type === 1) {
    const limit = Math.max(0, Math.min(MAX_BLOCK_BYTES, budget.decompressedLeft));
    const bytes = snappyDecompress(body, where, file.path, limit);
    budget.block(bytes.length, where);
    return { bytes, compressed: true };
  }
  throw new Tf2TorchError(
    ErrorCode.UNSUPPORTED,
    `${where}: unknown block compression type ${type} (only none and snappy exist)`,
    {
      file: file.path,
      offset: handle.offset,
    },
  );
}

/** Keys carved out of shared chunks: one view per key instead of a buffer and a view (GC time, memory). */
class KeyArena {
  private static readonly CHUNK_BYTES = 64 * 1024;
  private chunk = new Uint8Array(0);
  private used = 0;

  take(length: number): Uint8Array {
    if (length > KeyArena.CHUNK_BYTES / 4) return new Uint8Array(length);
    if (this.used + length > this.chunk.length) {
      this.chunk = new Uint8Array(KeyArena.CHUNK_BYTES);
      this.used = 0;
    }
    this.used += length;
    return this.chunk.subarray(this.used - length, this.used);
  }
}

/** Decodes the entries of one (decompressed) block, in order. */
export function parseBlock(
  block: Uint8Array,
  where: string,
  file?: string,
  budget = new TableBudget(file),
): TableEntry[] {
  if (block.length < 4) {
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: block of ${block.length} bytes has no restart count`, {
      file,
    });
  }
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const numRestarts = view.getUint32(block.length - 4, true);
  const restartsStart = block.length - 4 - 4 * numRestarts;
  if (numRestarts > block.length / 4 || restartsStart < 0) {
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${where}: restart count ${numRestarts} does not fit the ${block.length}-byte block`,
      { file },
    );
  }
  const entriesBytes = block.subarray(0, restartsStart);
  // First pass: lengths only, so that the limits are checked before anything is allocated.
  const layout = scanEntries(new ByteReader(entriesBytes, where, file), where, file, budget.entriesLeft);
  budget.reserve(layout.count, layout.keyBytes, layout.longestKey, where);
  const r = new ByteReader(entriesBytes, where, file);
  const keys = new KeyArena();
  const entries: TableEntry[] = [];
  let previous: Uint8Array = new Uint8Array(0);
  while (r.remaining > 0) {
    const shared = r.varint('shared key length');
    const nonShared = r.varint('key length');
    const valueLength = r.varint('value length');
    const suffixAt = r.offset;
    r.offset += nonShared; // in bounds: scanEntries checked every length
    const key = keys.take(shared + nonShared);
    for (let i = 0; i < shared; i++) key[i] = previous[i]!; // loops: no view objects per entry
    for (let i = 0; i < nonShared; i++) key[shared + i] = entriesBytes[suffixAt + i]!;
    entries.push({ key, value: r.bytesN(valueLength, 'value') });
    previous = key;
  }
  return entries;
}

/**
 * Walks a block's entries without allocating: their number, key bytes, longest key; every length checked.
 * Stops once past `stopAfter` entries: the budget refuses the block then anyway.
 */
function scanEntries(
  r: ByteReader,
  where: string,
  file: string | undefined,
  stopAfter: number,
): { count: number; keyBytes: number; longestKey: number } {
  let count = 0;
  let keyBytes = 0;
  let longestKey = 0;
  let previousLength = 0;
  while (r.remaining > 0 && count <= stopAfter) {
    const at = r.offset;
    const shared = r.varint('shared key length');
    const nonShared = r.varint('key length');
    const valueLength = r.varint('value length');
    if (shared > previousLength) {
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: entry at ${at} shares ${shared} bytes of a ${previousLength}-byte key`,
        { file, offset: at },
      );
    }
    r.skip(nonShared, 'key');
    r.skip(valueLength, 'value');
    previousLength = shared + nonShared;
    count++;
    keyBytes += previousLength;
    longestKey = Math.max(longestKey, previousLength);
  }
  return { count, keyBytes, longestKey };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export interface TableStats {
  dataBlocks: number;
  compressedBlocks: number;
}

/** All entries of the table, sorted by key (checked), plus a few facts about its blocks. */
export async function readTable(
  file: ByteSource,
  verify = true,
  limits: TableLimits = INDEX_TABLE_LIMITS,
): Promise<{ entries: TableEntry[]; stats: TableStats }> {
  if (file.size < FOOTER_BYTES) {
    throw new Tf2TorchError(
      ErrorCode.TRUNCATED,
      `${file.path}: ${file.size} bytes is too short for a table (48-byte footer)`,
      {
        file: file.path,
      },
    );
  }
  const footerAt = file.size - FOOTER_BYTES;
  const footer = await file.readAt(footerAt, FOOTER_BYTES, 'table footer');
  const fv = new DataView(footer.buffer, footer.byteOffset, FOOTER_BYTES);
  if (fv.getUint32(40, true) !== TABLE_MAGIC_LO || fv.getUint32(44, true) !== TABLE_MAGIC_HI) {
    throw new Tf2TorchError(
      ErrorCode.BAD_MAGIC,
      `${file.path}: not a TensorFlow table (bad magic number in the last 8 bytes)`,
      {
        file: file.path,
        offset: footerAt + 40,
      },
    );
  }
  const fr = new ByteReader(footer.subarray(0, 40), `${file.path}: table footer`, file.path);
  readHandle(fr, 'metaindex handle'); // always empty in TF files: nothing to read
  const indexHandle = readHandle(fr, 'index handle');
  const budget = new TableBudget(file.path, limits);
  const indexBlock = await readBlock(file, indexHandle, 'index block', verify, budget);
  const handles = parseBlock(indexBlock.bytes, `${file.path}: index block`, file.path, budget);
  const entries: TableEntry[] = [];
  const stats: TableStats = { dataBlocks: 0, compressedBlocks: 0 };
  for (const { value } of handles) {
    const handle = readHandle(new ByteReader(value, `${file.path}: index entry`, file.path), 'data block handle');
    const block = await readBlock(file, handle, 'data block', verify, budget);
    stats.dataBlocks++;
    if (block.compressed) stats.compressedBlocks++;
    const where = `${file.path}: data block at offset ${handle.offset}`;
    for (const entry of parseBlock(block.bytes, where, file.path, budget)) {
      const last = entries[entries.length - 1];
      if (last !== undefined && compareBytes(last.key, entry.key) >= 0) {
        throw new Tf2TorchError(
          ErrorCode.MALFORMED,
          `${file.path}: table keys out of order in the data block at offset ${handle.offset}`,
          {
            file: file.path,
            offset: handle.offset,
          },
        );
      }
      entries.push(entry);
    }
  }
  return { entries, stats };
}
