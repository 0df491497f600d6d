/**
 * Where a conversion goes. The output path decides the kind: `*.bin` (also .pt/.pth) → one torch file,
 * `*.safetensors` → one safetensors file, a directory (existing, trailing `/`, or no extension) → a
 * Hugging Face folder. What an output may replace, and which files of a folder are ours.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { WEIGHT_FILES } from '../../formats/sharding.js';
import { temporaryOwner } from '../../io/atomic.js';
import { LOCK_NAME } from '../../io/lock.js';

export type OutputKind = 'torch-file' | 'safetensors-file' | 'folder';
export type { WeightFormat } from '../open-and-plan.js';

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
export function checkKindMatches(path: string, kind: OutputKind): void {
  // 'file/' does not exist for stat (ENOTDIR): look at the name without its trailing separators.
  const bare = withoutTrailingSeparators(path);
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

/**
 * Refuses what an output may never replace (`checkKindMatches`), and an existing output without --force
 * (an existing folder that is empty but for our bookkeeping is fine).
 */
export function checkOverwrite(path: string, kind: OutputKind, force: boolean): void {
  checkKindMatches(path, kind);
  if (force || !existsSync(withoutTrailingSeparators(path))) return;
  if (kind === 'folder' && readdirSync(path).every(isOurBookkeeping)) return;
  throw new Tf2TorchError(ErrorCode.OUTPUT_EXISTS, `${path} already exists (use --force to overwrite it)`, {
    file: path,
  });
}

const SHARD_NAMES = Object.values(WEIGHT_FILES).map((f) => new RegExp(`^${f.prefix}-\\d{5}-of-\\d{5}\\.${f.ext}$`));
const WEIGHT_NAMES = new Set<string>(Object.values(WEIGHT_FILES).flatMap((f) => [f.single, f.index]));

/**
 * The weight files of a Hugging Face folder, in either format: `model.safetensors`,
 * `model-00001-of-00003.safetensors`, `model.safetensors.index.json`, `pytorch_model.bin`,
 * `pytorch_model-00001-of-00003.bin`, `pytorch_model.bin.index.json`. A folder holds one model, so when
 * --force replaces it, those of them not written again are stale and removed.
 */
export function isWeightFileName(name: string): boolean {
  return WEIGHT_NAMES.has(name) || SHARD_NAMES.some((r) => r.test(name));
}

/** Weight files in `dir` that a new output writing `written` leaves stale. */
export function staleWeightFiles(dir: string, written: readonly string[]): string[] {
  const keep = new Set(written);
  return readdirSync(dir).filter((name) => isWeightFileName(name) && !keep.has(name));
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
 * Refuses, even with --force, a folder output that holds the checkpoint (the checkpoint's own folder or
 * a parent of it: the converted model would be mixed into the original's files, whose config and vocab
 * have the names ours have) and a file output that is the checkpoint path itself. `inputs` are the
 * checkpoint path as given or resolved, and the folder holding it. Every other input file is protected
 * file by file (`input-files.ts`).
 */
export function checkNotOverInput(output: string, kind: OutputKind, inputs: readonly string[]): void {
  const target = canonical(withoutTrailingSeparators(output));
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
