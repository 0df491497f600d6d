/**
 * A single-file output (`*.bin`, `*.safetensors`) with `config.json` beside it: one unit, committed
 * together. An existing `config.json` is left unchanged (with a warning) unless --force; nothing else in
 * the folder is touched.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeSafetensorsFile } from '../../formats/safetensors/write.js';
import type { StateDictEntry } from '../../formats/state-dict.js';
import { writeTorchFile } from '../../formats/torch/write.js';
import { outputStep } from '../../io/test-interrupt.js';
import { checkNotInputs, type InputFiles } from './input-files.js';
import { checkOverwrite, displayPath, type OutputKind } from './output-target.js';
import { replaceOutput } from './replace-output.js';

export interface FileOutput {
  readonly output: string;
  readonly kind: Exclude<OutputKind, 'folder'>;
  readonly container: 'OrderedDict' | 'dict' | undefined;
  /** The state dict to write in one format (a fresh one per call). */
  readonly entriesFor: (format: 'safetensors' | 'pytorch') => readonly StateDictEntry[];
  readonly configText: string;
  readonly inputs: InputFiles;
  readonly force: boolean;
  readonly onProgress: (done: number) => void;
  readonly warnings: string[];
  readonly onRecovered: (count: number) => void;
}

/** Writes the file (and `config.json` beside it); returns the names written, the weights first. */
export async function writeFileOutput(out: FileOutput): Promise<string[]> {
  const dir = dirname(resolve(out.output));
  const name = basename(out.output);
  const committed = await replaceOutput(
    {
      dir,
      output: out.output,
      inputs: out.inputs,
      checkUnderLock: () => checkOverwrite(out.output, out.kind, out.force),
      onRecovered: out.onRecovered,
    },
    async (stage) => {
      const configPath = join(dirname(out.output), 'config.json');
      const writeConfig = out.force || !existsSync(configPath);
      checkNotInputs(dir, writeConfig ? [name, 'config.json'] : [name], out.inputs);
      const path = join(stage, name);
      if (out.kind === 'torch-file')
        await writeTorchFile(path, out.entriesFor('pytorch'), {
          onProgress: out.onProgress,
          container: out.container,
        });
      else await writeSafetensorsFile(path, out.entriesFor('safetensors'), { onProgress: out.onProgress });
      outputStep();
      if (!writeConfig) {
        out.warnings.push(
          `${displayPath(configPath)} exists: left unchanged (it may describe another model; --force replaces it)`,
        );
        return { files: [name], remove: [] };
      }
      await writeFile(join(stage, 'config.json'), out.configText);
      outputStep();
      return { files: [name, 'config.json'], remove: [] };
    },
  );
  return [...committed.files];
}
