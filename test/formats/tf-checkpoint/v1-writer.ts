/**
 * Writes V1 single-file checkpoints (TF ≤ 0.12), enough for tests of the V1 reader's slice handling:
 *   ""        → SavedTensorSlices { meta = 1: { tensor = 1: SavedSliceMeta { name, shape, type, slice* } } }
 *   slice key → SavedTensorSlices { data = 2: SavedSlice { name, slice, data = 3: TensorProto { tensor_content } } }
 * Every tensor is float32 (DT_FLOAT = 1); `data` gives the slices that have a data entry, with their bytes.
 */
import type { Extent } from '../../../src/formats/tf-checkpoint/proto.js';
import {
  encodeShape,
  encodeSlice,
  encodeSliceKey,
  type TableEntry,
  writeTable,
} from '../../support/tf-bundle-writer.js';

export interface V1Tensor {
  name: string;
  shape: number[];
  /** the slices the meta lists */
  slices: Extent[][];
  /** data entries: a slice (listed or not) and its float32 values in row-major order */
  data: { slice: Extent[]; values: number[] }[];
}

function varint(v: number): number[] {
  const out: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
  out.push(v);
  return out;
}
const fVarint = (field: number, v: number) => [...varint(field * 8), ...varint(v)];
const fBytes = (field: number, b: ArrayLike<number>) => [
  ...varint(field * 8 + 2),
  ...varint(b.length),
  ...Array.from(b),
];
const nameBytes = (name: string) => [...Buffer.from(name, 'utf8')];

export async function writeV1(path: string, tensors: readonly V1Tensor[]): Promise<void> {
  const metas = tensors.flatMap((t) =>
    fBytes(1, [
      ...fBytes(1, nameBytes(t.name)),
      ...fBytes(2, encodeShape(t.shape)),
      ...fVarint(3, 1),
      ...t.slices.flatMap((s) => fBytes(4, encodeSlice(s))),
    ]),
  );
  const entries: TableEntry[] = [{ key: new Uint8Array(0), value: Uint8Array.from(fBytes(1, metas)) }];
  for (const t of tensors) {
    for (const { slice, values } of t.data) {
      const content = new Uint8Array(Float32Array.from(values).buffer);
      const proto = [...fVarint(1, 1), ...fBytes(4, content)];
      const saved = [...fBytes(1, nameBytes(t.name)), ...fBytes(2, encodeSlice(slice)), ...fBytes(3, proto)];
      entries.push({ key: encodeSliceKey(t.name, slice), value: Uint8Array.from(fBytes(2, saved)) });
    }
  }
  entries.sort((a, b) => Buffer.compare(a.key, b.key));
  await writeTable(path, entries);
}
