/**
 * CRC-32C (Castagnoli, the iSCSI polynomial), as TensorFlow and LevelDB use it, plus their "masking".
 * A native implementation (`@node-rs/crc32`, an optional dependency) is used when it loads; otherwise a
 * pure-JS slicing-by-8 table (slower, but correct everywhere; tests check both agree).
 * Both are incremental: `crc32cUpdate(state, bytes)` continues from a previous value.
 */
import { loadNativeCrc32c as loadPlatformCrc32c } from '#platform';

const POLY = 0x82f63b78; // reflected Castagnoli polynomial

/** 8 tables of 256 entries for slicing-by-8. */
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = tables[0]!;
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let t = 1; t < 8; t++) {
      const prev = tables[t - 1]![i]!;
      tables[t]![i] = ((prev >>> 8) ^ t0[prev & 0xff]!) >>> 0;
    }
  }
  return tables;
})();

/** The slicing tables (`[0]`: byte at a time), for callers hashing many tiny pieces inline. */
export const crc32cTables: readonly Uint32Array[] = TABLES;

/** Pure-JS CRC-32C continuing from `crc` (0 for a fresh checksum). */
export function crc32cJs(bytes: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[bytes[i + 4]!]! ^
      t2[bytes[i + 5]!]! ^
      t1[bytes[i + 6]!]! ^
      t0[bytes[i + 7]!]!;
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type Crc32cFn = (bytes: Uint8Array, crc?: number) => number;

let native: Crc32cFn | undefined;
let loading: Promise<boolean> | undefined;

/** Loads the native implementation once; later calls to crc32c use it. Safe to call many times. */
export function loadNativeCrc32c(): Promise<boolean> {
  loading ??= (async () => {
    const fn = await loadPlatformCrc32c(); // Node: the optional native package; elsewhere none
    native = fn === undefined ? undefined : (bytes, crc = 0) => fn(bytes, crc) >>> 0;
    return native !== undefined;
  })();
  return loading;
}

/** The native implementation if loaded (see loadNativeCrc32c), for tests that compare both. */
export function nativeCrc32c(): Crc32cFn | undefined {
  return native;
}

/** CRC-32C of `bytes`, continuing from `crc` (0 to start). */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  // The native call has a fixed overhead: for tiny inputs the tables are faster.
  return native !== undefined && bytes.length >= 64 ? native(bytes, crc) : crc32cJs(bytes, crc);
}

const MASK_DELTA = 0xa282ead8;

/** TF/LevelDB store crcs "masked" so that a crc of data containing crcs stays well distributed. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

// Start loading at import; readers await loadNativeCrc32c() before hashing large data.
void loadNativeCrc32c();
