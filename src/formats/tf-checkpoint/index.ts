/**
 * TensorFlow checkpoints: the public entry points of this folder. `openTfCheckpoint(path)` accepts what
 * users type (prefix, .index, .data-*, .meta, V1 file, directory) and returns a TfCheckpoint.
 */
import type { OpenOptions, TensorSourceOpener } from '../source.js';
import { openBundle } from './bundle.js';
import type { TfCheckpoint } from './checkpoint.js';
import { looksLikeTfCheckpoint, resolveCheckpointPath } from './paths.js';
import { openV1 } from './v1.js';

export type { OpenOptions } from '../source.js';
export { isObjectBased, TfCheckpoint } from './checkpoint.js';
export { dataShardPath, type ResolvedCheckpoint, resolveCheckpointPath } from './paths.js';
export { roleOf } from './roles.js';

export async function openTfCheckpoint(path: string, options: OpenOptions = {}): Promise<TfCheckpoint> {
  const resolved = await resolveCheckpointPath(path, options.files);
  if (resolved.kind === 'v1') return openV1(resolved.file, options);
  const bundle = await openBundle(resolved.prefix, options);
  return resolved.note === undefined ? bundle : bundle.withNote(resolved.note);
}

/** Registered last in OPENERS: a TF prefix is recognised by the files next to it, not by magic bytes. */
export const TF_CHECKPOINT_OPENER: TensorSourceOpener = {
  format: 'tf-checkpoint',
  detect: (path, options) => looksLikeTfCheckpoint(path, options?.files),
  open: openTfCheckpoint,
};
