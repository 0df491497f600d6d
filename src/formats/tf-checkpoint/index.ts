/**
 * TensorFlow checkpoints: the public entry points of this folder. `openTfCheckpoint(path)` accepts what
 * users type (prefix, .index, .data-*, .meta, V1 file, directory) and returns a TfCheckpoint.
 */
import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { OpenOptions, TensorSourceOpener } from '../source.js';
import { openBundle } from './bundle.js';
import type { TfCheckpoint } from './checkpoint.js';
import { readObjectGraph } from './object-graph.js';
import { looksLikeTfCheckpoint, resolveCheckpointPath } from './paths.js';
import { MAX_SAVED_MODEL_BYTES, parseSavedModelGraph, savedVariableNames } from './saved-object-graph.js';
import { openV1 } from './v1.js';

export type { OpenOptions } from '../source.js';
export { isObjectBased, TfCheckpoint } from './checkpoint.js';
export { dataShardPath, type ResolvedCheckpoint, resolveCheckpointPath } from './paths.js';
export { roleOf } from './roles.js';

export async function openTfCheckpoint(path: string, options: OpenOptions = {}): Promise<TfCheckpoint> {
  const resolved = await resolveCheckpointPath(path, options.files);
  if (resolved.kind === 'v1') return openV1(resolved.file, options);
  const bundle = await openBundle(resolved.prefix, options);
  const noted = resolved.note === undefined ? bundle : bundle.withNote(resolved.note);
  if (resolved.savedModelGraph === undefined || !bundle.objectBased) return noted;
  try {
    return await withSavedVariables(noted, resolved.savedModelGraph, options);
  } catch (error) {
    await bundle.close();
    throw error;
  }
}

/** A TF2 SavedModel's bundle with its `.variables` names from saved_model.pb (when the graph keeps that list). */
async function withSavedVariables(
  bundle: TfCheckpoint,
  graphPath: string,
  options: OpenOptions,
): Promise<TfCheckpoint> {
  const files = options.files ?? defaultFiles;
  const source = await files.open(graphPath);
  let bytes: Uint8Array;
  try {
    if (source.size > MAX_SAVED_MODEL_BYTES)
      throw new Tf2TorchError(
        ErrorCode.LIMIT,
        `${graphPath}: ${source.size} bytes (at most ${MAX_SAVED_MODEL_BYTES} of a SavedModel's graph are read)`,
        { file: graphPath },
      );
    bytes = await source.readAt(0, source.size, 'SavedModel graph');
  } finally {
    await source.close();
  }
  const saved = parseSavedModelGraph(bytes, graphPath, graphPath);
  if (saved === undefined) return bundle;
  const checkpoint = await readObjectGraph(bundle);
  if (checkpoint.from !== 'proto') return bundle;
  const names = savedVariableNames(saved, checkpoint.graph, graphPath, graphPath);
  return names === undefined ? bundle : bundle.withSavedVariables(names);
}

/** Registered last in OPENERS: a TF prefix is recognised by the files next to it, not by magic bytes. */
export const TF_CHECKPOINT_OPENER: TensorSourceOpener = {
  format: 'tf-checkpoint',
  detect: (path, options) => looksLikeTfCheckpoint(path, options?.files),
  open: openTfCheckpoint,
};
