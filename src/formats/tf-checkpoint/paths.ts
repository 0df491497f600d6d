/**
 * What users type as a "checkpoint" and what it resolves to. A V2 bundle is named by its prefix P:
 *
 *   P.index                      the table of entries (bundle.ts)
 *   P.data-00000-of-00002 …      tensor bytes, one file per shard
 *   P.meta                       the graph (never needed)
 *   checkpoint                   text proto naming the latest P, often with a stale absolute path
 *
 * A V1 checkpoint is one table file with no `.index` (e.g. `export`, `model.ckpt-1000`).
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { FOOTER_BYTES, TABLE_MAGIC_HI, TABLE_MAGIC_LO } from './sstable.js';

export type ResolvedCheckpoint = { kind: 'v2'; prefix: string } | { kind: 'v1'; file: string };

/** The `checkpoint` state file is a few lines of text; anything bigger is not one. */
const MAX_STATE_FILE_BYTES = 1024 * 1024;

const SUFFIX = /\.(index|meta|data-\d{5}-of-\d{5})$/;

export function dataShardPath(prefix: string, shard: number, numShards: number): string {
  return `${prefix}.data-${String(shard).padStart(5, '0')}-of-${String(numShards).padStart(5, '0')}`;
}

async function kindOf(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/** True when the file ends with the table magic: a V1 checkpoint (or an `.index`). */
export async function hasTableMagic(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    if (size < FOOTER_BYTES) return false;
    const tail = Buffer.alloc(8);
    await handle.read(tail, 0, 8, size - 8);
    return tail.readUInt32LE(0) === TABLE_MAGIC_LO && tail.readUInt32LE(4) === TABLE_MAGIC_HI;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

/** `model_checkpoint_path: "…"` from a directory's `checkpoint` file, if any. */
async function statePath(dir: string): Promise<string | undefined> {
  const file = join(dir, 'checkpoint');
  if ((await kindOf(file)) !== 'file' || (await stat(file)).size > MAX_STATE_FILE_BYTES) return undefined;
  const m = /^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"/m.exec(await readFile(file, 'utf8'));
  return m?.[1];
}

/** A prefix or V1 file name → its resolution, or undefined when nothing is there. */
async function resolvePrefix(p: string): Promise<ResolvedCheckpoint | undefined> {
  const stripped = p.replace(SUFFIX, '');
  if ((await kindOf(`${stripped}.index`)) === 'file') return { kind: 'v2', prefix: stripped };
  if ((await kindOf(p)) === 'file' && (await hasTableMagic(p))) return { kind: 'v1', file: p };
  return undefined;
}

async function resolveDirectory(dir: string): Promise<ResolvedCheckpoint> {
  const named = await statePath(dir);
  if (named !== undefined) {
    // Paths in `checkpoint` are often absolute paths of the machine that trained: try as written, then here.
    const tries = isAbsolute(named)
      ? [named, join(dir, basename(named))]
      : [join(dir, named), join(dir, basename(named))];
    for (const t of tries) {
      const found = await resolvePrefix(t);
      if (found) return found;
    }
  }
  const names = (await readdir(dir)).sort();
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
export async function resolveCheckpointPath(path: string): Promise<ResolvedCheckpoint> {
  const full = resolve(path);
  if ((await kindOf(full)) === 'dir') return resolveDirectory(full);
  const found = await resolvePrefix(full);
  if (found) return found;
  const stripped = full.replace(SUFFIX, '');
  let hint = '';
  if ((await kindOf(dirname(stripped))) === 'dir') {
    const near = (await readdir(dirname(stripped))).filter((n) => n.endsWith('.index')).slice(0, 10);
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
export async function looksLikeTfCheckpoint(path: string): Promise<boolean> {
  const full = resolve(path);
  if ((await kindOf(full)) === 'dir') {
    const names = await readdir(full);
    return names.includes('checkpoint') || names.some((n) => n.endsWith('.index'));
  }
  return (await resolvePrefix(full)) !== undefined;
}
