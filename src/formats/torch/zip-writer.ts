/**
 * A streaming zip writer with the layout PyTorch's own writer (miniz) produces:
 *
 *   [local header][name][extra: zip64 sizes? + "FB" padding][data, 64-byte aligned] ... per record
 *   [central directory][zip64 end record + locator, when needed or forced][end of central directory]
 *
 * Every record is STORED. Sizes are known before the data (TensorRef.byteLength), so the local
 * header is written first with a zero CRC, the data streams through with the CRC computed on the
 * fly, then the CRC is patched in place with a positioned write: no data descriptors (bit 3), no
 * second pass, memory bounded by one chunk.
 */
import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { crc32 } from '../../io/crc32.js';

/** torch's kFieldAlignment: record data starts on this boundary (needed by torch.load(mmap=True)). */
export const ZIP_ALIGNMENT = 64;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const DOS_DATE_1980_01_01 = 0x21;

interface WrittenEntry {
  name: Buffer;
  headerOffset: number;
  size: number;
  crc: number;
}

export class ZipWriter {
  private position = 0;
  private readonly entries: WrittenEntry[] = [];

  constructor(
    private readonly handle: FileHandle,
    private readonly options: { forceZip64?: boolean; path?: string } = {},
  ) {}

  get bytesWritten(): number {
    return this.position;
  }

  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, position + done);
      done += bytesWritten;
    }
  }

  private async append(bytes: Uint8Array): Promise<void> {
    await this.writeAt(bytes, this.position);
    this.position += bytes.byteLength;
  }

  private localHeader(name: Buffer, size: number): Buffer {
    const zip64 = this.options.forceZip64 === true || size >= U32_MAX;
    const zip64Length = zip64 ? 20 : 0;
    const unpadded = this.position + LOCAL_HEADER_SIZE + name.byteLength + zip64Length;
    const padding =
      unpadded % ZIP_ALIGNMENT === 0 ? -1 : (ZIP_ALIGNMENT - ((unpadded + 4) % ZIP_ALIGNMENT)) % ZIP_ALIGNMENT;
    const extraLength = zip64Length + (padding < 0 ? 0 : 4 + padding);
    const h = Buffer.alloc(LOCAL_HEADER_SIZE + name.byteLength + extraLength, 0x5a /* 'Z' padding */);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(zip64 ? 45 : 20, 4); // version needed
    h.writeUInt16LE(0, 6); // flags: sizes and CRC in this header
    h.writeUInt16LE(0, 8); // STORED
    h.writeUInt16LE(0, 10); // time
    h.writeUInt16LE(DOS_DATE_1980_01_01, 12);
    h.writeUInt32LE(0, 14); // CRC, patched after the data
    h.writeUInt32LE(zip64 ? U32_MAX : size, 18);
    h.writeUInt32LE(zip64 ? U32_MAX : size, 22);
    h.writeUInt16LE(name.byteLength, 26);
    h.writeUInt16LE(extraLength, 28);
    name.copy(h, LOCAL_HEADER_SIZE);
    let at = LOCAL_HEADER_SIZE + name.byteLength;
    if (zip64) {
      h.writeUInt16LE(0x0001, at);
      h.writeUInt16LE(16, at + 2);
      h.writeBigUInt64LE(BigInt(size), at + 4);
      h.writeBigUInt64LE(BigInt(size), at + 12);
      at += 20;
    }
    if (padding >= 0) {
      h.write('FB', at, 'latin1');
      h.writeUInt16LE(padding, at + 2);
    }
    return h;
  }

  /** Adds one record whose bytes arrive in chunks; exactly `size` bytes must arrive. */
  async addStream(
    name: string,
    size: number,
    chunks: AsyncIterable<Uint8Array>,
    onBytes?: (n: number) => void,
  ): Promise<void> {
    const nameBytes = Buffer.from(name, 'utf8');
    const headerOffset = this.position;
    await this.append(this.localHeader(nameBytes, size));
    let crc = 0;
    let written = 0;
    for await (const chunk of chunks) {
      written += chunk.byteLength;
      if (written > size) break;
      // The write runs off the main thread; compute the CRC of the same (unchanged) bytes meanwhile.
      const writing = this.append(chunk);
      crc = crc32(chunk, crc);
      await writing;
      onBytes?.(chunk.byteLength);
    }
    if (written !== size) {
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${this.options.path ?? 'zip'}: record ${name} announced ${size} bytes but its source produced ${written > size ? 'more' : written}`,
        {
          file: this.options.path,
        },
      );
    }
    const crcBytes = Buffer.alloc(4);
    crcBytes.writeUInt32LE(crc, 0);
    await this.writeAt(crcBytes, headerOffset + 14);
    this.entries.push({ name: nameBytes, headerOffset, size, crc });
  }

  async addBytes(name: string, bytes: Uint8Array): Promise<void> {
    await this.addStream(
      name,
      bytes.byteLength,
      (async function* () {
        yield bytes;
      })(),
    );
  }

  private centralHeader(e: WrittenEntry): Buffer {
    const force = this.options.forceZip64 === true;
    const bigSize = force || e.size >= U32_MAX;
    const bigOffset = force || e.headerOffset >= U32_MAX;
    const zip64Length = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
    const h = Buffer.alloc(CENTRAL_HEADER_SIZE + e.name.byteLength + zip64Length);
    h.writeUInt32LE(0x02014b50, 0);
    h.writeUInt16LE(zip64Length ? 45 : 20, 4); // version made by
    h.writeUInt16LE(zip64Length ? 45 : 20, 6); // version needed
    h.writeUInt16LE(DOS_DATE_1980_01_01, 14);
    h.writeUInt32LE(e.crc, 16);
    h.writeUInt32LE(bigSize ? U32_MAX : e.size, 20);
    h.writeUInt32LE(bigSize ? U32_MAX : e.size, 24);
    h.writeUInt16LE(e.name.byteLength, 28);
    h.writeUInt16LE(zip64Length, 30);
    h.writeUInt32LE(bigOffset ? U32_MAX : e.headerOffset, 42);
    e.name.copy(h, CENTRAL_HEADER_SIZE);
    if (zip64Length) {
      let at = CENTRAL_HEADER_SIZE + e.name.byteLength;
      h.writeUInt16LE(0x0001, at);
      h.writeUInt16LE(zip64Length - 4, at + 2);
      at += 4;
      if (bigSize) {
        h.writeBigUInt64LE(BigInt(e.size), at);
        h.writeBigUInt64LE(BigInt(e.size), at + 8);
        at += 16;
      }
      if (bigOffset) h.writeBigUInt64LE(BigInt(e.headerOffset), at);
    }
    return h;
  }

  /** Writes the central directory and end records. */
  async finish(): Promise<void> {
    const directoryOffset = this.position;
    await this.append(Buffer.concat(this.entries.map((e) => this.centralHeader(e))));
    const directorySize = this.position - directoryOffset;
    const count = this.entries.length;
    const zip64 =
      this.options.forceZip64 === true ||
      directoryOffset >= U32_MAX ||
      directorySize >= U32_MAX ||
      count >= U16_MAX ||
      this.entries.some((e) => e.size >= U32_MAX || e.headerOffset >= U32_MAX);
    if (zip64) {
      const record = Buffer.alloc(56 + 20);
      const recordOffset = this.position;
      record.writeUInt32LE(0x06064b50, 0);
      record.writeBigUInt64LE(44n, 4);
      record.writeUInt16LE(45, 12);
      record.writeUInt16LE(45, 14);
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(directorySize), 40);
      record.writeBigUInt64LE(BigInt(directoryOffset), 48);
      record.writeUInt32LE(0x07064b50, 56); // locator
      record.writeBigUInt64LE(BigInt(recordOffset), 64);
      record.writeUInt32LE(1, 72); // total disks
      await this.append(record);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(zip64 ? U16_MAX : count, 8);
    end.writeUInt16LE(zip64 ? U16_MAX : count, 10);
    end.writeUInt32LE(zip64 ? U32_MAX : directorySize, 12);
    end.writeUInt32LE(zip64 ? U32_MAX : directoryOffset, 16);
    await this.append(end);
  }
}
