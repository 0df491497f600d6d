/**
 * Partitioned variables. The full tensor's entry lists its slices; each slice is stored under a binary
 * key built with TF's OrderedCode: 0x00, the escaped name ending 0x00 0x01, the rank, then (start,
 * length) per dimension as signed "increasing" numbers (length −1 = the whole dimension).
 * We decode every such key rather than re-encode, then copy each slice into its hyper-rectangle.
 */
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { utf8Text } from '../../io/text.js';
import type { Extent } from './proto.js';
import { MAX_RANK } from './proto.js';

export interface SliceKey {
  name: string;
  extents: Extent[];
}

function bad(where: string, why: string): never {
  throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: malformed slice key: ${why}`);
}

/** OrderedCode WriteSignedNumIncreasing, decoded (only values that fit a safe integer matter here). */
function readSigned(key: Uint8Array, pos: number, where: string): { value: number; next: number } {
  const first = key[pos];
  if (first === undefined) bad(where, 'ends inside a number');
  const negative = (first & 0x80) === 0;
  const byteAt = (i: number): number => {
    const b = key[pos + i];
    if (b === undefined) bad(where, 'ends inside a number');
    return negative ? b ^ 0xff : b;
  };
  const b0 = byteAt(0);
  let len = 0;
  while (len < 8 && b0 & (0x80 >> len)) len++;
  if (len === 8) {
    const b1 = byteAt(1);
    len = (b1 & 0x80) === 0 ? 8 : (b1 & 0x40) === 0 ? 9 : 10;
  }
  let x = 0n;
  for (let i = 0; i < len; i++) x = (x << 8n) | BigInt(byteAt(i));
  const payloadBits = BigInt(8 * len - len - 1);
  x &= (1n << payloadBits) - 1n;
  const v = negative ? -x - 1n : x;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -1n) bad(where, `slice bound ${v} out of range`);
  return { value: Number(v), next: pos + len };
}

/** Decodes a key starting with 0x00; returns undefined for keys that are not slice keys. */
export function decodeSliceKey(key: Uint8Array, where: string): SliceKey | undefined {
  if (key[0] !== 0x00) return undefined;
  let pos = 1;
  const name: number[] = [];
  for (;;) {
    const b = key[pos];
    if (b === undefined) bad(where, 'name not terminated');
    if (b === 0x00) {
      const c = key[pos + 1];
      if (c === 0x01) {
        pos += 2;
        break;
      }
      if (c !== 0xff) bad(where, 'bad escape in name');
      name.push(0x00);
      pos += 2;
    } else if (b === 0xff) {
      if (key[pos + 1] !== 0x00) bad(where, 'bad escape in name');
      name.push(0xff);
      pos += 2;
    } else {
      name.push(b);
      pos += 1;
    }
  }
  const lenByte = key[pos];
  if (lenByte === undefined || lenByte > 8) bad(where, 'bad rank');
  let rank = 0;
  for (let i = 1; i <= lenByte; i++) rank = rank * 256 + (key[pos + i] ?? bad(where, 'ends inside the rank'));
  pos += 1 + lenByte;
  if (rank > MAX_RANK) bad(where, `rank ${rank}`);
  const extents: Extent[] = [];
  for (let d = 0; d < rank; d++) {
    const start = readSigned(key, pos, where);
    const length = readSigned(key, start.next, where);
    pos = length.next;
    extents.push(length.value < 0 ? { start: 0, length: undefined } : { start: start.value, length: length.value });
  }
  if (pos !== key.length) bad(where, 'trailing bytes');
  return { name: utf8Text(Uint8Array.from(name)), extents };
}

/** Concrete (start, length) per dimension of `shape`, checked to lie inside it. */
export function sliceBox(
  extents: readonly Extent[],
  shape: readonly number[],
  where: string,
): { start: number[]; length: number[] } {
  if (extents.length !== shape.length)
    bad(where, `slice of rank ${extents.length} for a tensor of rank ${shape.length}`);
  const start: number[] = [];
  const length: number[] = [];
  shape.forEach((dim, d) => {
    const e = extents[d]!;
    const s = e.length === undefined ? 0 : e.start;
    const l = e.length === undefined ? dim : e.length;
    if (s + l > dim) bad(where, `extent [${s}, ${s + l}) outside dimension ${d} of size ${dim}`);
    start.push(s);
    length.push(l);
  });
  return { start, length };
}

/** Copies a dense row-major slice block into the full tensor buffer. */
export function copySliceInto(
  full: Uint8Array,
  shape: readonly number[],
  itemSize: number,
  box: { start: number[]; length: number[] },
  block: Uint8Array,
): void {
  const rank = shape.length;
  if (rank === 0) {
    full.set(block.subarray(0, itemSize));
    return;
  }
  // strides in elements of the full tensor
  const strides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1]! * shape[d + 1]!;
  const rowBytes = box.length[rank - 1]! * itemSize;
  const rows = box.length.slice(0, -1).reduce((a, b) => a * b, 1);
  if (rowBytes === 0 || rows === 0) return;
  const index = new Array<number>(rank - 1).fill(0);
  for (let row = 0; row < rows; row++) {
    let element = box.start[rank - 1]!;
    for (let d = 0; d < rank - 1; d++) element += (box.start[d]! + index[d]!) * strides[d]!;
    full.set(block.subarray(row * rowBytes, (row + 1) * rowBytes), element * itemSize);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < box.length[d]!) break;
      index[d] = 0;
    }
  }
}
