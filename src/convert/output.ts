/**
 * Where a conversion goes. The output path decides the kind: `*.bin` (also .pt/.pth) → one torch file,
 * `*.safetensors` → one safetensors file, a directory (existing, trailing `/`, or no extension) → a
 * Hugging Face folder. Folders are built in a temporary sibling and renamed into place at the end.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { trackTemporary, untrackTemporary } from '../io/atomic.js';

export type OutputKind = 'torch-file' | 'safetensors-file' | 'folder';
export type WeightFormat = 'safetensors' | 'pytorch' | 'both';

const TORCH_EXTENSIONS = new Set(['.bin', '.pt', '.pth']);

export function outputKindOf(path: string): OutputKind {
  if (path.endsWith('/') || path.endsWith('\\')) return 'folder';
  if (existsSync(path) && statSync(path).isDirectory()) return 'folder';
  const ext = extname(path).toLowerCase();
  if (ext === '') return 'folder';
  if (TORCH_EXTENSIONS.has(ext)) return 'torch-file';
  if (ext === '.safetensors') return 'safetensors-file';
  throw new Tf2TorchError(
    ErrorCode.USAGE,
    `--pytorch_dump_output ${path}: cannot tell what to write from '${ext}' (use a .bin or .safetensors file, or a folder: end the path with '/')`,
    { file: path },
  );
}

/** Refuses to overwrite an existing output without --force (an empty existing folder is fine). */
export function checkOverwrite(path: string, kind: OutputKind, force: boolean): void {
  if (force || !existsSync(path)) return;
  const isDir = statSync(path).isDirectory();
  if (kind === 'folder' && isDir && readdirSync(path).length === 0) return;
  if (kind !== 'folder' && isDir) {
    throw new Tf2TorchError(
      ErrorCode.OUTPUT_EXISTS,
      `${path} is a directory; end the path with '/' to write a Hugging Face folder into it`,
      { file: path },
    );
  }
  throw new Tf2TorchError(ErrorCode.OUTPUT_EXISTS, `${path} already exists (use --force to overwrite it)`, {
    file: path,
  });
}

/** A path as the user can reuse it in messages: relative when under the working directory, absolute otherwise. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, resolve(cwd, path));
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? resolve(cwd, path) : rel;
}

/** The real absolute path, symlinks resolved, also for a path that does not exist yet (its nearest existing parent). */
function canonical(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(canonical(parent), basename(absolute));
}

/**
 * Refuses an output that would replace what is being read, even with --force: a folder output is
 * swapped in whole, so onto the checkpoint's own folder (or a parent of it) it would delete the
 * checkpoint; a file output onto the checkpoint file would replace it. `inputs` are the checkpoint
 * path as given or resolved, and the folder holding it.
 */
export function checkNotOverInput(output: string, kind: OutputKind, inputs: readonly string[]): void {
  const target = canonical(output.replace(/[/\\]+$/, '') || output);
  for (const input of inputs.map(canonical)) {
    const inside = input === target || input.startsWith(target.endsWith(sep) ? target : target + sep);
    if (kind === 'folder' && inside) {
      throw new Tf2TorchError(
        ErrorCode.OUTPUT_EXISTS,
        `--pytorch_dump_output ${output} holds the checkpoint being converted: a folder output replaces the folder whole, so the checkpoint would be lost (--force does not change that); write to another folder (e.g. ${basename(target)}-hf/) or to a file inside it (${join(output, 'pytorch_model.bin')})`,
        { file: output },
      );
    }
    if (kind !== 'folder' && input === target) {
      throw new Tf2TorchError(
        ErrorCode.OUTPUT_EXISTS,
        `--pytorch_dump_output ${output} is the checkpoint being converted: choose another file name`,
        { file: output },
      );
    }
  }
}

/**
 * Runs `build(tmpDir)` in a fresh sibling folder of `finalDir`, then swaps it into place. On failure
 * the temporary folder is removed and any previous output stays untouched.
 */
export async function buildFolderAtomically<T>(finalDir: string, build: (tmpDir: string) => Promise<T>): Promise<T> {
  const target = finalDir.replace(/[/\\]+$/, '');
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const tmp = join(parent, `.${basename(target)}.${tag}.tmp`);
  await mkdir(tmp);
  trackTemporary(tmp);
  try {
    const result = await build(tmp);
    if (existsSync(target)) {
      const old = join(parent, `.${basename(target)}.${tag}.old`);
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
    return result;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  } finally {
    untrackTemporary(tmp);
  }
}
