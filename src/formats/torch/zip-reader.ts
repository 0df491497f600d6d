/**
 * Reads zip archives as torch.save writes them (and as other zip writers might): end of central
 * directory (+ zip64 locator/record), central directory, local headers; STORED records are read
 * by range straight from the file, DEFLATE records are inflated whole. CRC-32 is checked whenever a
 * whole record passes through.
 */
import { inflateRawSync } from 'node:zlib';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { crc32 } from '../../io/crc32.js';
import type { RandomAccessFile } from '../../io/file.js';
import type { StorageBytes } from './storage-tensor.js';

/** End record (22 bytes) plus the longest comment it may carry. */
const MAX_END_SEARCH = 22 + 0xffff;
/** A state dict has thousands of records, not millions. */
const MAX_ENTRIES = 1_000_000;
/** Central directory size: bounded by entries × (46 + name + extras). */
const MAX_DIRECTORY_BYTES = 256 * 1024 * 1024;
/** An inflated record must fit in one Buffer. */
const MAX_INFLATED_BYTES = 2 ** 31 - 1;

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc: number;
  readonly localHeaderOffset: number;
}

export class ZipArchive {
  private constructor(
    readonly file: RandomAccessFile,
    readonly entries: readonly ZipEntry[],
    private readonly byName: ReadonlyMap<string, ZipEntry>,
    private readonly verify: boolean,
  ) {}

  private static fail(file: RandomAccessFile, code: ErrorCode, message: string, offset?: number): never {
    throw new Tf2TorchError(code, `${file.path}: zip ${message}`, { file: file.path, offset });
  }

  static async open(file: RandomAccessFile, options: { verify?: boolean } = {}): Promise<ZipArchive> {
    const tailLength = Math.min(file.size, MAX_END_SEARCH);
    const tail = Buffer.from(await file.readAt(file.size - tailLength, tailLength, 'zip end of central directory'));
    const endAt = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (endAt < 0 || endAt + 22 > tail.length)
      ZipArchive.fail(file, ErrorCode.BAD_MAGIC, 'end of central directory not found (not a zip file, or truncated)');
    let count = tail.readUInt16LE(endAt + 10);
    let directorySize = tail.readUInt32LE(endAt + 12);
    let directoryOffset = tail.readUInt32LE(endAt + 16);
    const endOffset = file.size - tailLength + endAt;
    if (endOffset >= 20) {
      const locator = Buffer.from(await file.readAt(endOffset - 20, 20, 'zip64 locator'));
      if (locator.readUInt32LE(0) === 0x07064b50) {
        const recordOffset = Number(locator.readBigUInt64LE(8));
        const record = Buffer.from(await file.readAt(recordOffset, 56, 'zip64 end record'));
        if (record.readUInt32LE(0) !== 0x06064b50)
          ZipArchive.fail(file, ErrorCode.MALFORMED, 'zip64 end record signature missing', recordOffset);
        count = Number(record.readBigUInt64LE(32));
        directorySize = Number(record.readBigUInt64LE(40));
        directoryOffset = Number(record.readBigUInt64LE(48));
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
    const dir = Buffer.from(await file.readAt(directoryOffset, directorySize, 'zip central directory'));
    const entries: ZipEntry[] = [];
    const byName = new Map<string, ZipEntry>();
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 46 > dir.length || dir.readUInt32LE(at) !== 0x02014b50)
        ZipArchive.fail(file, ErrorCode.MALFORMED, `central directory entry ${i} is damaged`, directoryOffset + at);
      const flags = dir.readUInt16LE(at + 8);
      if (flags & 0x41) ZipArchive.fail(file, ErrorCode.UNSUPPORTED, `entry ${i} is encrypted`);
      const nameLength = dir.readUInt16LE(at + 28);
      const extraLength = dir.readUInt16LE(at + 30);
      const commentLength = dir.readUInt16LE(at + 32);
      if (at + 46 + nameLength + extraLength + commentLength > dir.length)
        ZipArchive.fail(file, ErrorCode.MALFORMED, `central directory entry ${i} overruns the directory`);
      const name = dir.subarray(at + 46, at + 46 + nameLength).toString('utf8');
      let compressedSize = dir.readUInt32LE(at + 20);
      let size = dir.readUInt32LE(at + 24);
      let localHeaderOffset = dir.readUInt32LE(at + 42);
      // zip64 extra: only the fields whose 32-bit value is 0xFFFFFFFF, in this order.
      let e = at + 46 + nameLength;
      const extraEnd = e + extraLength;
      while (e + 4 <= extraEnd) {
        const id = dir.readUInt16LE(e);
        const len = dir.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let f = e + 4;
          const next = () => {
            if (f + 8 > e + 4 + len) ZipArchive.fail(file, ErrorCode.MALFORMED, `zip64 extra of ${name} is too short`);
            f += 8;
            return Number(dir.readBigUInt64LE(f - 8));
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
        method: dir.readUInt16LE(at + 10),
        compressedSize,
        size,
        crc: dir.readUInt32LE(at + 16),
        localHeaderOffset,
      };
      entries.push(entry);
      byName.set(name, entry);
      at = extraEnd + commentLength;
    }
    return new ZipArchive(file, entries, byName, options.verify ?? true);
  }

  find(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  private readonly dataOffsets = new Map<ZipEntry, number>();

  async dataOffset(entry: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(entry);
    if (known !== undefined) return known;
    const h = Buffer.from(await this.file.readAt(entry.localHeaderOffset, 30, `local header of ${entry.name}`));
    if (h.readUInt32LE(0) !== 0x04034b50)
      ZipArchive.fail(
        this.file,
        ErrorCode.MALFORMED,
        `local header of ${entry.name} not found`,
        entry.localHeaderOffset,
      );
    const offset = entry.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
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
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
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
    if (entry.method !== 0) {
      return {
        byteLength: entry.size,
        readRange: async (start, length) => (await archive.read(entry)).subarray(start, start + length),
        async *streamRange(start, length) {
          yield (await archive.read(entry)).subarray(start, start + length);
        },
      };
    }
    return {
      byteLength: entry.size,
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
