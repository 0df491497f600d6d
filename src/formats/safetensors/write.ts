/**
 * `model.safetensors`: [u64 LE header length N][N bytes JSON header, space-padded to 8][tensor bytes].
 * Two steps, as the reference writer: the header and every offset are computed from metadata first
 * (state-dict order, deterministic), then the bytes stream one chunk at a time. Tied aliases are
 * written once, under the first name (safetensors forbids shared tensors). Output is atomic.
 */

import { defaultOutputs } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { OutputTree } from '../../io/byte-sink.js';
import { DEFAULT_CHUNK_BYTES, DTYPES, type TensorRef } from '../../tensor.js';
import type { ProgressCallback, StateDictEntry } from '../state-dict.js';
import { resolveStateDict } from '../torch/write.js';

export interface SafetensorsWriteOptions {
  /** Extra `__metadata__` strings; `format: "pt"` is always set (transformers requires it). */
  metadata?: Record<string, string>;
  /** Called with the cumulative count of tensor bytes written. */
  onProgress?: ProgressCallback;
  /** Where the file is created (default: the platform's file system, atomically). */
  outputs?: OutputTree;
}

/** Header alignment of the reference writer: the byte buffer starts on an 8-byte boundary. */
const HEADER_ALIGNMENT = 8;

export function safetensorsHeader(
  tensors: readonly { key: string; tensor: TensorRef }[],
  metadata: Record<string, string>,
  file?: string,
): Uint8Array {
  // No prototype: a tensor named `__proto__` is a key like any other (assigned to {}, it vanished from the header).
  const header: Record<string, unknown> = Object.create(null);
  header.__metadata__ = { ...metadata, format: metadata.format ?? 'pt' };
  let offset = 0;
  for (const { key, tensor } of tensors) {
    const code = DTYPES[tensor.dtype].safetensors;
    if (!code) {
      throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `tensor ${key}: safetensors has no dtype for ${tensor.dtype}`, {
        file,
        tensor: key,
      });
    }
    if (key === '__metadata__')
      throw new Tf2TorchError(ErrorCode.PLAN, 'a tensor cannot be named __metadata__ in safetensors', {
        file,
        tensor: key,
      });
    header[key] = { dtype: code, shape: [...tensor.shape], data_offsets: [offset, offset + tensor.byteLength] };
    offset += tensor.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.byteLength) / HEADER_ALIGNMENT) * HEADER_ALIGNMENT - 8;
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

export async function writeSafetensorsFile(
  path: string,
  entries: readonly StateDictEntry[],
  options: SafetensorsWriteOptions = {},
): Promise<void> {
  const { storages, keys } = resolveStateDict(entries, path);
  const seen = new Set<number>();
  const tensors: { key: string; tensor: TensorRef }[] = [];
  for (const { key, storage } of keys) {
    if (seen.has(storage)) continue; // an alias: the first name keeps the bytes
    seen.add(storage);
    tensors.push({ key, tensor: storages[storage]! });
  }
  const header = safetensorsHeader(tensors, options.metadata ?? {}, path);
  await (options.outputs ?? defaultOutputs).writeFile(path, async (sink) => {
    let position = 0;
    const write = async (bytes: Uint8Array) => {
      await sink.write(bytes, position);
      position += bytes.byteLength;
    };
    await write(header);
    let total = 0;
    for (const { key, tensor } of tensors) {
      let written = 0;
      // Each chunk is written before the next is asked for: the source may reuse its buffers.
      for await (const chunk of tensor.stream(DEFAULT_CHUNK_BYTES, { reuse: true })) {
        written += chunk.byteLength;
        if (written > tensor.byteLength) break;
        await write(chunk);
        total += chunk.byteLength;
        options.onProgress?.(total);
      }
      if (written !== tensor.byteLength) {
        throw new Tf2TorchError(
          ErrorCode.MALFORMED,
          `${path}: tensor ${key} announced ${tensor.byteLength} bytes but its source produced ${written > tensor.byteLength ? 'more' : written}`,
          { file: path, tensor: key },
        );
      }
    }
  });
}
