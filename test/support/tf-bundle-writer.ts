/**
 * A small writer of TensorFlow V2 tensor bundles, for tests, the benchmark and the sample script.
 * It writes what TensorFlow writes (the reader is tested against real files separately), plus knobs to
 * produce the rarer layouts: several shards, big-endian data, snappy blocks, many blocks, slices.
 *
 * API
 *   writeBundle(prefix, tensors: {name, dtype, shape, bytes}[], options?) → {indexPath, dataPaths, entries}
 *       bytes are little-endian row-major (string tensors: the stored layout, see encodeStringTensor).
 *   writeBundleStreaming(prefix, tensors: {name, dtype, shape, byteLength, chunks()}[], options?)
 *       same, but each tensor's bytes come from `chunks()` (sync or async iterable), so a
 *       multi-gigabyte checkpoint is written with bounded memory. Chunks must hold whole scalars.
 *   synthesizeFromIndex(realPrefixOrPath, outPrefix, {seed?, options?}) → names of tensors written
 *       copies a real checkpoint's listing (names/dtypes/shapes) and writes seeded random values.
 *   writeTable(path, entries: {key, value}[], {snappy?, blockSize?, restartInterval?})
 *       the raw table layer, for hand-crafted (malformed) entries.
 *   encodeBundleEntry(fields), encodeBundleHeader(fields), encodeSliceKey(name, extents),
 *   encodeStringTensor(strings), snappyLiteralOnly(bytes): the building blocks.
 *
 * Options (WriteBundleOptions)
 *   shards       number of data files (tensor i goes to shard i % shards)         default 1
 *   bigEndian    header endianness BIG; payloads are byte-swapped when written   default false
 *   snappy       table blocks written as snappy (literal-only encoding)           default false
 *   blockSize    target uncompressed data-block size; small → many blocks        default 256 KiB
 *   slices       {name: Extent[][]} store these tensors as partitioned variables
 *   startOffset  first byte offset used in every data file (a sparse hole before)  default 0
 */
import { open } from 'node:fs/promises';
import { openTfCheckpoint } from '../../src/formats/tf-checkpoint/index.js';
import { dataShardPath } from '../../src/formats/tf-checkpoint/paths.js';
import type { Extent } from '../../src/formats/tf-checkpoint/proto.js';
import { sliceBox } from '../../src/formats/tf-checkpoint/slices.js';
import { crc32c, maskCrc } from '../../src/io/crc32c.js';
import { DTYPES, type DType, numElements } from '../../src/tensor.js';
import { seededRandom } from './random.js';

export interface BundleTensor {
  name: string;
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

export interface StreamedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
  chunks(): Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  /** The raw table key when it is not the UTF-8 name (slice keys). */
  key?: Uint8Array;
}

export interface WriteBundleOptions {
  shards?: number;
  bigEndian?: boolean;
  snappy?: boolean;
  blockSize?: number;
  slices?: Record<string, Extent[][]>;
  startOffset?: number;
}

export interface TableEntry {
  key: Uint8Array;
  value: Uint8Array;
}

// ---- protobuf and varints -------------------------------------------------------------------
function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
const tag = (field: number, wire: number) => varint(field * 8 + wire);
const fVarint = (field: number, v: number | bigint) => [...tag(field, 0), ...varint(v)];
const fBytes = (field: number, b: ArrayLike<number>) => [...tag(field, 2), ...varint(b.length), ...Array.from(b)];
const fFixed32 = (field: number, v: number) => [
  ...tag(field, 5),
  v & 0xff,
  (v >>> 8) & 0xff,
  (v >>> 16) & 0xff,
  (v >>> 24) & 0xff,
];

export function encodeShape(shape: readonly number[]): number[] {
  return shape.flatMap((d) => fBytes(2, d === 0 ? [] : fVarint(1, d)));
}

export function encodeSlice(extents: readonly Extent[]): number[] {
  return extents.flatMap((e) =>
    fBytes(1, [...(e.start ? fVarint(1, e.start) : []), ...(e.length === undefined ? [] : fVarint(2, e.length))]),
  );
}

export function encodeBundleHeader(h: { numShards: number; endianness?: number }): Uint8Array {
  return Uint8Array.from([
    ...fVarint(1, h.numShards),
    ...(h.endianness ? fVarint(2, h.endianness) : []),
    ...fBytes(3, fVarint(1, 1)),
  ]);
}

export function encodeBundleEntry(e: {
  dtype: number;
  shape: readonly number[];
  shardId?: number;
  offset?: number | bigint;
  size?: number | bigint;
  crc32c?: number;
  slices?: readonly Extent[][];
}): Uint8Array {
  return Uint8Array.from([
    ...fVarint(1, e.dtype),
    ...fBytes(2, encodeShape(e.shape)),
    ...(e.shardId ? fVarint(3, e.shardId) : []),
    ...(e.offset ? fVarint(4, e.offset) : []),
    ...(e.size ? fVarint(5, e.size) : []),
    ...(e.crc32c === undefined ? [] : fFixed32(6, e.crc32c)),
    ...(e.slices ?? []).flatMap((s) => fBytes(7, encodeSlice(s))),
  ]);
}

// ---- OrderedCode slice keys -----------------------------------------------------------------
function signedIncreasing(v: number): number[] {
  const x = v < 0 ? -v - 1 : v;
  if (x < 64) return [(0x80 ^ v) & 0xff];
  const bits = x.toString(2).length + 1;
  const len = bits <= 7 ? 1 : Math.ceil((bits - 7) / 7) + 1; // kBitsToLength for bitlen+1 ≤ 56
  const bytes: number[] = [];
  let b = BigInt.asUintN(80, BigInt(v));
  for (let i = 0; i < 10; i++) {
    bytes.unshift(Number(b & 0xffn));
    b >>= 8n;
  }
  const H0 = [0, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe, 0xff, 0xff, 0xff];
  const H1 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xc0];
  const out = bytes.slice(10 - len);
  out[0] = out[0]! ^ H0[len]!;
  if (len > 1) out[1] = out[1]! ^ H1[len]!;
  return out;
}

export function encodeSliceKey(name: string, extents: readonly Extent[]): Uint8Array {
  const out = [0x00];
  for (const b of Buffer.from(name, 'utf8')) {
    if (b === 0x00) out.push(0x00, 0xff);
    else if (b === 0xff) out.push(0xff, 0x00);
    else out.push(b);
  }
  out.push(0x00, 0x01);
  out.push(extents.length === 0 ? 0 : 1, ...(extents.length === 0 ? [] : [extents.length]));
  for (const e of extents) {
    out.push(...signedIncreasing(e.length === undefined ? 0 : e.start), ...signedIncreasing(e.length ?? -1));
  }
  return Uint8Array.from(out);
}

// ---- snappy and the table ---------------------------------------------------------------------
export function snappyLiteralOnly(bytes: Uint8Array): Uint8Array {
  const out: number[] = varint(bytes.length);
  for (let at = 0; at < bytes.length; at += 65536) {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + 65536));
    const n = piece.length - 1;
    if (n < 60) out.push(n << 2);
    else if (n < 256) out.push(60 << 2, n);
    else out.push(61 << 2, n & 0xff, n >> 8);
    for (const b of piece) out.push(b);
  }
  return Uint8Array.from(out);
}

function buildBlock(entries: readonly TableEntry[], restartInterval: number): Uint8Array {
  const out: number[] = [];
  const restarts: number[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  entries.forEach(({ key, value }, i) => {
    let shared = 0;
    if (i % restartInterval === 0) restarts.push(out.length);
    else while (shared < prev.length && shared < key.length && prev[shared] === key[shared]) shared++;
    out.push(
      ...varint(shared),
      ...varint(key.length - shared),
      ...varint(value.length),
      ...key.subarray(shared),
      ...value,
    );
    prev = key;
  });
  if (restarts.length === 0) restarts.push(0);
  const tail = Buffer.alloc(4 * (restarts.length + 1));
  for (const [i, r] of restarts.entries()) tail.writeUInt32LE(r, 4 * i);
  tail.writeUInt32LE(restarts.length, 4 * restarts.length);
  return Uint8Array.from([...out, ...tail]);
}

export async function writeTable(
  path: string,
  entries: readonly TableEntry[],
  o: { snappy?: boolean; blockSize?: number; restartInterval?: number } = {},
): Promise<void> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const emit = (block: Uint8Array): number[] => {
    const body = o.snappy ? snappyLiteralOnly(block) : block;
    const type = o.snappy ? 1 : 0;
    const trailer = Buffer.alloc(5);
    trailer[0] = type;
    trailer.writeUInt32LE(maskCrc(crc32c(Uint8Array.of(type), crc32c(body))), 1);
    const handle = [...varint(size), ...varint(body.length)];
    chunks.push(body, trailer);
    size += body.length + 5;
    return handle;
  };
  const indexEntries: TableEntry[] = [];
  let pending: TableEntry[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const handle = emit(buildBlock(pending, o.restartInterval ?? 16));
    indexEntries.push({ key: pending[pending.length - 1]!.key, value: Uint8Array.from(handle) });
    pending = [];
    pendingBytes = 0;
  };
  for (const e of entries) {
    pending.push(e);
    pendingBytes += e.key.length + e.value.length + 3;
    if (pendingBytes >= (o.blockSize ?? 256 * 1024)) flush();
  }
  flush();
  const metaHandle = emit(buildBlock([], 1));
  const indexHandle = emit(buildBlock(indexEntries, 1));
  const footer = Buffer.alloc(48);
  Buffer.from([...metaHandle, ...indexHandle]).copy(footer);
  footer.writeUInt32LE(0x8b80fb57, 40);
  footer.writeUInt32LE(0xdb477524, 44);
  chunks.push(footer);
  const f = await open(path, 'w');
  try {
    for (const c of chunks) await f.write(c);
  } finally {
    await f.close();
  }
}

// ---- bundles ------------------------------------------------------------------------------------
export function encodeStringTensor(strings: readonly Uint8Array[]): Uint8Array {
  const lengths = strings.flatMap((s) => varint(s.length));
  const lengthCrc = crc32c(Uint8Array.from(strings.flatMap((s) => [...Buffer.from(Uint32Array.of(s.length).buffer)])));
  const crcBytes = Buffer.alloc(4);
  crcBytes.writeUInt32LE(maskCrc(lengthCrc));
  return Uint8Array.from([...lengths, ...crcBytes, ...strings.flatMap((s) => [...s])]);
}

/** TF's checksum of a stored string tensor: lengths as uint32 LE, the stored length crc, the bytes. */
function stringCrc(stored: Uint8Array, count: number): number {
  let pos = 0;
  const lens: number[] = [];
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = stored[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    lens.push(v);
  }
  const crc = crc32c(stored.subarray(pos, pos + 4), crc32c(new Uint8Array(Uint32Array.from(lens).buffer)));
  return crc32c(stored.subarray(pos + 4), crc);
}

function swapped(chunk: Uint8Array, dtype: DType): Uint8Array {
  const unit = dtype.startsWith('complex') ? DTYPES[dtype].itemSize / 2 : DTYPES[dtype].itemSize;
  const out = Uint8Array.from(chunk);
  for (let i = 0; i + unit <= out.length; i += unit) out.subarray(i, i + unit).reverse();
  return out;
}

export async function writeBundleStreaming(
  prefix: string,
  tensors: readonly StreamedTensor[],
  options: WriteBundleOptions = {},
  extraEntries: readonly TableEntry[] = [],
) {
  const shards = options.shards ?? 1;
  const dataPaths = Array.from({ length: shards }, (_, s) => dataShardPath(prefix, s, shards));
  const files = await Promise.all(dataPaths.map((p) => open(p, 'w')));
  const positions = dataPaths.map(() => options.startOffset ?? 0);
  const entries: TableEntry[] = [
    { key: new Uint8Array(0), value: encodeBundleHeader({ numShards: shards, endianness: options.bigEndian ? 1 : 0 }) },
  ];
  try {
    for (const [i, t] of tensors.entries()) {
      const shard = i % shards;
      const offset = positions[shard]!;
      let crc = 0;
      let size = 0;
      const all: Uint8Array[] = [];
      for await (const chunk of t.chunks()) {
        const stored = options.bigEndian && t.dtype !== 'string' ? swapped(chunk, t.dtype) : chunk;
        if (t.dtype === 'string') all.push(stored);
        else crc = crc32c(stored, crc);
        await files[shard]!.write(stored, 0, stored.length, offset + size);
        size += stored.length;
      }
      if (t.dtype === 'string') crc = stringCrc(Buffer.concat(all), numElements(t.shape));
      positions[shard] = offset + size;
      const key = t.key ?? Buffer.from(t.name, 'utf8');
      entries.push({
        key,
        value: encodeBundleEntry({
          dtype: DTYPES[t.dtype].tf,
          shape: t.shape,
          shardId: shard,
          offset,
          size,
          crc32c: maskCrc(crc),
        }),
      });
    }
  } finally {
    await Promise.all(files.map((f) => f.close()));
  }
  entries.push(...extraEntries);
  entries.sort((a, b) => Buffer.compare(a.key, b.key));
  await writeTable(`${prefix}.index`, entries, options);
  return { indexPath: `${prefix}.index`, dataPaths, entries };
}

/** Writes tensors (whole buffers); tensors named in options.slices are stored as partitioned variables. */
export async function writeBundle(prefix: string, tensors: readonly BundleTensor[], options: WriteBundleOptions = {}) {
  const stored: StreamedTensor[] = [];
  const fullEntries: TableEntry[] = [];
  for (const t of tensors) {
    const slices = options.slices?.[t.name];
    if (slices === undefined) {
      stored.push({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        byteLength: t.bytes.length,
        chunks: () => [t.bytes],
      });
      continue;
    }
    const itemSize = DTYPES[t.dtype].itemSize;
    fullEntries.push({
      key: Buffer.from(t.name, 'utf8'),
      value: encodeBundleEntry({ dtype: DTYPES[t.dtype].tf, shape: t.shape, slices }),
    });
    for (const extents of slices) {
      const box = sliceBox(extents, t.shape, t.name);
      const piece = extractBox(t.bytes, t.shape, itemSize, box);
      stored.push({
        name: `${t.name} (slice)`,
        key: encodeSliceKey(t.name, extents),
        dtype: t.dtype,
        shape: box.length,
        byteLength: piece.length,
        chunks: () => [piece],
      });
    }
  }
  return writeBundleStreaming(prefix, stored, options, fullEntries);
}

/** The inverse of copySliceInto: the dense block of `box` inside a full row-major tensor. */
function extractBox(
  full: Uint8Array,
  shape: readonly number[],
  itemSize: number,
  box: { start: number[]; length: number[] },
): Uint8Array {
  const count = box.length.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * itemSize);
  for (let k = 0; k < count; k++) {
    // multi-index inside the box (row-major) → element offset in the full tensor
    let rest = k;
    let element = 0;
    for (let d = shape.length - 1, stride = 1; d >= 0; stride *= shape[d]!, d--) {
      element += (box.start[d]! + (rest % box.length[d]!)) * stride;
      rest = Math.floor(rest / box.length[d]!);
    }
    out.set(full.subarray(element * itemSize, (element + 1) * itemSize), k * itemSize);
  }
  return out;
}

// ---- synthesized copies of real listings --------------------------------------------------------

export function randomTensorBytes(dtype: DType, count: number, random: () => number): Uint8Array {
  const out = new Uint8Array(count * DTYPES[dtype].itemSize);
  const v = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const x = random() * 2 - 1;
    if (dtype === 'float32') v.setFloat32(i * 4, x, true);
    else if (dtype === 'float64') v.setFloat64(i * 8, x, true);
    else if (dtype === 'bfloat16') {
      const f = new DataView(new ArrayBuffer(4));
      f.setFloat32(0, x);
      v.setUint16(i * 2, f.getUint16(0), true);
    } else
      for (let b = 0; b < DTYPES[dtype].itemSize; b++) out[i * DTYPES[dtype].itemSize + b] = Math.floor(random() * 256);
  }
  return out;
}

/** Copies the listing of a real checkpoint (index only is enough) into a full bundle with random values. */
export async function synthesizeFromIndex(
  realPath: string,
  outPrefix: string,
  o: { seed?: number; options?: WriteBundleOptions } = {},
): Promise<string[]> {
  const real = await openTfCheckpoint(realPath);
  const random = seededRandom(o.seed ?? 1);
  const listing = real.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] }));
  await real.close();
  const tensors: StreamedTensor[] = listing.map((t) => {
    const count = numElements(t.shape);
    const bytes =
      t.dtype === 'string' ? encodeStringTensor(Array.from({ length: count }, () => new Uint8Array(0))) : undefined;
    return {
      ...t,
      byteLength: bytes?.length ?? count * DTYPES[t.dtype].itemSize,
      *chunks() {
        if (bytes) return yield bytes;
        // 1 Mi elements at a time: bounded memory for the largest embeddings
        for (let done = 0; done < count; done += 1 << 20)
          yield randomTensorBytes(t.dtype, Math.min(1 << 20, count - done), random);
      },
    };
  });
  await writeBundleStreaming(outPrefix, tensors, o.options);
  return listing.map((t) => t.name);
}
