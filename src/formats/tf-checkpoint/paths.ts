/**
 * What users type as a "checkpoint" and what it resolves to. A V2 bundle is named by its prefix P:
 *
 *   P.index                      the table of entries (bundle.ts)
 *   P.data-00000-of-00002 …      tensor bytes, one file per shard
 *   P.meta                       the graph (never needed)
 *   checkpoint                   text proto naming the latest P, often with a stale absolute path
 *
 * A V1 checkpoint is one table file with no `.index` (e.g. `export`, `model.ckpt-1000`). A SavedModel
 * folder (`saved_model.pb` + `variables/variables.index`) is the bundle `variables/variables`.
 */
import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { FileTree } from '../../io/byte-source.js';
import { FOOTER_BYTES, TABLE_MAGIC_HI, TABLE_MAGIC_LO } from './sstable.js';

export type ResolvedCheckpoint =
  | {
      kind: 'v2';
      prefix: string;
      /** How it was found, when not named directly. */
      note?: string;
      /** A SavedModel folder's binary graph file (its variable names), when the bundle is its variables/. */
      savedModelGraph?: string;
    }
  | { kind: 'v1'; file: string };

/** A SavedModel's graph file names; its variables are the bundle `variables/variables` beside it. */
const SAVED_MODEL_GRAPHS = ['saved_model.pb', 'saved_model.pbtxt'];

/** The `checkpoint` state file is a few lines of text; anything bigger is not one. */
const MAX_STATE_FILE_BYTES = 1024 * 1024;

const SUFFIX = /\.(index|meta|data-\d{5}-of-\d{5})$/;

export function dataShardPath(prefix: string, shard: number, numShards: number): string {
  return `${prefix}.data-${String(shard).padStart(5, '0')}-of-${String(numShards).padStart(5, '0')}`;
}

function kindOf(files: FileTree, path: string): 'file' | 'dir' | undefined {
  const kind = files.stat(path)?.kind;
  return kind === 'directory' ? 'dir' : kind === 'file' ? 'file' : undefined;
}

/** True when the file ends with the table magic: a V1 checkpoint (or an `.index`). */
export async function hasTableMagic(path: string, files: FileTree = defaultFiles): Promise<boolean> {
  let source;
  try {
    source = await files.open(path);
    if (source.size < FOOTER_BYTES) return false;
    const tail = await source.readAt(source.size - 8, 8, 'table magic');
    const view = new DataView(tail.buffer, tail.byteOffset, 8);
    return view.getUint32(0, true) === TABLE_MAGIC_LO && view.getUint32(4, true) === TABLE_MAGIC_HI;
  } catch {
    return false;
  } finally {
    await source?.close();
  }
}

/** `model_checkpoint_path: "…"` from a directory's `checkpoint` file, if any. */
function statePath(files: FileTree, dir: string): string | undefined {
  const file = files.paths.join(dir, 'checkpoint');
  if (kindOf(files, file) !== 'file' || (files.stat(file)?.size ?? 0) > MAX_STATE_FILE_BYTES) return undefined;
  const m = /^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"/m.exec(files.readText(file));
  return m?.[1];
}

/** A prefix or V1 file name → its resolution, or undefined when nothing is there. */
async function resolvePrefix(files: FileTree, p: string): Promise<ResolvedCheckpoint | undefined> {
  const stripped = p.replace(SUFFIX, '');
  if (kindOf(files, `${stripped}.index`) === 'file') return { kind: 'v2', prefix: stripped };
  if (kindOf(files, p) === 'file' && (await hasTableMagic(p, files))) return { kind: 'v1', file: p };
  return undefined;
}

/** A SavedModel folder's variables bundle, when `dir` is one. */
function savedModelBundle(files: FileTree, dir: string): ResolvedCheckpoint | undefined {
  const { join } = files.paths;
  const prefix = join(dir, 'variables', 'variables');
  if (!SAVED_MODEL_GRAPHS.some((g) => kindOf(files, join(dir, g)) === 'file')) return undefined;
  if (kindOf(files, `${prefix}.index`) !== 'file') return undefined;
  const graph = join(dir, SAVED_MODEL_GRAPHS[0]!);
  return {
    kind: 'v2',
    prefix,
    note: `a TF SavedModel folder: converting its variables/ bundle (${prefix})`,
    ...(kindOf(files, graph) === 'file' ? { savedModelGraph: graph } : {}),
  };
}

async function resolveDirectory(files: FileTree, dir: string): Promise<ResolvedCheckpoint> {
  const { basename, isAbsolute, join } = files.paths;
  const savedModel = savedModelBundle(files, dir);
  if (savedModel) return savedModel;
  const named = statePath(files, dir);
  if (named !== undefined) {
    // Paths in `checkpoint` are often absolute paths of the machine that trained: try as written, then here.
    const tries = isAbsolute(named)
      ? [named, join(dir, basename(named))]
      : [join(dir, named), join(dir, basename(named))];
    for (const t of tries) {
      const found = await resolvePrefix(files, t);
      if (found) return found;
    }
  }
  const names = files.list(dir).sort();
  const prefixes = names.filter((n) => n.endsWith('.index')).map((n) => join(dir, n.slice(0, -'.index'.length)));
  if (prefixes.length === 1) return { kind: 'v2', prefix: prefixes[0]! };
  const stale = named === undefined ? '' : ` (its 'checkpoint' file names "${named}", which is not there)`;
  if (prefixes.length > 1) {
    throw new Tf2TorchError(
      ErrorCode.AMBIGUOUS_PATH,
      `${dir}: several checkpoints here${stale}; pass one of:\n${prefixes.map((p) => `  ${p}`).join('\n')}`,
      { file: dir },
    );
  }
  throw new Tf2TorchError(ErrorCode.NOT_FOUND, `${dir}: no TensorFlow checkpoint (no *.index file)${stale}`, {
    file: dir,
  });
}

/** Resolves a prefix, `.index`, `.data-*`, `.meta`, V1 file, or directory to the checkpoint it names. */
export async function resolveCheckpointPath(path: string, files: FileTree = defaultFiles): Promise<ResolvedCheckpoint> {
  const { basename, dirname } = files.paths;
  const full = files.paths.resolve(path);
  if (kindOf(files, full) === 'dir') return resolveDirectory(files, full);
  if (SAVED_MODEL_GRAPHS.includes(basename(full))) {
    const savedModel = savedModelBundle(files, dirname(full));
    if (savedModel) return savedModel;
  }
  const found = await resolvePrefix(files, full);
  if (found) return found;
  const stripped = full.replace(SUFFIX, '');
  let hint = '';
  if (kindOf(files, dirname(stripped)) === 'dir') {
    const near = files
      .list(dirname(stripped))
      .sort()
      .filter((n) => n.endsWith('.index'))
      .slice(0, 10);
    if (near.length > 0)
      hint = `; checkpoints in that folder: ${near.map((n) => n.slice(0, -'.index'.length)).join(', ')}`;
  }
  throw new Tf2TorchError(
    ErrorCode.NOT_FOUND,
    `${path}: no TensorFlow checkpoint there (no ${basename(stripped)}.index)${hint}`,
    {
      file: path,
    },
  );
}

/** Cheap check for the opener registry: does this path look like it names a TF checkpoint? */
export async function looksLikeTfCheckpoint(path: string, files: FileTree = defaultFiles): Promise<boolean> {
  const full = files.paths.resolve(path);
  if (kindOf(files, full) === 'dir') {
    const names = files.list(full);
    return names.includes('checkpoint') || names.some((n) => n.endsWith('.index')) || !!savedModelBundle(files, full);
  }
  if (SAVED_MODEL_GRAPHS.includes(files.paths.basename(full)) && savedModelBundle(files, files.paths.dirname(full)))
    return true;
  return (await resolvePrefix(files, full)) !== undefined;
}
