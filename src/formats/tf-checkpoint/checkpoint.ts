/**
 * TfCheckpoint: a TensorSource over a TensorFlow checkpoint (V2 bundle or V1 table). Created only by
 * the async factories in bundle.ts / v1.ts, fully validated; owns the data files it opens lazily.
 */

import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import type { TensorRef } from '../../tensor.js';
import type { SavedVariableName, TensorRole, TensorSource } from '../source.js';
import { roleOf } from './roles.js';

export class TfCheckpoint implements TensorSource {
  private readonly byName: Map<string, TensorRef>;

  constructor(
    readonly path: string,
    readonly format: 'tf-bundle-v2' | 'tf-v1',
    /** The prefix (V2) or the file (V1). */
    readonly prefix: string,
    readonly tensors: readonly TensorRef[],
    readonly notes: readonly string[],
    /** True for TF2 `tf.train.Checkpoint` files (object paths, `_CHECKPOINTABLE_OBJECT_GRAPH`). */
    readonly objectBased: boolean,
    private readonly openFiles: () => Iterable<ByteSource>,
    readonly savedVariables?: readonly SavedVariableName[],
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** The same checkpoint, with a note first of how it was found (a SavedModel's variables/). */
  withNote(note: string): TfCheckpoint {
    const notes = [note, ...this.notes];
    return new TfCheckpoint(
      this.path,
      this.format,
      this.prefix,
      this.tensors,
      notes,
      this.objectBased,
      this.openFiles,
      this.savedVariables,
    );
  }

  /** The same checkpoint, with its SavedModel's variables in `.variables` order (saved-object-graph.ts). */
  withSavedVariables(savedVariables: readonly SavedVariableName[]): TfCheckpoint {
    const { path, format, prefix, tensors, notes, objectBased, openFiles } = this;
    return new TfCheckpoint(path, format, prefix, tensors, notes, objectBased, openFiles, savedVariables);
  }

  roleOf(name: string): TensorRole {
    return roleOf(name);
  }

  /** One tensor by name, or E_TENSOR_NOT_FOUND. */
  tensor(name: string): TensorRef {
    const t = this.byName.get(name);
    if (t === undefined) {
      throw new Tf2TorchError(
        ErrorCode.TENSOR_NOT_FOUND,
        `${this.path}: no tensor named '${name}' (${this.tensors.length} tensors; see \`tf2torch inspect\`)`,
        {
          file: this.path,
          tensor: name,
        },
      );
    }
    return t;
  }

  async close(): Promise<void> {
    for (const f of this.openFiles()) await f.close();
  }
}

/** TF2 object-based checkpoints are recognised by their object graph or attribute paths. */
export function isObjectBased(names: readonly string[]): boolean {
  return names.some((n) => n === '_CHECKPOINTABLE_OBJECT_GRAPH' || n.includes('/.ATTRIBUTES/'));
}
