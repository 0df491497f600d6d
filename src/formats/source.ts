/**
 * What every input format produces and how a format is opened: the `TensorSource` interface and the
 * `TensorSourceOpener` a format registers. Openers import these from here; only `open.ts`, the
 * registry, imports the openers.
 */
import type { FileTree } from '../io/byte-source.js';
import type { TensorRef } from '../tensor.js';

/** What a variable is for; optimizer state and bookkeeping are never converted. */
export type TensorRole = 'weight' | 'optimizer' | 'bookkeeping' | 'metadata';

export interface TensorSource {
  /** The path as resolved (a checkpoint prefix, a file). */
  readonly path: string;
  /** e.g. 'tf-bundle-v2', 'tf-v1', 'torch-zip', 'torch-legacy', 'safetensors', 'openai-npy'. */
  readonly format: string;
  /** All tensors, in the order the format lists them (TF: sorted by name). */
  readonly tensors: readonly TensorRef[];
  /** Facts worth telling the user ("TF2 object-based checkpoint", "shard 1 of 2 is missing"). */
  readonly notes: readonly string[];
  roleOf(name: string): TensorRole;
  close(): Promise<void>;
  /**
   * A TF2 SavedModel's variables as `tf.saved_model.load(path).variables` lists them (order, `var.name`),
   * each with the name of its tensor here; absent for every other source.
   */
  readonly savedVariables?: readonly SavedVariableName[];
}

/** One of a SavedModel's `.variables`: the tensor holding it (`key`) and its `var.name` once loaded (`…:0`). */
export interface SavedVariableName {
  readonly key: string;
  readonly name: string;
}

export interface OpenOptions {
  /** Verify checksums while reading (default true). */
  readonly verify?: boolean;
  /** Where paths are looked up and read (default: the platform's file system, `#platform`). */
  readonly files?: FileTree;
}

export interface TensorSourceOpener {
  readonly format: string;
  /** Cheap check (extension, magic bytes) whether this opener handles `path`. */
  detect(path: string, options?: OpenOptions): Promise<boolean>;
  open(path: string, options: OpenOptions): Promise<TensorSource>;
}
