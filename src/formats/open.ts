/**
 * One entry point for every input format: `openTensorSource(path)` detects what the path is and
 * returns its tensors as lazy handles. Each format registers one opener in OPENERS (explicit list,
 * most specific first); the first whose `detect` says yes opens the path.
 */
import { existsSync, type Stats, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ErrorCode, fileSystemError, Tf2TorchError } from '../errors.js';
import { notARegularFile } from '../io/file.js';
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

/**
 * What the openers' detection would mistake for "nothing here": a FIFO or device (refused before any
 * open, which could wait forever), a folder we may not list, a symlink loop.
 */
async function checkReadablePath(path: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await stat(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // a prefix (model.ckpt) is not a file itself
    throw fileSystemError(cause, path, 'open');
  }
  if (stats.isDirectory()) {
    try {
      await readdir(path);
    } catch (cause) {
      throw fileSystemError(cause, path, 'list the folder');
    }
  } else if (!stats.isFile()) {
    throw notARegularFile(path, stats, 'checkpoint file or folder');
  }
}

export async function openTensorSource(path: string, options: OpenOptions = {}): Promise<TensorSource> {
  await checkReadablePath(path);
  for (const opener of OPENERS) {
    if (await opener.detect(path)) return opener.open(path, options);
  }
  if (!existsSync(path) && !existsSync(`${path}.index`)) {
    throw new Tf2TorchError(
      ErrorCode.NOT_FOUND,
      `${path}: no such file or folder (nor ${basename(path)}.index beside it)`,
      { file: path },
    );
  }
  const isFile = existsSync(path) && statSync(path).isFile();
  throw new Tf2TorchError(
    isFile ? ErrorCode.UNSUPPORTED : ErrorCode.NOT_FOUND,
    `${path}: not a checkpoint tf2torch can read (expected a TensorFlow checkpoint prefix, .index, .data-*, or a directory with a 'checkpoint' file; a .bin/.pt/.pth/.safetensors file or index; an OpenAI GPT .npy folder)`,
    { file: path },
  );
}
