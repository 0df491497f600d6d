/**
 * Zip's CRC-32 (IEEE, reflected polynomial 0xEDB88320), incremental: `crc32(chunk, previous)`.
 * The optional `@node-rs/crc32` (carry-less multiply) is 2-3× faster than Node's zlib.crc32, which
 * matters when every output byte of a multi-GB `.bin` goes through it; zlib's is the next choice (both
 * injected through `#platform`), the table serves elsewhere.
 */
import { nativeCrc32 as native } from '#platform';

let table: Uint32Array | undefined;

function slowCrc32(data: Uint8Array, previous: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before it; 0 to start). */
export function crc32(data: Uint8Array, previous = 0): number {
  return native ? native(data, previous) >>> 0 : slowCrc32(data, previous);
}
