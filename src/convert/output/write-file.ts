/**
 * A single-file output (`*.bin`, `*.safetensors`) with `config.json` beside it: one unit, committed
 * together. An existing `config.json` is left unchanged (with a warning) unless --force; nothing else in
 * the folder is touched.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeSafetensorsFile } from '../../formats/safetensors/write.js';
import { writeTorchFile } from '../../formats/torch/write.js';
import { outputStep } from '../../io/test-interrupt.js';
import { NoticeCode, notice } from '../../mapping/notices.js';
import { checkNotInputs } from './input-files.js';
import { displayPath } from './output-target.js';
import { type OutputJob, replaceOutput } from './replace-output.js';

export interface FileOutput extends OutputJob {
  readonly onProgress: (done: number) => void;
}

/** Writes the file (and `config.json` beside it); returns the names written, the weights first. */
export async function writeFileOutput(out: FileOutput): Promise<string[]> {
  const { folder: dir, fileName: name } = out.target;
  const committed = await replaceOutput(
    { target: out.target, force: out.force, inputs: out.inputs, onRecovered: out.onRecovered },
    async (stage) => {
      const configPath = join(dirname(out.target.path), 'config.json');
      const writeConfig = out.force || !existsSync(configPath);
      checkNotInputs(dir, writeConfig ? [name, 'config.json'] : [name], out.inputs);
      const path = join(stage, name);
      if (out.target.kind === 'torch-file')
        await writeTorchFile(path, out.entriesFor('pytorch'), {
          onProgress: out.onProgress,
          container: out.container,
        });
      else await writeSafetensorsFile(path, out.entriesFor('safetensors'), { onProgress: out.onProgress });
      outputStep();
      if (!writeConfig) {
        out.warnings.push(
          notice(
            NoticeCode.CONFIG_JSON_KEPT,
            '{path} exists: left unchanged (it may describe another model; {@force} replaces it)',
            { path: displayPath(configPath) },
            'warning',
          ),
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
