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
import { ByteReader } from '../../io/bytes.js';
import { crc32c, unmaskCrc } from '../../io/crc32c.js';
import type { RandomAccessFile } from '../../io/file.js';
import { snappyDecompress } from './snappy.js';

export const FOOTER_BYTES = 48;
export const BLOCK_TRAILER_BYTES = 5;
export const TABLE_MAGIC_LO = 0x8b80fb57;
export const TABLE_MAGIC_HI = 0xdb477524;
/** A single table block is ~256 KiB when TF writes it; 64 MiB stops an absurd handle before allocation. */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
/** Index files hold one entry per tensor; ten million entries is far beyond any real model. */
export const MAX_TABLE_ENTRIES = 10_000_000;

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
  file: RandomAccessFile,
  handle: BlockHandle,
  what: string,
  verify = true,
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
  if (type === 0) return { bytes: body, compressed: false };
  if (type === 1) return { bytes: snappyDecompress(body, where, file.path, MAX_BLOCK_BYTES), compressed: true };
  throw new Tf2TorchError(
    ErrorCode.UNSUPPORTED,
    `${where}: unknown block compression type ${type} (only none and snappy exist)`,
    {
      file: file.path,
      offset: handle.offset,
    },
  );
}

/** Decodes the entries of one (decompressed) block, in order. */
export function parseBlock(block: Uint8Array, where: string, file?: string): TableEntry[] {
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
  const r = new ByteReader(block.subarray(0, restartsStart), where, file);
  const entries: TableEntry[] = [];
  let previous = new Uint8Array(0);
  while (r.remaining > 0) {
    const at = r.offset;
    const shared = r.varint('shared key length');
    const nonShared = r.varint('key length');
    const valueLength = r.varint('value length');
    if (shared > previous.length) {
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: entry at ${at} shares ${shared} bytes of a ${previous.length}-byte key`,
        {
          file,
          offset: at,
        },
      );
    }
    // bytesN checks the length against the block before the key is allocated
    const suffix = r.bytesN(nonShared, 'key');
    const key = new Uint8Array(shared + nonShared);
    key.set(previous.subarray(0, shared));
    key.set(suffix, shared);
    entries.push({ key, value: r.bytesN(valueLength, 'value') });
    previous = key;
  }
  return entries;
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
  file: RandomAccessFile,
  verify = true,
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
  const indexBlock = await readBlock(file, indexHandle, 'index block', verify);
  const handles = parseBlock(indexBlock.bytes, `${file.path}: index block`, file.path);
  const entries: TableEntry[] = [];
  const stats: TableStats = { dataBlocks: 0, compressedBlocks: 0 };
  for (const { value } of handles) {
    const handle = readHandle(new ByteReader(value, `${file.path}: index entry`, file.path), 'data block handle');
    const block = await readBlock(file, handle, 'data block', verify);
    stats.dataBlocks++;
    if (block.compressed) stats.compressedBlocks++;
    for (const entry of parseBlock(block.bytes, `${file.path}: data block at offset ${handle.offset}`, file.path)) {
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
      if (entries.length >= MAX_TABLE_ENTRIES) {
        throw new Tf2TorchError(ErrorCode.LIMIT, `${file.path}: more than ${MAX_TABLE_ENTRIES} table entries`, {
          file: file.path,
        });
      }
      entries.push(entry);
    }
  }
  return { entries, stats };
}
