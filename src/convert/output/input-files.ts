/**
 * The files a conversion reads (checkpoint parts, config, sidecars, tokenizer sources), so that none of
 * them is ever written or removed as an output, with or without --force. Files are compared by device
 * and inode: a trailing '/', '..', a symlink or a hard link name the same file and are caught alike.
 */

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { checkpointFilesIn } from '../open-and-plan.js';
import { displayPath, withoutTrailingSeparators } from './output-target.js';

function identity(path: string): string | undefined {
  try {
    const s = statSync(withoutTrailingSeparators(path)); // 'file/' is that file, not an error
    return s.isDirectory() ? undefined : `${s.dev}:${s.ino}`;
  } catch {
    return undefined; // absent (or unreadable: then it was not read either)
  }
}

export class InputFiles {
  private readonly byIdentity = new Map<string, string>();

  add(...paths: readonly string[]): this {
    for (const path of paths) {
      const id = identity(path);
      if (id !== undefined && !this.byIdentity.has(id)) this.byIdentity.set(id, path);
    }
    return this;
  }

  /** The input file that `path` is (whatever the spelling), or undefined. */
  find(path: string): string | undefined {
    const id = identity(path);
    return id === undefined ? undefined : this.byIdentity.get(id);
  }

  get paths(): string[] {
    return [...this.byIdentity.values()];
  }
}

/**
 * The files of a checkpoint at `path` as its opener resolved it: a folder (OpenAI GPT release, Hugging
 * Face folder) → every file in it; a TensorFlow prefix or V1 file → every file beside it named like it
 * (`.index`, `.data-*`, `.meta`) and the `checkpoint` state file; a sharded `*.index.json` → the weight
 * files beside it; any other file → itself.
 */
export const checkpointFiles = (path: string): string[] => checkpointFilesIn(defaultFiles, path);

/** Refuses to write or remove `names` in `dir` when one of them is an input of this conversion. */
export function checkNotInputs(dir: string, names: readonly string[], inputs: InputFiles): void {
  for (const name of names) {
    const path = join(dir, name);
    const input = inputs.find(path);
    if (input === undefined) continue;
    const same = displayPath(input) === displayPath(path) ? '' : ` (the same file as ${displayPath(input)})`;
    throw new Tf2TorchError(
      ErrorCode.OUTPUT_EXISTS,
      `${displayPath(path)} is read by this conversion${same}: an input is never replaced, with or without --force; write the output elsewhere`,
      { file: path },
    );
  }
}
