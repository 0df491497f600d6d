/**
 * Where a conversion goes, decided once from `--pytorch_dump_output` (`outputTarget`): the path decides
 * the kind (`*.bin`, also .pt/.pth → one torch file, `*.safetensors` → one safetensors file, a directory,
 * existing, with a trailing `/` or without extension → a Hugging Face folder), the folder its names live
 * in, how messages show it, and the checkpoint paths it must never replace or hold. `checkTarget` runs
 * twice: before the checkpoint is opened, and under the folder's lock (what appeared meanwhile). Also
 * which files of a folder are ours.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { isWeightFileName } from '../../formats/sharding.js';
import { temporaryOwner } from '../../io/atomic.js';
import { LOCK_NAME } from '../../io/lock.js';
import { isUrl, redactUrl } from '../../io/url-paths.js';
import type { WeightFormat } from '../open-and-plan.js';

export type OutputKind = 'torch-file' | 'safetensors-file' | 'folder';
export type { WeightFormat };

export interface OutputTarget {
  /** The path as typed, for messages. */
  readonly path: string;
  readonly kind: OutputKind;
  /** The path without trailing separators: the folder output, or the file. */
  readonly bare: string;
  /** The folder the final names live in: the folder output, or a file output's folder. */
  readonly folder: string;
  /** A file output's name in `folder`. */
  readonly fileName: string;
  /** The path as messages show it. */
  readonly display: string;
  /**
   * The checkpoint's paths (as typed or resolved, and the folder holding it): a folder output never
   * holds one, a file output is never one. Every other input is protected file by file (`input-files.ts`).
   */
  readonly inputs: readonly string[];
}

/**
 * The target of `output`, for a checkpoint at `checkpoint` (the path as typed); a folder's weight
 * `format` must fit a file output's extension.
 */
export function outputTarget(output: string, checkpoint: string, format?: WeightFormat): OutputTarget {
  const kind = outputKindOf(output);
  if (kind !== 'folder' && format !== undefined && format !== (kind === 'torch-file' ? 'pytorch' : 'safetensors')) {
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      `--format ${format} does not fit ${output} (the file extension decides; --format applies to folder outputs: end the path with '/')`,
    );
  }
  const bare = withoutTrailingSeparators(output);
  return {
    path: output,
    kind,
    bare,
    folder: kind === 'folder' ? bare : dirname(resolve(output)),
    fileName: basename(output),
    display: displayPath(output),
    // Where the checkpoint lives, from the path as typed (before opening): the path and its folder.
    inputs:
      existsSync(checkpoint) && statSync(checkpoint).isDirectory()
        ? [checkpoint]
        : [checkpoint, dirname(resolve(checkpoint))],
  };
}

/** `target` with more checkpoint paths it must never replace or hold (those opening resolved). */
export function withInputs(target: OutputTarget, inputs: readonly string[]): OutputTarget {
  return { ...target, inputs: [...target.inputs, ...inputs] };
}

/**
 * Everything an output may not do, --force or not, and an existing output without --force: run before
 * the checkpoint is opened (after leftovers of dead runs are cleaned up) and again under the lock.
 */
export function checkTarget(target: OutputTarget, force: boolean): void {
  checkNotOverInput(target);
  checkKindMatches(target);
  checkOverwrite(target, force);
}

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

export function withoutTrailingSeparators(path: string): string {
  return path.replace(/[/\\]+$/, '') || path;
}

/** Our hidden bookkeeping inside an output folder: its lock and temporaries of our naming. */
export function isOurBookkeeping(name: string): boolean {
  return name.startsWith(LOCK_NAME) || temporaryOwner(name) !== undefined;
}

/**
 * A folder output never replaces a file and a file output never replaces a folder, --force or not: a
 * trailing '/' typed after a file name must not turn that file into a folder.
 */
function checkKindMatches({ path, kind, bare }: OutputTarget): void {
  // 'file/' does not exist for stat (ENOTDIR): look at the name without its trailing separators.
  if (!existsSync(bare)) return;
  const isDir = statSync(bare).isDirectory();
  if (kind === 'folder' && !isDir) {
    throw new Tf2TorchError(
      ErrorCode.OUTPUT_EXISTS,
      `--pytorch_dump_output ${path}: ${bare} is a file, and a folder output never replaces a file (--force does not change that): choose another path`,
      { file: path },
    );
  }
  if (kind !== 'folder' && isDir) {
    throw new Tf2TorchError(
      ErrorCode.OUTPUT_EXISTS,
      `${path} is a directory; end the path with '/' to write a Hugging Face folder into it`,
      { file: path },
    );
  }
}

/** Refuses an existing output without --force (an existing folder that is empty but for our bookkeeping is fine). */
function checkOverwrite({ path, kind, bare }: OutputTarget, force: boolean): void {
  if (force || !existsSync(bare)) return;
  if (kind === 'folder' && readdirSync(path).every(isOurBookkeeping)) return;
  throw new Tf2TorchError(ErrorCode.OUTPUT_EXISTS, `${path} already exists (use --force to overwrite it)`, {
    file: path,
  });
}

/** Weight files in `dir` that a new output writing `written` leaves stale. */
export function staleWeightFiles(dir: string, written: readonly string[]): string[] {
  const keep = new Set(written);
  return readdirSync(dir).filter((name) => isWeightFileName(name) && !keep.has(name));
}

/** A path as the user can reuse it in messages: relative when under the working directory, absolute otherwise. */
export function displayPath(path: string, cwd = process.cwd()): string {
  if (isUrl(path)) return redactUrl(path);
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
 * Refuses, even with --force, a folder output that holds the checkpoint (the checkpoint's own folder or
 * a parent of it: the converted model would be mixed into the original's files, whose config and vocab
 * have the names ours have) and a file output that is the checkpoint path itself.
 */
function checkNotOverInput({ path: output, kind, bare, inputs }: OutputTarget): void {
  const target = canonical(bare);
  for (const input of inputs.map(canonical)) {
    const inside = input === target || input.startsWith(target.endsWith(sep) ? target : target + sep);
    if (kind === 'folder' && inside) {
      throw new Tf2TorchError(
        ErrorCode.OUTPUT_EXISTS,
        `--pytorch_dump_output ${output} holds the checkpoint being converted: the converted model would be mixed into its files (--force does not change that); write to another folder (e.g. ${basename(target)}-hf/) or to a file inside it (${join(output, 'pytorch_model.bin')})`,
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
