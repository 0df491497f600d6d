/**
 * Reads zip archives as torch.save writes them (and as other zip writers might): end of central
 * directory (+ zip64 locator/record), central directory, local headers; STORED records are read
 * by range straight from the file, DEFLATE records are inflated whole. CRC-32 is checked whenever a
 * whole record passes through.
 */
import { inflateRaw } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { crc32 } from '../../io/crc32.js';
import { u16, u32, u64 } from '../../io/little-endian.js';
import { utf8Text } from '../../io/text.js';
import type { StorageBytes } from './storage-tensor.js';

/** End record (22 bytes) plus the longest comment it may carry. */
const MAX_END_SEARCH = 22 + 0xffff;
/** A state dict has thousands of records, not millions. */
const MAX_ENTRIES = 1_000_000;
/** Central directory size: bounded by entries × (46 + name + extras). */
const MAX_DIRECTORY_BYTES = 256 * 1024 * 1024;
/** An inflated record must fit in one byte array. */
const MAX_INFLATED_BYTES = 2 ** 31 - 1;

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc: number;
  readonly localHeaderOffset: number;
}

/** Where the last `signature` (little-endian u32) starts in `bytes`, or -1. */
function lastSignature(bytes: Uint8Array, signature: number): number {
  const b0 = signature & 0xff;
  for (let at = bytes.length - 4; at >= 0; at--) if (bytes[at] === b0 && u32(bytes, at) === signature) return at;
  return -1;
}

export class ZipArchive {
  private constructor(
    readonly file: ByteSource,
    readonly entries: readonly ZipEntry[],
    private readonly byName: ReadonlyMap<string, ZipEntry>,
    private readonly verify: boolean,
    /** Where the central directory starts: the end of the last record. */
    private readonly directoryOffset: number,
  ) {}

  private recordEnds: Map<ZipEntry, number> | undefined;

  /** An entry's whole record (local header, padding, data): up to the next record or the directory. */
  recordRange(entry: ZipEntry): { offset: number; length: number } | undefined {
    if (this.recordEnds === undefined) {
      const ends = new Map<ZipEntry, number>();
      const sorted = [...this.entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
      for (const [i, e] of sorted.entries())
        ends.set(e, Math.min(sorted[i + 1]?.localHeaderOffset ?? this.directoryOffset, this.file.size));
      this.recordEnds = ends;
    }
    const end = this.recordEnds.get(entry) ?? 0;
    return end > entry.localHeaderOffset
      ? { offset: entry.localHeaderOffset, length: end - entry.localHeaderOffset }
      : undefined;
  }

  private static fail(file: ByteSource, code: ErrorCode, message: string, offset?: number): never {
    throw new Tf2TorchError(code, `${file.path}: zip ${message}`, { file: file.path, offset });
  }

  static async open(file: ByteSource, options: { verify?: boolean } = {}): Promise<ZipArchive> {
    const tailLength = Math.min(file.size, MAX_END_SEARCH);
    const tail = await file.readAt(file.size - tailLength, tailLength, 'zip end of central directory');
    const endAt = lastSignature(tail, 0x06054b50);
    if (endAt < 0 || endAt + 22 > tail.length)
      ZipArchive.fail(file, ErrorCode.BAD_MAGIC, 'end of central directory not found (not a zip file, or truncated)');
    let count = u16(tail, endAt + 10);
    let directorySize = u32(tail, endAt + 12);
    let directoryOffset = u32(tail, endAt + 16);
    const endOffset = file.size - tailLength + endAt;
    if (endOffset >= 20) {
      const locator = await file.readAt(endOffset - 20, 20, 'zip64 locator');
      if (u32(locator, 0) === 0x07064b50) {
        const recordOffset = Number(u64(locator, 8));
        const record = await file.readAt(recordOffset, 56, 'zip64 end record');
        if (u32(record, 0) !== 0x06064b50)
          ZipArchive.fail(file, ErrorCode.MALFORMED, 'zip64 end record signature missing', recordOffset);
        count = Number(u64(record, 32));
        directorySize = Number(u64(record, 40));
        directoryOffset = Number(u64(record, 48));
      }
    }
    if (count > MAX_ENTRIES)
      ZipArchive.fail(file, ErrorCode.LIMIT, `has ${count} entries, more than the limit of ${MAX_ENTRIES}`);
    if (directorySize > MAX_DIRECTORY_BYTES)
      ZipArchive.fail(
        file,
        ErrorCode.LIMIT,
        `central directory of ${directorySize} bytes exceeds ${MAX_DIRECTORY_BYTES}`,
      );
    const dir = await file.readAt(directoryOffset, directorySize, 'zip central directory');
    const entries: ZipEntry[] = [];
    const byName = new Map<string, ZipEntry>();
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 46 > dir.length || u32(dir, at) !== 0x02014b50)
        ZipArchive.fail(file, ErrorCode.MALFORMED, `central directory entry ${i} is damaged`, directoryOffset + at);
      const flags = u16(dir, at + 8);
      if (flags & 0x41) ZipArchive.fail(file, ErrorCode.UNSUPPORTED, `entry ${i} is encrypted`);
      const nameLength = u16(dir, at + 28);
      const extraLength = u16(dir, at + 30);
      const commentLength = u16(dir, at + 32);
      if (at + 46 + nameLength + extraLength + commentLength > dir.length)
        ZipArchive.fail(file, ErrorCode.MALFORMED, `central directory entry ${i} overruns the directory`);
      const name = utf8Text(dir.subarray(at + 46, at + 46 + nameLength));
      let compressedSize = u32(dir, at + 20);
      let size = u32(dir, at + 24);
      let localHeaderOffset = u32(dir, at + 42);
      // zip64 extra: only the fields whose 32-bit value is 0xFFFFFFFF, in this order.
      let e = at + 46 + nameLength;
      const extraEnd = e + extraLength;
      while (e + 4 <= extraEnd) {
        const id = u16(dir, e);
        const len = u16(dir, e + 2);
        if (id === 0x0001) {
          let f = e + 4;
          const next = () => {
            if (f + 8 > e + 4 + len) ZipArchive.fail(file, ErrorCode.MALFORMED, `zip64 extra of ${name} is too short`);
            f += 8;
            return Number(u64(dir, f - 8));
          };
          if (size === 0xffffffff) size = next();
          if (compressedSize === 0xffffffff) compressedSize = next();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
        }
        e += 4 + len;
      }
      // Readers disagree on duplicates (torch takes the last, others the first): one meaning only.
      if (byName.has(name))
        ZipArchive.fail(file, ErrorCode.MALFORMED, `has two entries named ${name}; refusing an ambiguous archive`);
      const entry: ZipEntry = {
        name,
        method: u16(dir, at + 10),
        compressedSize,
        size,
        crc: u32(dir, at + 16),
        localHeaderOffset,
      };
      entries.push(entry);
      byName.set(name, entry);
      at = extraEnd + commentLength;
    }
    return new ZipArchive(file, entries, byName, options.verify ?? true, directoryOffset);
  }

  find(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  private readonly dataOffsets = new Map<ZipEntry, number>();

  async dataOffset(entry: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(entry);
    if (known !== undefined) return known;
    const h = await this.file.readAt(entry.localHeaderOffset, 30, `local header of ${entry.name}`);
    if (u32(h, 0) !== 0x04034b50)
      ZipArchive.fail(
        this.file,
        ErrorCode.MALFORMED,
        `local header of ${entry.name} not found`,
        entry.localHeaderOffset,
      );
    const offset = entry.localHeaderOffset + 30 + u16(h, 26) + u16(h, 28);
    if (offset + entry.compressedSize > this.file.size)
      ZipArchive.fail(
        this.file,
        ErrorCode.TRUNCATED,
        `record ${entry.name} extends beyond the end of the file`,
        offset,
      );
    this.dataOffsets.set(entry, offset);
    return offset;
  }

  private checkCrc(entry: ZipEntry, crc: number): void {
    if (this.verify && crc !== entry.crc) {
      throw new Tf2TorchError(
        ErrorCode.ZIP_CRC,
        `${this.file.path}: CRC-32 mismatch in zip record ${entry.name} (stored ${entry.crc.toString(16)}, computed ${crc.toString(16)}): the file is corrupt`,
        { file: this.file.path, tensor: entry.name },
      );
    }
  }

  /** The whole record, inflated if needed, CRC checked. */
  async read(entry: ZipEntry): Promise<Uint8Array> {
    const raw = await this.file.readAt(await this.dataOffset(entry), entry.compressedSize, `record ${entry.name}`);
    let data: Uint8Array;
    if (entry.method === 0) data = raw;
    else if (entry.method === 8) {
      if (entry.size > MAX_INFLATED_BYTES)
        ZipArchive.fail(
          this.file,
          ErrorCode.LIMIT,
          `record ${entry.name} inflates to ${entry.size} bytes, more than ${MAX_INFLATED_BYTES}`,
        );
      try {
        data = inflateRaw(raw, Math.max(1, entry.size));
      } catch (cause) {
        throw new Tf2TorchError(
          ErrorCode.MALFORMED,
          `${this.file.path}: record ${entry.name} does not inflate: ${(cause as Error).message}`,
          { file: this.file.path, cause },
        );
      }
    } else
      return ZipArchive.fail(
        this.file,
        ErrorCode.UNSUPPORTED,
        `record ${entry.name} uses compression method ${entry.method} (only STORED and DEFLATE are read)`,
      );
    if (data.byteLength !== entry.size)
      ZipArchive.fail(
        this.file,
        ErrorCode.MALFORMED,
        `record ${entry.name} holds ${data.byteLength} bytes, the directory says ${entry.size}`,
      );
    this.checkCrc(entry, crc32(data));
    return data;
  }

  /** Lazy byte access to one record; STORED records are never loaded whole. */
  storageBytes(entry: ZipEntry): StorageBytes {
    let verified = !this.verify;
    const archive = this;
    const verifyWhole = async () => {
      if (verified) return;
      let crc = 0;
      for await (const chunk of streamWhole()) crc = crc32(chunk, crc);
      archive.checkCrc(entry, crc);
      verified = true;
    };
    async function* streamWhole(chunkSize = 8 * 1024 * 1024): AsyncIterable<Uint8Array> {
      yield* archive.file.readChunks(await archive.dataOffset(entry), entry.size, chunkSize, `record ${entry.name}`);
    }
    const fileRange = () => archive.recordRange(entry);
    if (entry.method !== 0) {
      return {
        byteLength: entry.size,
        fileRange,
        readRange: async (start, length) => (await archive.read(entry)).subarray(start, start + length),
        async *streamRange(start, length) {
          yield (await archive.read(entry)).subarray(start, start + length);
        },
      };
    }
    return {
      byteLength: entry.size,
      fileRange,
      async readRange(start, length) {
        if (!verified && start === 0 && length === entry.size) {
          const all = await archive.read(entry);
          verified = true;
          return all;
        }
        await verifyWhole();
        return archive.file.readAt((await archive.dataOffset(entry)) + start, length, `record ${entry.name}`);
      },
      async *streamRange(start, length, chunkSize) {
        if (!verified && start === 0 && length === entry.size) {
          let crc = 0;
          for await (const chunk of streamWhole(chunkSize)) {
            crc = crc32(chunk, crc);
            yield chunk;
          }
          archive.checkCrc(entry, crc);
          verified = true;
          return;
        }
        await verifyWhole();
        yield* archive.file.readChunks(
          (await archive.dataOffset(entry)) + start,
          length,
          chunkSize,
          `record ${entry.name}`,
        );
      },
    };
  }
}
