/**
 * What every writer consumes: an ordered state dict. An entry is either a tensor, or an alias of an
 * earlier entry (tied weights: one storage under several keys, as `torch.save` writes them; the
 * safetensors writer keeps only the first name).
 */
import type { TensorRef } from '../tensor.js';

export type StateDictEntry =
  | { readonly key: string; readonly tensor: TensorRef }
  | { readonly key: string; readonly aliasOf: string };

export function isAlias(e: StateDictEntry): e is { key: string; aliasOf: string } {
  return 'aliasOf' in e;
}

/** Called as bytes are written, for progress bars. */
export type ProgressCallback = (bytesWritten: number) => void;
