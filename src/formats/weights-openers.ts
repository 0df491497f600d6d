/**
 * OPENERS entries for what PyTorch loads: torch.save files (.bin/.pt/.pth, zip or legacy),
 * .safetensors, and sharded folders through their `*.index.json`. Detection by magic bytes as well
 * as by extension, so a renamed file still opens.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { parseJsonObject } from '../io/json.js';
import type { TensorRef } from '../tensor.js';
import { MAX_HEADER_BYTES, openSafetensors } from './safetensors/read.js';
import type { TensorSource, TensorSourceOpener } from './source.js';
import { openTorchFile, sniffTorch } from './torch/read.js';

/** An index lists names and file names: megabytes at most. */
const MAX_INDEX_BYTES = 100 * 1024 * 1024;

async function head(path: string, length = 16): Promise<Uint8Array | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/** `[u64 N]{"` with a plausible N: a safetensors header. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 9) return false;
  const n = Buffer.from(bytes).readBigUInt64LE(0);
  return n > 1n && n <= BigInt(MAX_HEADER_BYTES) && bytes[8] === 0x7b;
}

export const TORCH_FILE_OPENER: TensorSourceOpener = {
  format: 'torch',
  async detect(path) {
    const bytes = await head(path);
    if (!bytes) return false;
    return /\.(bin|pt|pth|ckpt)$/i.test(path)
      ? sniffTorch(bytes) !== undefined
      : sniffTorch(bytes) !== undefined && !looksLikeSafetensors(bytes);
  },
  open: (path, options) => openTorchFile(path, { verify: options.verify ?? true }),
};

export const SAFETENSORS_OPENER: TensorSourceOpener = {
  format: 'safetensors',
  async detect(path) {
    const bytes = await head(path);
    // By name too: a `.safetensors` whose header length is absurd gets the reader's E_LIMIT, not "not a checkpoint".
    return !!bytes && (/\.safetensors$/i.test(path) || looksLikeSafetensors(bytes));
  },
  open: (path) => openSafetensors(path),
};

export const SHARDED_INDEX_OPENER: TensorSourceOpener = {
  format: 'sharded',
  async detect(path) {
    return /\.index\.json$/i.test(path) && (await head(path)) !== undefined;
  },
  async open(path, options) {
    const size = (await stat(path)).size;
    if (size > MAX_INDEX_BYTES)
      throw new Tf2TorchError(ErrorCode.LIMIT, `${path}: index of ${size} bytes exceeds ${MAX_INDEX_BYTES}`, {
        file: path,
      });
    const index = parseJsonObject(await readFile(path, 'utf8'), path, ErrorCode.MALFORMED);
    const weightMap = index.weight_map as Record<string, unknown> | null | undefined;
    if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap))
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${path}: no weight_map object`, { file: path });
    const shardNames = [...new Set(Object.values(weightMap))];
    const sources: TensorSource[] = [];
    try {
      for (const shard of shardNames) {
        if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\'))
          throw new Tf2TorchError(ErrorCode.MALFORMED, `${path}: shard name ${String(shard)} is not a file name`, {
            file: path,
          });
        const shardPath = join(dirname(path), shard);
        if (!(await head(shardPath)))
          throw new Tf2TorchError(ErrorCode.MISSING_SHARD, `${path}: shard ${shard} is missing`, { file: shardPath });
        const isSafetensors = await SAFETENSORS_OPENER.detect(shardPath);
        sources.push(
          isSafetensors
            ? await openSafetensors(shardPath)
            : await openTorchFile(shardPath, { verify: options.verify ?? true }),
        );
      }
    } catch (error) {
      await Promise.all(sources.map((s) => s.close()));
      throw error;
    }
    const tensors: TensorRef[] = [];
    sources.forEach((source, i) => {
      for (const t of source.tensors) if (weightMap[t.name] === shardNames[i]) tensors.push(t);
    });
    const listed = new Set(tensors.map((t) => t.name));
    const missing = Object.keys(weightMap).filter((k) => !listed.has(k));
    if (missing.length > 0) {
      await Promise.all(sources.map((s) => s.close()));
      throw new Tf2TorchError(
        ErrorCode.TENSOR_NOT_FOUND,
        `${path}: ${missing.length} tensors of the weight_map are absent from their shard (first: ${missing[0]})`,
        { file: path, tensor: missing[0] },
      );
    }
    return {
      path,
      format: `sharded-${sources[0]?.format ?? 'empty'}`,
      tensors,
      notes: [`${sources.length} shards`],
      roleOf: () => 'weight',
      close: async () => {
        await Promise.all(sources.map((s) => s.close()));
      },
    };
  },
};

/** The weight files of a Hugging Face folder, in the order from_pretrained prefers them. */
const HF_WEIGHT_FILES = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
];

async function hfWeightsIn(dir: string): Promise<string | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) return undefined;
    const names = new Set(await readdir(dir));
    // A TensorFlow checkpoint folder that also holds converted weights is the checkpoint, not the output.
    if (names.has('checkpoint') || [...names].some((n) => n.endsWith('.index'))) return undefined;
    const found = HF_WEIGHT_FILES.find((n) => names.has(n));
    return found === undefined ? undefined : join(dir, found);
  } catch {
    return undefined;
  }
}

/** A Hugging Face model folder (what `convert` writes): its weights, as from_pretrained would pick them. */
export const HF_FOLDER_OPENER: TensorSourceOpener = {
  format: 'hf-folder',
  detect: async (path) => (await hfWeightsIn(path)) !== undefined,
  async open(path, options) {
    const weights = (await hfWeightsIn(path)) as string;
    for (const opener of [SHARDED_INDEX_OPENER, SAFETENSORS_OPENER, TORCH_FILE_OPENER]) {
      if (await opener.detect(weights)) return opener.open(weights, options);
    }
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${weights}: not a weights file tf2torch can read`, { file: weights });
  },
};
