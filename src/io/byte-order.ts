/**
 * Big-endian → little-endian: every format stores tensors little-endian on output, and the readers of
 * big-endian files (TF bundles written on big-endian hosts, `>` numpy arrays) swap on read.
 */

/**
 * Reverses each `unit`-byte scalar in place (a complex number is two scalars, each swapped on its own,
 * so callers pass half its item size). Trailing bytes short of a whole scalar are left alone.
 */
export function swapBytesInPlace(bytes: Uint8Array, unit: number): void {
  if (unit <= 1) return;
  const end = bytes.length - (bytes.length % unit);
  for (let i = 0; i < end; i += unit) {
    for (let a = i, b = i + unit - 1; a < b; a++, b--) {
      const x = bytes[a] as number;
      bytes[a] = bytes[b] as number;
      bytes[b] = x;
    }
  }
}
