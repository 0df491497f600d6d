/**
 * Hugging Face weight files, sharded like `save_pretrained`: shards filled greedily in state-dict
 * order up to a maximum size (a tensor larger than that gets a shard of its own), named
 * `model-00001-of-00003.safetensors` / `pytorch_model-00001-of-00003.bin`, plus an index
 * `{"metadata": {"total_size": n}, "weight_map": {name: shard}}` in `json.dumps(indent=2,
 * sort_keys=True) + "\n"` form. One shard keeps the plain name (model.safetensors, pytorch_model.bin).
 * Tied aliases stay in their source's shard (torch) or are written once (safetensors).
 */
import { defaultOutputs } from '#platform';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { type OutputTree, writeTextFile } from '../io/byte-sink.js';
import { pythonJsonDumps } from '../io/python-json.js';
import { writeSafetensorsFile } from './safetensors/write.js';
import type { ProgressCallback, StateDictEntry } from './state-dict.js';
import { resolveStateDict, writeTorchFile } from './torch/write.js';

/** transformers >= 4.35 `max_shard_size` default, "5GB" (decimal units, as transformers counts). */
export const DEFAULT_MAX_SHARD_SIZE = 5_000_000_000;

/** Unit → bytes (a Map: a unit the user types such as `constructor` finds nothing). */
const UNITS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    b: 1,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    tb: 1e12,
    kib: 2 ** 10,
    mib: 2 ** 20,
    gib: 2 ** 30,
    tib: 2 ** 40,
  }),
);

/** "5GB" → 5e9, "500MB" → 5e8, "2GiB" → 2^31, "123" → 123 (case-insensitive, decimals allowed). */
export function parseShardSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS.get((match?.[2] || 'b').toLowerCase());
  const value = match && unit ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      `invalid shard size '${text}': expected a positive number of bytes, optionally with a unit (KB, MB, GB, KiB, MiB, GiB), e.g. 5GB`,
    );
  }
  return value;
}

export const WEIGHT_FILES = {
  safetensors: {
    single: 'model.safetensors',
    prefix: 'model',
    ext: 'safetensors',
    index: 'model.safetensors.index.json',
  },
  pytorch: { single: 'pytorch_model.bin', prefix: 'pytorch_model', ext: 'bin', index: 'pytorch_model.bin.index.json' },
} as const;

const SHARD_NAMES = Object.values(WEIGHT_FILES).map((f) => new RegExp(`^${f.prefix}-\\d{5}-of-\\d{5}\\.${f.ext}$`));
const WEIGHT_NAMES = new Set<string>(Object.values(WEIGHT_FILES).flatMap((f) => [f.single, f.index]));

/**
 * The weight files of a Hugging Face folder, in either format: `model.safetensors`,
 * `model-00001-of-00003.safetensors`, `model.safetensors.index.json`, `pytorch_model.bin`,
 * `pytorch_model-00001-of-00003.bin`, `pytorch_model.bin.index.json`. A folder holds one model, so when
 * --force replaces it, those of them not written again are stale and removed.
 */
export function isWeightFileName(name: string): boolean {
  return WEIGHT_NAMES.has(name) || SHARD_NAMES.some((r) => r.test(name));
}

export function shardName(format: 'safetensors' | 'pytorch', index: number, count: number): string {
  const f = WEIGHT_FILES[format];
  if (count === 1) return f.single;
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${f.prefix}-${pad(index + 1)}-of-${pad(count)}.${f.ext}`;
}

/** Storage indices per shard, greedy in order, as huggingface_hub's split_torch_state_dict_into_shards. */
export function planShards(sizes: readonly number[], maxShardSize: number): number[][] {
  const shards: number[][] = [];
  let current: number[] = [];
  let currentSize = 0;
  sizes.forEach((size, index) => {
    if (size > maxShardSize) {
      shards.push([index]);
      return;
    }
    if (currentSize + size > maxShardSize) {
      shards.push(current);
      current = [];
      currentSize = 0;
    }
    current.push(index);
    currentSize += size;
  });
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

export interface WriteWeightsOptions {
  format: 'safetensors' | 'pytorch';
  maxShardSize?: number;
  /** Pickle container of `.bin` files (default OrderedDict, as state_dict() is). */
  container?: 'OrderedDict' | 'dict';
  /** Called with the cumulative count of tensor bytes written, over all shards. */
  onProgress?: ProgressCallback;
  /** Where the files are created (default: the platform's file system, each atomically). */
  outputs?: OutputTree;
}

/** Writes the weights into `dir`; returns the file names written (index last, when sharded). */
export async function writeWeights(
  dir: string,
  entries: readonly StateDictEntry[],
  options: WriteWeightsOptions,
): Promise<string[]> {
  const outputs = options.outputs ?? defaultOutputs;
  const join = (name: string) => outputs.paths.join(dir, name);
  const { storages, strided, keys } = resolveStateDict(entries, dir);
  const maxShardSize = options.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE;
  const shards = planShards(
    storages.map((t) => t.byteLength),
    maxShardSize,
  );
  const shardOf = new Map<number, number>();
  for (const [shard, members] of shards.entries()) for (const s of members) shardOf.set(s, shard);
  const names = shards.map((_, i) => shardName(options.format, i, shards.length));

  const written: string[] = [];
  const weightMap: Record<string, string> = Object.create(null); // tensor names: `__proto__` is one like any other
  let before = 0;
  try {
    for (const [shard, name] of names.entries()) {
      const firstKey = new Map<number, string>();
      const shardEntries: StateDictEntry[] = [];
      for (const { key, storage } of keys) {
        if (shardOf.get(storage) !== shard) continue;
        const first = firstKey.get(storage);
        if (first === undefined) {
          firstKey.set(storage, key);
          const view = strided[storage];
          shardEntries.push({ key, tensor: storages[storage]!, ...(view === undefined ? {} : { strided: view }) });
        } else if (options.format === 'pytorch') {
          shardEntries.push({ key, aliasOf: first });
        } else {
          continue; // safetensors: the first name keeps the bytes, later names are dropped
        }
        weightMap[key] = name;
      }
      const base = before;
      const onProgress = options.onProgress && ((n: number) => options.onProgress!(base + n));
      const path = join(name);
      if (options.format === 'safetensors') await writeSafetensorsFile(path, shardEntries, { onProgress, outputs });
      else
        await writeTorchFile(path, shardEntries, {
          onProgress,
          outputs,
          ...(options.container ? { container: options.container } : {}),
        });
      written.push(name);
      before += shards[shard]!.reduce((sum, s) => sum + storages[s]!.byteLength, 0);
    }
    if (shards.length > 1) {
      const index = WEIGHT_FILES[options.format].index;
      const totalSize = storages.reduce((sum, t) => sum + t.byteLength, 0);
      const text = `${pythonJsonDumps({ metadata: { total_size: totalSize }, weight_map: weightMap }, 2, true)}\n`;
      await writeTextFile(outputs, join(index), text);
      written.push(index);
    }
  } catch (error) {
    // Never leave a partial set of shards: remove what this call wrote.
    await Promise.all(written.map((name) => outputs.remove(join(name))));
    throw error;
  }
  return written;
}
