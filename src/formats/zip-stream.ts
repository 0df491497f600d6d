/**
 * An `OutputTree` whose files become the entries of one zip produced as a stream (a browser download):
 * bytes go out as they are written, never seeking back, so memory stays bounded whatever the output's
 * size. Entries are STORED with data descriptors (flag bit 3: CRC and sizes after the data) and zip64
 * sizes, so nothing needs to be known before the first byte. A writer that patches earlier bytes (the
 * torch zip's CRCs) declares the region with `ByteSink.hold`/`release`; only that region is kept back.
 */
import type { ByteSink, OutputTree } from '../io/byte-sink.js';
import { crc32 } from '../io/crc32.js';
import { concatBytes, setU16, setU32, setU64 } from '../io/little-endian.js';
import { POSIX_PATHS } from '../io/posix-paths.js';

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const DOS_DATE_1980_01_01 = 0x21;
const FLAGS = 0x0008 | 0x0800; // data descriptor; UTF-8 names

/** Where the zip's bytes go: each call's bytes may be reused once it resolves. */
export type ByteStream = (bytes: Uint8Array) => Promise<void>;

interface Entry {
  readonly name: Uint8Array;
  readonly offset: number;
  crc: number;
  size: number;
}

/** One entry's data as it arrives: streamed, except a held region kept until released. */
class EntrySink implements ByteSink {
  private end = 0;
  private holdFrom: number | undefined;
  private held: { at: number; bytes: Uint8Array }[] = [];

  constructor(
    private readonly entry: Entry,
    private readonly emit: (bytes: Uint8Array) => Promise<void>,
    private readonly path: string,
  ) {}

  async write(bytes: Uint8Array, position: number): Promise<void> {
    if (position === this.end) {
      this.end += bytes.byteLength;
      if (this.holdFrom === undefined) await this.out(bytes);
      else this.held.push({ at: position, bytes: bytes.slice() });
      return;
    }
    if (this.holdFrom === undefined || position < this.holdFrom || position + bytes.byteLength > this.end)
      throw new Error(`${this.path}: a streamed zip entry cannot be rewritten at ${position}`);
    for (const part of this.held) {
      const from = Math.max(position, part.at);
      const to = Math.min(position + bytes.byteLength, part.at + part.bytes.byteLength);
      if (from < to) part.bytes.set(bytes.subarray(from - position, to - position), from - part.at);
    }
  }

  hold(position: number): void {
    if (this.holdFrom !== undefined || position !== this.end)
      throw new Error(`${this.path}: hold at ${position} (written up to ${this.end})`);
    this.holdFrom = position;
  }

  async release(): Promise<void> {
    const parts = this.held;
    this.held = [];
    this.holdFrom = undefined;
    for (const part of parts) await this.out(part.bytes);
  }

  private async out(bytes: Uint8Array): Promise<void> {
    this.entry.crc = crc32(bytes, this.entry.crc);
    this.entry.size += bytes.byteLength;
    await this.emit(bytes);
  }
}

export interface ZipStream {
  readonly outputs: OutputTree;
  /** Writes the central directory: the zip is complete once this resolves. */
  finish(): Promise<void>;
}

/** A zip streamed into `stream`; entries are named by their path under '/' (in `folder`, when given). */
export function zipStreamOutputs(stream: ByteStream, options: { folder?: string } = {}): ZipStream {
  const entries: Entry[] = [];
  let position = 0;
  let busy = false;
  const emit = async (bytes: Uint8Array) => {
    position += bytes.byteLength;
    await stream(bytes);
  };
  const nameOf = (path: string) => {
    const relative = POSIX_PATHS.resolve(path).slice(1);
    return options.folder ? `${options.folder}/${relative}` : relative;
  };
  const outputs: OutputTree = {
    paths: POSIX_PATHS,
    async writeFile(path, write) {
      if (busy) throw new Error(`${path}: a streamed zip writes one file at a time`);
      busy = true;
      try {
        const entry: Entry = { name: new TextEncoder().encode(nameOf(path)), offset: position, crc: 0, size: 0 };
        await emit(localHeader(entry.name));
        const sink = new EntrySink(entry, emit, path);
        const result = await write(sink);
        await sink.release();
        await emit(dataDescriptor(entry));
        entries.push(entry);
        return result;
      } finally {
        busy = false;
      }
    },
    // An entry cannot be taken back: a failed conversion abandons the whole download instead.
    remove: async () => undefined,
  };
  return { outputs, finish: () => emit(directory(entries, position)) };
}

function localHeader(name: Uint8Array): Uint8Array {
  const h = new Uint8Array(30 + name.byteLength + 20);
  setU32(h, 0, 0x04034b50);
  setU16(h, 4, 45);
  setU16(h, 6, FLAGS);
  setU16(h, 12, DOS_DATE_1980_01_01);
  setU32(h, 18, U32_MAX); // sizes in the zip64 descriptor
  setU32(h, 22, U32_MAX);
  setU16(h, 26, name.byteLength);
  setU16(h, 28, 20);
  h.set(name, 30);
  setU16(h, 30 + name.byteLength, 0x0001); // zip64 extra, sizes unknown yet (zero)
  setU16(h, 32 + name.byteLength, 16);
  return h;
}

function dataDescriptor(e: Entry): Uint8Array {
  const d = new Uint8Array(24);
  setU32(d, 0, 0x08074b50);
  setU32(d, 4, e.crc);
  setU64(d, 8, BigInt(e.size));
  setU64(d, 16, BigInt(e.size));
  return d;
}

function centralHeader(e: Entry): Uint8Array {
  const h = new Uint8Array(46 + e.name.byteLength + 28);
  setU32(h, 0, 0x02014b50);
  setU16(h, 4, 45);
  setU16(h, 6, 45);
  setU16(h, 8, FLAGS);
  setU16(h, 14, DOS_DATE_1980_01_01);
  setU32(h, 16, e.crc);
  setU32(h, 20, U32_MAX);
  setU32(h, 24, U32_MAX);
  setU16(h, 28, e.name.byteLength);
  setU16(h, 30, 28);
  setU32(h, 42, U32_MAX);
  h.set(e.name, 46);
  const at = 46 + e.name.byteLength;
  setU16(h, at, 0x0001);
  setU16(h, at + 2, 24);
  setU64(h, at + 4, BigInt(e.size));
  setU64(h, at + 12, BigInt(e.size));
  setU64(h, at + 20, BigInt(e.offset));
  return h;
}

/** The central directory, the zip64 end record and locator, and the end record. */
function directory(entries: readonly Entry[], offset: number): Uint8Array {
  const central = concatBytes(entries.map(centralHeader));
  const end = new Uint8Array(56 + 20 + 22);
  setU32(end, 0, 0x06064b50);
  setU64(end, 4, 44n);
  setU16(end, 12, 45);
  setU16(end, 14, 45);
  setU64(end, 24, BigInt(entries.length));
  setU64(end, 32, BigInt(entries.length));
  setU64(end, 40, BigInt(central.byteLength));
  setU64(end, 48, BigInt(offset));
  setU32(end, 56, 0x07064b50);
  setU64(end, 64, BigInt(offset + central.byteLength));
  setU32(end, 72, 1);
  setU32(end, 76, 0x06054b50);
  setU16(end, 84, Math.min(entries.length, U16_MAX));
  setU16(end, 86, Math.min(entries.length, U16_MAX));
  setU32(end, 88, U32_MAX);
  setU32(end, 92, U32_MAX);
  return concatBytes([central, end]);
}
