/**
 * One entry point for every input format: `openTensorSource(path)` detects what the path is and
 * returns its tensors as lazy handles. Each format registers one opener in OPENERS (explicit list,
 * most specific first); the first whose `detect` says yes opens the path.
 */
import { checkReadablePath, defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { foreignKindError, foreignKindOf } from './foreign-kinds.js';
import { OPENAI_GPT_FOLDER_OPENER } from './npy/openai-gpt.js';
import type { OpenOptions, TensorSource, TensorSourceOpener } from './source.js';
import { TF_CHECKPOINT_OPENER } from './tf-checkpoint/index.js';
import { HF_FOLDER_OPENER, SAFETENSORS_OPENER, SHARDED_INDEX_OPENER, TORCH_FILE_OPENER } from './weights-openers.js';

/** Most specific first: containers recognised by magic bytes, then TensorFlow prefixes. */
export const OPENERS: TensorSourceOpener[] = [
  HF_FOLDER_OPENER,
  SHARDED_INDEX_OPENER,
  SAFETENSORS_OPENER,
  TORCH_FILE_OPENER,
  OPENAI_GPT_FOLDER_OPENER,
  // the TensorFlow opener stays last: it accepts the most paths
  TF_CHECKPOINT_OPENER,
];

export async function openTensorSource(path: string, options: OpenOptions = {}): Promise<TensorSource> {
  // The platform's own file system refuses FIFOs, devices and unlistable folders before detection.
  if (options.files === undefined) await checkReadablePath(path);
  for (const opener of OPENERS) {
    if (await opener.detect(path, options)) return opener.open(path, options);
  }
  const files = options.files ?? defaultFiles;
  if (files.stat(path) === undefined && files.stat(`${path}.index`) === undefined) {
    throw new Tf2TorchError(
      ErrorCode.NOT_FOUND,
      `${path}: no such file or folder (nor ${files.paths.basename(path)}.index beside it)`,
      { file: path },
    );
  }
  const isFile = files.stat(path)?.kind === 'file';
  const foreign = isFile ? await foreignKindOf(path, files) : undefined;
  if (foreign) throw foreignKindError(path, foreign);
  throw new Tf2TorchError(
    isFile ? ErrorCode.UNSUPPORTED : ErrorCode.NOT_FOUND,
    `${path}: not a checkpoint tf2torch can read (expected a TensorFlow checkpoint prefix, .index, .data-*, or a directory with a 'checkpoint' file; a .bin/.pt/.pth/.safetensors file or index; an OpenAI GPT .npy folder)`,
    { file: path },
  );
}
