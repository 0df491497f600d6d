/** The protobuf wire format, written independently of the readers under test (fields in order, no packing). */

export function varint(v: number): number[] {
  const out: number[] = [];
  let x = v;
  while (x >= 0x80) {
    out.push((x & 0x7f) | 0x80);
    x = Math.floor(x / 128);
  }
  out.push(x);
  return out;
}

/** A length-delimited field (wire type 2). */
export const bytesField = (field: number, bytes: ArrayLike<number>) => [
  ...varint(field * 8 + 2),
  ...varint(bytes.length),
  ...Array.from(bytes),
];
export const textField = (field: number, text: string) => bytesField(field, Buffer.from(text, 'utf8'));
/** A varint field (wire type 0). */
export const intField = (field: number, v: number) => [...varint(field * 8), ...varint(v)];
