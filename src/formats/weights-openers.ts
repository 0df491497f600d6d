/**
 * OPENERS entries for what PyTorch loads: torch.save files (.bin/.pt/.pth, zip or legacy),
 * .safetensors, and sharded folders through their `*.index.json`. Detection by magic bytes as well
 * as by extension, so a renamed file still opens.
 */
import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { type FileTree, isDirectory, isFile } from '../io/byte-source.js';
import { parseJsonObject } from '../io/json.js';
import type { TensorRef } from '../tensor.js';
import { MAX_HEADER_BYTES, openSafetensors } from './safetensors/read.js';
import type { OpenOptions, TensorSource, TensorSourceOpener } from './source.js';
import { openTorchFile, sniffTorch } from './torch/read.js';

/** An index lists names and file names: megabytes at most. */
const MAX_INDEX_BYTES = 100 * 1024 * 1024;

const filesOf = (options: OpenOptions | undefined): FileTree => options?.files ?? defaultFiles;

async function head(path: string, files: FileTree, length = 16): Promise<Uint8Array | undefined> {
  try {
    if (!isFile(files, path)) return undefined;
    const source = await files.open(path);
    try {
      return await source.readAt(0, Math.min(length, source.size));
    } finally {
      await source.close();
    }
  } catch {
    return undefined;
  }
}

/** `[u64 N]{"` with a plausible N: a safetensors header. */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 9) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  return n > 1n && n <= BigInt(MAX_HEADER_BYTES) && bytes[8] === 0x7b;
}

export const TORCH_FILE_OPENER: TensorSourceOpener = {
  format: 'torch',
  async detect(path, options) {
    const bytes = await head(path, filesOf(options));
    if (!bytes) return false;
    return /\.(bin|pt|pth|ckpt)$/i.test(path)
      ? sniffTorch(bytes) !== undefined
      : sniffTorch(bytes) !== undefined && !looksLikeSafetensors(bytes);
  },
  open: (path, options) => openTorchFile(path, { verify: options.verify ?? true, files: filesOf(options) }),
};

export const SAFETENSORS_OPENER: TensorSourceOpener = {
  format: 'safetensors',
  async detect(path, options) {
    const bytes = await head(path, filesOf(options));
    // By name too: a `.safetensors` whose header length is absurd gets the reader's E_LIMIT, not "not a checkpoint".
    return !!bytes && (/\.safetensors$/i.test(path) || looksLikeSafetensors(bytes));
  },
  open: (path, options) => openSafetensors(path, { files: filesOf(options) }),
};

export const SHARDED_INDEX_OPENER: TensorSourceOpener = {
  format: 'sharded',
  async detect(path, options) {
    return /\.index\.json$/i.test(path) && (await head(path, filesOf(options))) !== undefined;
  },
  async open(path, options) {
    const files = filesOf(options);
    const size = files.stat(path)?.size ?? 0;
    if (size > MAX_INDEX_BYTES)
      throw new Tf2TorchError(ErrorCode.LIMIT, `${path}: index of ${size} bytes exceeds ${MAX_INDEX_BYTES}`, {
        file: path,
      });
    const index = parseJsonObject(files.readText(path), path, ErrorCode.MALFORMED);
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
        const shardPath = files.paths.join(files.paths.dirname(path), shard);
        if (!(await head(shardPath, files)))
          throw new Tf2TorchError(ErrorCode.MISSING_SHARD, `${path}: shard ${shard} is missing`, { file: shardPath });
        const isSafetensors = await SAFETENSORS_OPENER.detect(shardPath, options);
        sources.push(
          isSafetensors
            ? await openSafetensors(shardPath, { files })
            : await openTorchFile(shardPath, { verify: options.verify ?? true, files }),
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

async function hfWeightsIn(dir: string, files: FileTree): Promise<string | undefined> {
  try {
    if (!isDirectory(files, dir)) return undefined;
    const names = new Set(files.list(dir));
    // A TensorFlow checkpoint folder that also holds converted weights is the checkpoint, not the output.
    if (names.has('checkpoint') || [...names].some((n) => n.endsWith('.index'))) return undefined;
    const found = HF_WEIGHT_FILES.find((n) => names.has(n));
    return found === undefined ? undefined : files.paths.join(dir, found);
  } catch {
    return undefined;
  }
}

/** A Hugging Face model folder (what `convert` writes): its weights, as from_pretrained would pick them. */
export const HF_FOLDER_OPENER: TensorSourceOpener = {
  format: 'hf-folder',
  detect: async (path, options) => (await hfWeightsIn(path, filesOf(options))) !== undefined,
  async open(path, options) {
    const weights = (await hfWeightsIn(path, filesOf(options))) as string;
    for (const opener of [SHARDED_INDEX_OPENER, SAFETENSORS_OPENER, TORCH_FILE_OPENER]) {
      if (await opener.detect(weights, options)) return opener.open(weights, options);
    }
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${weights}: not a weights file tf2torch can read`, { file: weights });
  },
};
