/**
 * What every writer consumes: an ordered state dict. An entry is either a tensor, or an alias of an
 * earlier entry (tied weights: one storage under several keys, as `torch.save` writes them; the
 * safetensors writer keeps only the first name).
 */
import type { TensorRef } from '../tensor.js';

/**
 * A tensor's elements as a strided view over another tensor's elements (same dtype, same count), as
 * torch stores a transposed view: the storage keeps the source's order, the strides say how to read it.
 * transformers' TF converters save kernels this way (`torch.from_numpy(np.transpose(array))`).
 */
export interface StridedStorage {
  /** The storage's elements, in their own (row-major) order. */
  readonly storage: TensorRef;
  /** Per axis of the tensor's shape, the step in storage elements. */
  readonly strides: readonly number[];
}

export type StateDictEntry =
  | {
      readonly key: string;
      /** The tensor's elements in row-major order (what every writer can write). */
      readonly tensor: TensorRef;
      /** The same elements as a view of a storage, for writers that record strides (torch). */
      readonly strided?: StridedStorage;
    }
  | { readonly key: string; readonly aliasOf: string };

export function isAlias(e: StateDictEntry): e is { key: string; aliasOf: string } {
  return 'aliasOf' in e;
}

/** Called as bytes are written, for progress bars. */
export type ProgressCallback = (bytesWritten: number) => void;
