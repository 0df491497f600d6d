/**
 * Large synthetic checkpoints for the benchmarks: seeded values from a 16 MiB random pool read at a
 * per-tensor offset (writing gigabytes must not take minutes), written once and kept between runs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dataShardPath } from '../src/formats/tf-checkpoint/paths.js';
import { DTYPES, type DType, numElements } from '../src/tensor.js';
import { seededRandom } from '../test/support/random.js';
import { type StreamedTensor, writeBundleStreaming } from '../test/support/tf-bundle-writer.js';

export interface ListedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: number[];
}

const bytesOf = (t: ListedTensor) => numElements(t.shape) * DTYPES[t.dtype].itemSize;

async function synthesize(prefix: string, listing: readonly ListedTensor[], seed: number, shards: number) {
  const random = seededRandom(seed);
  const pool = Uint8Array.from({ length: 16 << 20 }, () => Math.floor(random() * 256));
  const chunk = 8 << 20;
  const tensors: StreamedTensor[] = listing.map((t, index) => ({
    ...t,
    byteLength: bytesOf(t),
    *chunks() {
      const total = bytesOf(t);
      const start = (index * 4099 * 2) % chunk;
      for (let at = 0; at < total; at += chunk) yield pool.subarray(start, start + Math.min(chunk, total - at));
    },
  }));
  await writeBundleStreaming(prefix, tensors, { shards });
}

/**
 * The checkpoint `prefix` of `listing` in `shards` data files, synthesized unless its files are there
 * with the expected size; returns the data shards' paths.
 */
export async function pooledCheckpoint(
  prefix: string,
  listing: readonly ListedTensor[],
  options: { seed: number; shards: number; label: string; log: (line: string) => void },
): Promise<string[]> {
  const expected = listing.reduce((s, t) => s + bytesOf(t), 0);
  const shardPaths = Array.from({ length: options.shards }, (_, s) => dataShardPath(prefix, s, options.shards));
  const present = shardPaths.every(existsSync) && existsSync(`${prefix}.index`);
  if (!present || shardPaths.reduce((s, p) => s + statSync(p).size, 0) !== expected) {
    const params = listing.reduce((s, t) => s + numElements(t.shape), 0);
    options.log(
      `${options.label}: synthesizing ${(params / 1e9).toFixed(2)} B parameters (${(expected / 1e9).toFixed(1)} GB) …`,
    );
    await synthesize(prefix, listing, options.seed, options.shards);
  }
  return shardPaths;
}

/** The weight files a conversion wrote: the `.bin`, or a folder's safetensors shards in order. */
export function outputFiles(out: string): string[] {
  if (out.endsWith('.bin')) return [out];
  return readdirSync(out)
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((f) => join(out, f));
}
