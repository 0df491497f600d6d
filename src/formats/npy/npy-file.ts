/**
 * One `.npy` file as a lazy TensorRef: the header is parsed and every size checked against the file
 * size when opened; array bytes are read on demand with positioned reads. Bytes come out as the rest
 * of tf2torch wants them: little-endian, C order (big-endian data is swapped, Fortran order reordered).
 */

import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { swapBytesInPlace } from '../../io/byte-order.js';
import type { ByteSource, FileTree } from '../../io/byte-source.js';
import { fortranStrides, gatherStrided } from '../../io/strided.js';
import { DEFAULT_CHUNK_BYTES, DTYPES, type TensorRef } from '../../tensor.js';
import { headerLength, type NpyHeader, PREAMBLE_BYTES, parseHeaderText } from './header.js';

/**
 * Fortran-order arrays are reordered in memory as a whole; past this size that would break the
 * bounded-memory promise, so they are refused (numpy never writes weights that way by default).
 */
export const MAX_FORTRAN_BYTES = 1024 * 1024 * 1024;

export interface NpyArray {
  readonly path: string;
  readonly header: NpyHeader;
  /** Element count (the shape's product). */
  readonly length: number;
  /** Bytes after the array that numpy ignores as well (0 for files numpy wrote). */
  readonly trailingBytes: number;
  readonly tensor: TensorRef;
  /** `count` elements from element `start` in C order, little-endian. */
  readElements(start: number, count: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Opens `path` and validates its header; `name` becomes the TensorRef's name (default: the path). */
export async function openNpy(path: string, name = path, files: FileTree = defaultFiles): Promise<NpyArray> {
  const file = await files.open(path);
  try {
    return await npyFromFile(file, name);
  } catch (error) {
    await file.close();
    throw error;
  }
}

async function readHeader(file: ByteSource): Promise<NpyHeader> {
  if (file.size < 10) {
    throw new Tf2TorchError(
      ErrorCode.BAD_MAGIC,
      `${file.path}: not a .npy file (${file.size} bytes, too short for the magic and version)`,
      { file: file.path, offset: 0 },
    );
  }
  const preamble = await file.readAt(0, Math.min(PREAMBLE_BYTES, file.size), '.npy preamble');
  const { version, textStart, textLength } = headerLength(preamble, file.path);
  const dataOffset = textStart + textLength;
  if (dataOffset > file.size) {
    throw new Tf2TorchError(
      ErrorCode.TRUNCATED,
      `${file.path}: .npy header of ${textLength} bytes runs past the end of the file (${file.size} bytes)`,
      { file: file.path, offset: textStart },
    );
  }
  const raw = await file.readAt(textStart, textLength, '.npy header');
  let text: string;
  try {
    text = new TextDecoder(version[0] === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(raw);
  } catch {
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${file.path}: .npy header is not valid UTF-8`, {
      file: file.path,
      offset: textStart,
    });
  }
  return parseHeaderText(text, version, dataOffset, file.path);
}

/** Shape product and byte length, checked against what the file holds before anything is allocated. */
function checkedSize(header: NpyHeader, file: ByteSource): { length: number; byteLength: number } {
  const available = BigInt(file.size - header.dataOffset);
  let elements = 1n;
  for (const d of header.shape) elements *= BigInt(d);
  const bytes = elements * BigInt(DTYPES[header.dtype].itemSize);
  if (bytes > available) {
    throw new Tf2TorchError(
      ErrorCode.TRUNCATED,
      `${file.path}: shape [${header.shape.join(', ')}] of ${header.descr} needs ${bytes} bytes but only ${available} follow the header`,
      { file: file.path, offset: header.dataOffset },
    );
  }
  if (header.fortranOrder && header.shape.length > 1 && bytes > BigInt(MAX_FORTRAN_BYTES)) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${file.path}: Fortran-order array of ${bytes} bytes exceeds the limit of ${MAX_FORTRAN_BYTES} for reordering in memory`,
      { file: file.path },
    );
  }
  return { length: Number(elements), byteLength: Number(bytes) };
}

export async function npyFromFile(file: ByteSource, name: string): Promise<NpyArray> {
  const header = await readHeader(file);
  const { length, byteLength } = checkedSize(header, file);
  const itemSize = DTYPES[header.dtype].itemSize;
  // a complex number is two floats, each stored in the file's byte order on its own
  const swapUnit = header.dtype.startsWith('complex') ? itemSize / 2 : itemSize;
  // Fortran order only changes the layout when two or more dims are > 1.
  const reorder = header.fortranOrder && header.shape.filter((d) => d > 1).length > 1;

  const readRaw = async (start: number, count: number): Promise<Uint8Array> => {
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(count) ||
      start < 0 ||
      count < 0 ||
      start + count > length
    ) {
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${file.path}: elements ${start}..${start + count} are outside the array of ${length}`,
        { file: file.path, tensor: name },
      );
    }
    const bytes = await file.readAt(header.dataOffset + start * itemSize, count * itemSize, `array data of ${name}`);
    if (header.byteOrder === 'big') swapBytesInPlace(bytes, swapUnit);
    return bytes;
  };

  const readElements = async (start: number, count: number): Promise<Uint8Array> => {
    if (!reorder) return readRaw(start, count);
    const all = gatherStrided(await readRaw(0, length), header.shape, fortranStrides(header.shape), itemSize);
    return all.subarray(start * itemSize, (start + count) * itemSize);
  };

  const tensor: TensorRef = {
    name,
    dtype: header.dtype,
    shape: [...header.shape],
    byteLength,
    read: () => readElements(0, length),
    async *stream(chunkSize = DEFAULT_CHUNK_BYTES) {
      if (reorder) {
        const all = await readElements(0, length);
        for (let at = 0; at < all.byteLength; at += chunkSize)
          yield all.subarray(at, Math.min(all.byteLength, at + chunkSize));
        return;
      }
      const perChunk = Math.max(1, Math.floor(chunkSize / itemSize));
      for (let at = 0; at < length; at += perChunk) yield await readRaw(at, Math.min(perChunk, length - at));
    },
  };

  return {
    path: file.path,
    header,
    length,
    trailingBytes: file.size - header.dataOffset - byteLength,
    tensor,
    readElements,
    close: () => file.close(),
  };
}
