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
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { ByteSink } from '../../io/byte-sink.js';
import { crc32 } from '../../io/crc32.js';
import { concatBytes, setU16, setU32, setU64 } from '../../io/little-endian.js';

/** torch's kFieldAlignment: record data starts on this boundary (needed by torch.load(mmap=True)). */
export const ZIP_ALIGNMENT = 64;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const DOS_DATE_1980_01_01 = 0x21;

interface WrittenEntry {
  name: Uint8Array;
  headerOffset: number;
  size: number;
  crc: number;
}

export class ZipWriter {
  private position = 0;
  private readonly entries: WrittenEntry[] = [];

  constructor(
    private readonly sink: ByteSink,
    private readonly options: { forceZip64?: boolean; path?: string } = {},
  ) {}

  get bytesWritten(): number {
    return this.position;
  }

  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    await this.sink.write(bytes, position);
  }

  private async append(bytes: Uint8Array): Promise<void> {
    await this.writeAt(bytes, this.position);
    this.position += bytes.byteLength;
  }

  private localHeader(name: Uint8Array, size: number): Uint8Array {
    const zip64 = this.options.forceZip64 === true || size >= U32_MAX;
    const zip64Length = zip64 ? 20 : 0;
    const unpadded = this.position + LOCAL_HEADER_SIZE + name.byteLength + zip64Length;
    const padding =
      unpadded % ZIP_ALIGNMENT === 0 ? -1 : (ZIP_ALIGNMENT - ((unpadded + 4) % ZIP_ALIGNMENT)) % ZIP_ALIGNMENT;
    const extraLength = zip64Length + (padding < 0 ? 0 : 4 + padding);
    const h = new Uint8Array(LOCAL_HEADER_SIZE + name.byteLength + extraLength).fill(0x5a /* 'Z' padding */);
    setU32(h, 0, 0x04034b50);
    setU16(h, 4, zip64 ? 45 : 20); // version needed
    setU16(h, 6, 0); // flags: sizes and CRC in this header
    setU16(h, 8, 0); // STORED
    setU16(h, 10, 0); // time
    setU16(h, 12, DOS_DATE_1980_01_01);
    setU32(h, 14, 0); // CRC, patched after the data
    setU32(h, 18, zip64 ? U32_MAX : size);
    setU32(h, 22, zip64 ? U32_MAX : size);
    setU16(h, 26, name.byteLength);
    setU16(h, 28, extraLength);
    h.set(name, LOCAL_HEADER_SIZE);
    let at = LOCAL_HEADER_SIZE + name.byteLength;
    if (zip64) {
      setU16(h, at, 0x0001);
      setU16(h, at + 2, 16);
      setU64(h, at + 4, BigInt(size));
      setU64(h, at + 12, BigInt(size));
      at += 20;
    }
    if (padding >= 0) {
      h.set([0x46, 0x42], at); // 'FB'
      setU16(h, at + 2, padding);
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
    const nameBytes = new TextEncoder().encode(name);
    const headerOffset = this.position;
    this.sink.hold?.(headerOffset); // its CRC is patched after the data
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
    const crcBytes = new Uint8Array(4);
    setU32(crcBytes, 0, crc);
    await this.writeAt(crcBytes, headerOffset + 14);
    await this.sink.release?.();
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

  private centralHeader(e: WrittenEntry): Uint8Array {
    const force = this.options.forceZip64 === true;
    const bigSize = force || e.size >= U32_MAX;
    const bigOffset = force || e.headerOffset >= U32_MAX;
    const zip64Length = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
    const h = new Uint8Array(CENTRAL_HEADER_SIZE + e.name.byteLength + zip64Length);
    setU32(h, 0, 0x02014b50);
    setU16(h, 4, zip64Length ? 45 : 20); // version made by
    setU16(h, 6, zip64Length ? 45 : 20); // version needed
    setU16(h, 14, DOS_DATE_1980_01_01);
    setU32(h, 16, e.crc);
    setU32(h, 20, bigSize ? U32_MAX : e.size);
    setU32(h, 24, bigSize ? U32_MAX : e.size);
    setU16(h, 28, e.name.byteLength);
    setU16(h, 30, zip64Length);
    setU32(h, 42, bigOffset ? U32_MAX : e.headerOffset);
    h.set(e.name, CENTRAL_HEADER_SIZE);
    if (zip64Length) {
      let at = CENTRAL_HEADER_SIZE + e.name.byteLength;
      setU16(h, at, 0x0001);
      setU16(h, at + 2, zip64Length - 4);
      at += 4;
      if (bigSize) {
        setU64(h, at, BigInt(e.size));
        setU64(h, at + 8, BigInt(e.size));
        at += 16;
      }
      if (bigOffset) setU64(h, at, BigInt(e.headerOffset));
    }
    return h;
  }

  /** Writes the central directory and end records. */
  async finish(): Promise<void> {
    const directoryOffset = this.position;
    await this.append(concatBytes(this.entries.map((e) => this.centralHeader(e))));
    const directorySize = this.position - directoryOffset;
    const count = this.entries.length;
    const zip64 =
      this.options.forceZip64 === true ||
      directoryOffset >= U32_MAX ||
      directorySize >= U32_MAX ||
      count >= U16_MAX ||
      this.entries.some((e) => e.size >= U32_MAX || e.headerOffset >= U32_MAX);
    if (zip64) {
      const record = new Uint8Array(56 + 20);
      const recordOffset = this.position;
      setU32(record, 0, 0x06064b50);
      setU64(record, 4, 44n);
      setU16(record, 12, 45);
      setU16(record, 14, 45);
      setU64(record, 24, BigInt(count));
      setU64(record, 32, BigInt(count));
      setU64(record, 40, BigInt(directorySize));
      setU64(record, 48, BigInt(directoryOffset));
      setU32(record, 56, 0x07064b50); // locator
      setU64(record, 64, BigInt(recordOffset));
      setU32(record, 72, 1); // total disks
      await this.append(record);
    }
    const end = new Uint8Array(22);
    setU32(end, 0, 0x06054b50);
    setU16(end, 8, zip64 ? U16_MAX : count);
    setU16(end, 10, zip64 ? U16_MAX : count);
    setU32(end, 12, zip64 ? U32_MAX : directorySize);
    setU32(end, 16, zip64 ? U32_MAX : directoryOffset);
    await this.append(end);
  }
}
