/**
 * Fixed-offset little-endian fields of byte arrays (zip headers, pickle opcodes): reads and writes
 * through a DataView, bounds-checked by it (a RangeError past the end).
 */
const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export const u16 = (bytes: Uint8Array, at: number): number => view(bytes).getUint16(at, true);
export const u32 = (bytes: Uint8Array, at: number): number => view(bytes).getUint32(at, true);
export const u64 = (bytes: Uint8Array, at: number): bigint => view(bytes).getBigUint64(at, true);

export function setU16(bytes: Uint8Array, at: number, value: number): void {
  view(bytes).setUint16(at, value, true);
}

export function setU32(bytes: Uint8Array, at: number, value: number): void {
  view(bytes).setUint32(at, value, true);
}

export function setU64(bytes: Uint8Array, at: number, value: bigint): void {
  view(bytes).setBigUint64(at, value, true);
}

/** One array holding `parts` in order. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

export function setI32(bytes: Uint8Array, at: number, value: number): void {
  view(bytes).setInt32(at, value, true);
}
