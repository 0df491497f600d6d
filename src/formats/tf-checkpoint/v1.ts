/**
 * The old V1 checkpoint format (TF ≤ 0.12 `Saver(write_version=V1)`): one table file, no `.index`.
 *   ""                → SavedTensorSlices { meta = 1: SavedTensorSliceMeta { repeated SavedSliceMeta tensor = 1 } }
 *   slice key (A.6)   → SavedTensorSlices { data = 2: SavedSlice { name = 1, slice = 2, data = 3: TensorProto } }
 * Values sit inside TensorProto (tensor_content or typed repeated fields), so the table is read whole:
 * V1 files are small (the format predates large models); MAX_V1_FILE_BYTES bounds it.
 */

import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { loadNativeCrc32c } from '../../io/crc32c.js';
import { utf8Text } from '../../io/text.js';
import { DTYPES, type DType, memoryTensor, type TensorRef } from '../../tensor.js';
import type { OpenOptions } from '../source.js';
import { TfCheckpoint } from './checkpoint.js';
import { type Extent, parseTensorShape, parseTensorSlice, protoFields } from './proto.js';
import { checkSliceLayout, copySliceInto, decodeSliceKey, sliceBox, sliceNotation } from './slices.js';
import { INDEX_TABLE_LIMITS, readTable } from './sstable.js';

/** A V1 file is held in memory while it is decoded; 2 GiB is beyond any V1-era model. */
export const MAX_V1_FILE_BYTES = 2 * 1024 ** 3;

const DTYPE_BY_ENUM = new Map<number, DType>(Object.entries(DTYPES).map(([name, info]) => [info.tf, name as DType]));

interface SliceMeta {
  name: string;
  dtype: DType;
  shape: number[];
  slices: Extent[][];
}

/** TensorProto value fields per dtype: field number, wire kind, and how each value becomes bytes. */
function tensorProtoBytes(proto: Uint8Array, dtype: DType, count: number, where: string, file: string): Uint8Array {
  const itemSize = DTYPES[dtype].itemSize;
  const values: bigint[] = [];
  let content: Uint8Array | undefined;
  const valueField: Partial<Record<DType, number>> = {
    float32: 5,
    float64: 6,
    int32: 7,
    int16: 7,
    int8: 7,
    uint8: 7,
    uint16: 7,
    bool: 11,
    int64: 10,
    float16: 13,
    bfloat16: 13,
    uint32: 16,
    uint64: 17,
    complex64: 9,
    complex128: 12,
  };
  const field = valueField[dtype];
  if (field === undefined)
    throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `${where}: ${dtype} values in a V1 checkpoint are not supported`, {
      file,
    });
  const fixedWidth =
    dtype === 'float32' || dtype === 'complex64' ? 4 : dtype === 'float64' || dtype === 'complex128' ? 8 : 0;
  for (const f of protoFields(proto, `${where} TensorProto`, file)) {
    if (f.field === 4 && f.wire === 2) content = f.bytes;
    if (f.field !== field) continue;
    if (f.wire === 2 && fixedWidth > 0) {
      const v = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
      for (let i = 0; i + fixedWidth <= f.bytes.length; i += fixedWidth)
        values.push(fixedWidth === 4 ? BigInt(v.getUint32(i, true)) : v.getBigUint64(i, true));
    } else if (f.wire === 2) {
      for (const x of protoFields(packedAsFields(f.bytes), `${where} packed values`, file)) values.push(x.int);
    } else values.push(f.int);
  }
  const scalarsPerElement = dtype === 'complex64' || dtype === 'complex128' ? 2 : 1;
  const out = new Uint8Array(count * itemSize);
  if (content !== undefined) {
    if (content.length !== out.length)
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: tensor_content has ${content.length} bytes, expected ${out.length}`,
        { file },
      );
    out.set(content);
    return out;
  }
  const width = itemSize / scalarsPerElement;
  const view = new DataView(out.buffer);
  const n = count * scalarsPerElement;
  if (values.length > n)
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: ${values.length} values for ${n} elements`, { file });
  for (let i = 0; i < n; i++) {
    // TensorProto semantics: a short list repeats its last value (constants); none means zeros.
    const v = values[Math.min(i, values.length - 1)] ?? 0n;
    if (width === 1) view.setUint8(i, Number(v & 0xffn));
    else if (width === 2) view.setUint16(i * 2, Number(v & 0xffffn), true);
    else if (width === 4) view.setUint32(i * 4, Number(v & 0xffffffffn), true);
    else view.setBigUint64(i * 8, BigInt.asUintN(64, v), true);
  }
  return out;
}

/** Re-frames a packed varint run as a sequence of field-1 varints so protoFields can decode it. */
function packedAsFields(packed: Uint8Array): Uint8Array {
  const out: number[] = [];
  let start = true;
  for (const b of packed) {
    if (start) out.push(0x08);
    out.push(b);
    start = (b & 0x80) === 0;
  }
  return Uint8Array.from(out);
}

function parseMeta(bytes: Uint8Array, where: string, file: string): SliceMeta[] {
  const metas: SliceMeta[] = [];
  for (const top of protoFields(bytes, where, file)) {
    if (top.field !== 1 || top.wire !== 2) continue;
    for (const t of protoFields(top.bytes, `${where} meta`, file)) {
      if (t.field !== 1 || t.wire !== 2) continue;
      const m: SliceMeta = { name: '', dtype: 'float32', shape: [], slices: [] };
      let dtypeEnum = 0;
      for (const f of protoFields(t.bytes, `${where} tensor meta`, file)) {
        if (f.field === 1 && f.wire === 2) m.name = utf8Text(f.bytes);
        else if (f.field === 2 && f.wire === 2) m.shape = parseTensorShape(f.bytes, `${where} shape`, file);
        else if (f.field === 3 && f.wire === 0) dtypeEnum = Number(f.int);
        else if (f.field === 4 && f.wire === 2) m.slices.push(parseTensorSlice(f.bytes, `${where} slice`, file));
      }
      const dtype = DTYPE_BY_ENUM.get(dtypeEnum);
      if (dtype === undefined)
        throw new Tf2TorchError(
          ErrorCode.UNKNOWN_DTYPE,
          `${file}: tensor '${m.name}' has unsupported dtype enum ${dtypeEnum}`,
          { file, tensor: m.name },
        );
      m.dtype = dtype;
      metas.push(m);
    }
  }
  return metas;
}

/**
 * The V1 writer stores every element of every tensor (packed values take at least one byte each), so
 * a meta declaring more elements than the file has bytes is corrupt: refused before anything is allocated.
 */
function checkDeclaredElements(metas: readonly SliceMeta[], fileSize: number, file: string): void {
  let total = 0;
  for (const m of metas) {
    const elements = m.shape.reduce((a, b) => a * b, 1);
    total += elements;
    if (!Number.isSafeInteger(elements) || total > fileSize) {
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${file}: tensor '${m.name}' of shape [${m.shape.join(', ')}] declares more elements than the ${fileSize}-byte V1 checkpoint can hold`,
        { file, tensor: m.name },
      );
    }
  }
}

export async function openV1(path: string, options: OpenOptions = {}): Promise<TfCheckpoint> {
  await loadNativeCrc32c();
  const file = await (options.files ?? defaultFiles).open(path);
  let table;
  try {
    if (file.size > MAX_V1_FILE_BYTES)
      throw new Tf2TorchError(
        ErrorCode.LIMIT,
        `${path}: V1 checkpoint of ${file.size} bytes exceeds ${MAX_V1_FILE_BYTES}`,
        { file: path },
      );
    // A V1 table's values are the tensors themselves: its blocks may decompress to as much as the file allows.
    table = await readTable(file, options.verify ?? true, {
      ...INDEX_TABLE_LIMITS,
      decompressedBytes: 2 * MAX_V1_FILE_BYTES,
    });
  } finally {
    await file.close();
  }
  const [first, ...rest] = table.entries;
  if (first === undefined || first.key.length !== 0) {
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${path}: table has no "" entry, so it is not a V1 checkpoint`, {
      file: path,
    });
  }
  const metas = parseMeta(first.value, `${path}: V1 meta`, path);
  checkDeclaredElements(metas, file.size, path);
  // As TensorFlow's V1 reader: the meta's slices are registered (no overlaps, no gaps), each found by its key
  for (const m of metas) {
    const where = `${path}: tensor '${m.name}'`;
    for (const s of m.slices) sliceBox(s, m.shape, where);
    checkSliceLayout(m.slices, m.shape, where, { file: path, tensor: m.name });
  }
  const full = new Map(
    metas.map((m) => [m.name, new Uint8Array(m.shape.reduce((a, b) => a * b, 1) * DTYPES[m.dtype].itemSize)]),
  );
  const byName = new Map(metas.map((m) => [m.name, m]));
  const listed = new Map(metas.map((m) => [m.name, new Set(m.slices.map(sliceNotation))]));
  const filled = new Map(metas.map((m) => [m.name, new Set<string>()]));
  for (const { key, value } of rest) {
    const where = `${path}: V1 slice`;
    const sk = decodeSliceKey(key, where);
    const meta = sk && byName.get(sk.name);
    if (!sk || !meta)
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: key does not name a tensor of the meta entry`, {
        file: path,
      });
    const notation = sliceNotation(sk.extents);
    if (!listed.get(sk.name)!.has(notation))
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: tensor '${sk.name}' has data for slice ${notation}, which its meta does not list`,
        { file: path, tensor: sk.name },
      );
    const box = sliceBox(sk.extents, meta.shape, `${where} '${sk.name}'`);
    const count = box.length.reduce((a, b) => a * b, 1);
    for (const top of protoFields(value, `${where} '${sk.name}'`, path)) {
      if (top.field !== 2 || top.wire !== 2) continue;
      for (const f of protoFields(top.bytes, `${where} '${sk.name}'`, path)) {
        if (f.field === 3 && f.wire === 2) {
          const block = tensorProtoBytes(f.bytes, meta.dtype, count, `${path}: tensor '${sk.name}'`, path);
          copySliceInto(full.get(sk.name)!, meta.shape, DTYPES[meta.dtype].itemSize, box, block);
          filled.get(sk.name)!.add(notation);
        }
      }
    }
  }
  for (const m of metas) {
    const missing = m.slices.map(sliceNotation).find((n) => !filled.get(m.name)!.has(n));
    if (missing !== undefined)
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${path}: tensor '${m.name}' has no data for its slice ${missing}`, {
        file: path,
        tensor: m.name,
      });
  }
  const tensors: TensorRef[] = metas
    .map((m) => memoryTensor(m.name, m.dtype, m.shape, full.get(m.name)!))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const notes = [
    'V1 checkpoint format (pre-TF-1.0 single-file table); no per-tensor checksums, block checksums verified',
  ];
  return new TfCheckpoint(path, 'tf-v1', path, tensors, notes, false, () => []);
}
