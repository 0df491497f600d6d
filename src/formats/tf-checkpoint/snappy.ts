/**
 * Raw Snappy decompression (the block format LevelDB tables use: no framing, no stream checksums).
 * Layout: varint32 uncompressed length, then elements whose tag byte's low 2 bits say
 * 0 = literal, 1 = copy (1-byte offset), 2 = copy (2-byte offset), 3 = copy (4-byte offset).
 * Every length and offset is checked against the declared output size before a byte is written.
 */
import { ErrorCode, Tf2TorchError } from '../../errors.js';

/** Table blocks are written at ~4-256 KiB; 64 MiB leaves room for odd writers and stops absurd headers. */
export const MAX_SNAPPY_OUTPUT_BYTES = 64 * 1024 * 1024;
/** The largest output per input byte any snappy element gives: a 3-byte copy of 64 bytes (64/3 < 22). */
const MAX_EXPANSION = 22;

function fail(where: string, file: string | undefined, message: string, offset: number): never {
  throw new Tf2TorchError(
    ErrorCode.MALFORMED,
    `${where}: corrupt snappy data: ${message} (at byte ${offset} of the compressed block)`,
    {
      file,
      offset,
    },
  );
}

/** Decompresses `input`; `where` names the block in errors (e.g. "model.ckpt.index block at 0"). */
export function snappyDecompress(
  input: Uint8Array,
  where: string,
  file?: string,
  maxOutput = MAX_SNAPPY_OUTPUT_BYTES,
): Uint8Array {
  let pos = 0;
  // varint32 uncompressed length
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) fail(where, file, 'bad length header', pos);
    const b = input[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (length > maxOutput) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${where}: snappy block declares ${length} bytes, above the ${maxOutput}-byte limit`,
      { file },
    );
  }
  // No element expands more than MAX_EXPANSION times (a 3-byte copy yields at most 64 bytes), so a
  // declared size beyond that is a lie to refuse before allocating it.
  if (length > (input.length - pos) * MAX_EXPANSION) {
    fail(
      where,
      file,
      `declares ${length} bytes, more than its ${input.length - pos} compressed bytes can expand to`,
      0,
    );
  }
  const out = new Uint8Array(length);
  let written = 0;
  while (pos < input.length) {
    const tag = input[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59; // 1..4 little-endian length bytes follow
        if (pos + extra > input.length) fail(where, file, 'literal length runs past the end', pos);
        len = 0;
        for (let i = 0; i < extra; i++) len += input[pos + i]! * 2 ** (8 * i);
        pos += extra;
      }
      len += 1;
      if (pos + len > input.length) fail(where, file, `literal of ${len} bytes runs past the end`, pos);
      if (written + len > length) fail(where, file, 'output longer than declared', pos);
      out.set(input.subarray(pos, pos + len), written);
      pos += len;
      written += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > input.length) fail(where, file, 'truncated copy', pos);
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[pos]!;
      pos += 1;
    } else if (kind === 2) {
      if (pos + 2 > input.length) fail(where, file, 'truncated copy', pos);
      len = (tag >>> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > input.length) fail(where, file, 'truncated copy', pos);
      len = (tag >>> 2) + 1;
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16)) + input[pos + 3]! * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > written)
      fail(where, file, `copy offset ${offset} outside the ${written} bytes produced so far`, pos);
    if (written + len > length) fail(where, file, 'output longer than declared', pos);
    // Byte by byte: a copy may overlap its own output (run-length style).
    for (let i = 0; i < len; i++, written++) out[written] = out[written - offset]!;
  }
  if (written !== length) fail(where, file, `produced ${written} of the ${length} declared bytes`, pos);
  return out;
}
