/**
 * Reads `.safetensors`: [u64 LE N][N bytes JSON header][byte buffer]. The header size, every dtype,
 * shape and offset are validated before any tensor byte is read: ranges must match numel × itemsize
 * and cover the buffer exactly, without holes or overlaps, as the reference loader requires.
 */

import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { FileTree } from '../../io/byte-source.js';
import { parseJsonObject } from '../../io/json.js';
import { utf8Text } from '../../io/text.js';
import { DEFAULT_CHUNK_BYTES, DTYPES, type DType, numElements, type TensorRef } from '../../tensor.js';
import type { TensorSource } from '../source.js';

/** The reference implementation's limit on the JSON header. */
export const MAX_HEADER_BYTES = 100_000_000;
const MAX_DIMS = 64;

const DTYPE_BY_CODE = new Map<string, DType>(
  Object.entries(DTYPES).flatMap(([dtype, info]) => (info.safetensors ? [[info.safetensors, dtype as DType]] : [])),
);

export type SafetensorsSource = TensorSource & { metadata: Record<string, string> };

export async function openSafetensors(path: string, options: { files?: FileTree } = {}): Promise<SafetensorsSource> {
  const file = await (options.files ?? defaultFiles).open(path);
  try {
    const fail = (message: string, tensor?: string): never => {
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${path}: safetensors ${message}`, { file: path, tensor });
    };
    const lengthBytes = await file.readAt(0, 8, 'safetensors header length');
    const n = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER_BYTES))
      throw new Tf2TorchError(
        ErrorCode.LIMIT,
        `${path}: safetensors header of ${n} bytes exceeds ${MAX_HEADER_BYTES}`,
        { file: path },
      );
    const headerLength = Number(n);
    const text = utf8Text(await file.readAt(8, headerLength, 'safetensors header'));
    const header = parseJsonObject(text, path, ErrorCode.MALFORMED, 'safetensors header');
    const base = 8 + headerLength;
    const metadata: Record<string, string> = Object.create(null); // keys from the file: `__proto__` is one of them
    const ranges: { name: string; begin: number; end: number; dtype: DType; shape: number[] }[] = [];
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (info === null || typeof info !== 'object') fail('__metadata__ is not an object');
        for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
          if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
          metadata[k] = v as string;
        }
        continue;
      }
      const entry = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
      const dtype = DTYPE_BY_CODE.get(String(entry?.dtype));
      if (!dtype)
        throw new Tf2TorchError(
          ErrorCode.UNKNOWN_DTYPE,
          `${path}: tensor ${name} has unknown safetensors dtype ${String(entry?.dtype)}`,
          { file: path, tensor: name },
        );
      const shape = entry?.shape;
      if (!Array.isArray(shape) || shape.length > MAX_DIMS || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
        return fail(`tensor ${name} has an invalid shape`, name);
      const offsets = entry?.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
        return fail(`tensor ${name} has invalid data_offsets`, name);
      const [begin, end] = offsets as [number, number];
      const expected = numElements(shape as number[]) * DTYPES[dtype].itemSize;
      if (end - begin !== expected)
        fail(
          `tensor ${name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ${dtype}[${shape.join(', ')}] needs ${expected}`,
          name,
        );
      ranges.push({ name, begin, end, dtype, shape: shape as number[] });
    }
    let covered = 0;
    for (const r of [...ranges].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
      if (r.begin !== covered) fail(`byte buffer has a hole or overlap at ${r.begin} (tensor ${r.name})`, r.name);
      covered = r.end;
    }
    if (base + covered !== file.size) fail(`byte buffer is ${file.size - base} bytes, the tensors cover ${covered}`);
    const tensors: TensorRef[] = ranges.map(({ name, begin, end, dtype, shape }) => ({
      name,
      dtype,
      shape,
      byteLength: end - begin,
      read: () => file.readAt(base + begin, end - begin, `tensor ${name}`),
      stream: (chunkSize = DEFAULT_CHUNK_BYTES) =>
        file.readChunks(base + begin, end - begin, chunkSize, `tensor ${name}`),
    }));
    return {
      path,
      format: 'safetensors',
      tensors,
      notes: [],
      metadata,
      roleOf: () => 'weight',
      close: () => file.close(),
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}
