/**
 * The checkpoints the architecture tests write, recovered from their reviewed golden plans (test/golden/*.plan.txt):
 * every `<- name [shape] dtype` source line is a variable of that checkpoint. Written as a TF bundle with seeded
 * values, it is a checkpoint of that model type converted by the same plan (trainer state, which the plan only
 * skips, left out). The header names the model type and class.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType } from '../../src/tensor.js';
import { seededRandom } from './random.js';
import { type BundleTensor, randomTensorBytes, writeBundle } from './tf-bundle-writer.js';

export const GOLDEN_DIR = join(process.cwd(), 'test', 'golden');

export interface GoldenListing {
  readonly modelType: string;
  readonly modelClass: string;
  readonly variables: readonly { name: string; shape: number[]; dtype: DType }[];
}

export function goldenListing(file: string): GoldenListing {
  const text = readFileSync(join(GOLDEN_DIR, file), 'utf8');
  const header = /^model_type: (\S+) \((\w+)\)$/m.exec(text);
  if (!header) throw new Error(`${file}: no model_type line`);
  const variables = new Map<string, { name: string; shape: number[]; dtype: DType }>();
  for (const m of text.matchAll(/^ +<- (\S+) \[([\d, ]*)\] (\w+)/gm)) {
    const [, name, dims, dtype] = m as unknown as [string, string, string, DType];
    variables.set(name, { name, dtype, shape: dims === '' ? [] : dims.split(', ').map(Number) });
  }
  return { modelType: header[1] as string, modelClass: header[2] as string, variables: [...variables.values()] };
}

/** The listing's variables as a bundle at `prefix`, seeded values; returns the listing. */
export async function writeGoldenCheckpoint(file: string, prefix: string, seed = 1): Promise<GoldenListing> {
  const listing = goldenListing(file);
  const random = seededRandom(seed);
  const tensors: BundleTensor[] = listing.variables.map((v) => ({
    ...v,
    bytes: randomTensorBytes(
      v.dtype,
      v.shape.reduce((a, b) => a * b, 1),
      random,
    ),
  }));
  await writeBundle(prefix, tensors);
  return listing;
}
