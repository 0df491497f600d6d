/**
 * A Hugging Face folder output, replaced as `save_pretrained` replaces one: our files are written (config,
 * weights, tokenizer files, extra files), the weight files of either format not written again are removed
 * as stale, and every other file in the folder is left as it was.
 */

import type { FileTree } from '../../io/byte-source.js';
import { defaultFiles, defaultOutputs } from '../../io/node-platform.js';
import { outputStep } from '../../io/test-interrupt.js';
import type { Architecture, ModelConfig } from '../../mapping/types.js';
import type { WeightFormat } from '../open-and-plan.js';
import { checkNotInputs } from './input-files.js';
import { MODEL_CARD_NAME } from './model-card-text.js';
import { folderContent, namesKnownBefore, writeFolderContent } from './model-folder.js';
import { staleWeightFiles } from './output-target.js';
import { type OutputJob, replaceOutput } from './replace-output.js';

export interface FolderOutput extends OutputJob {
  readonly format: WeightFormat;
  readonly maxShardSize: number;
  readonly architecture: Architecture;
  readonly config: ModelConfig;
  readonly embedded: unknown;
  /** tokenizer_config.json and special_tokens_map.json, when the tokenizer's files are beside the checkpoint. */
  readonly tokenizerConfig?: readonly { readonly name: string; readonly text: string }[];
  readonly checkpointDir: string;
  /** Progress of weight pass `pass` (0, or 0 and 1 for --format both): bytes written in that pass. */
  readonly onProgress: (pass: number, done: number) => void;
  /** Where the checkpoint's sidecars are read when not from the file system (a URL tree). */
  readonly files?: FileTree;
  /** The model card for the files written, or undefined for none (model-card.ts). */
  readonly modelCard?: (files: readonly string[]) => Promise<string | undefined>;
}

/** Writes the folder; returns the files written, weights first, `config.json` last (the commit order). */
export async function writeFolderOutput(out: FolderOutput): Promise<string[]> {
  const dir = out.target.folder;
  const sidecars = out.files ?? defaultFiles;
  const content = folderContent(out, out.format, sidecars);
  out.warnings.push(...content.warnings);
  const committed = await replaceOutput(
    {
      target: out.target,
      force: out.force,
      inputs: out.inputs,
      onRecovered: out.onRecovered,
    },
    async (stage) => {
      // Names known before any byte is written: refuse now rather than after the conversion.
      checkNotInputs(dir, namesKnownBefore(content), out.inputs);
      const { files, weights } = await writeFolderContent(content, out.entriesFor, sidecars, defaultOutputs, stage, {
        maxShardSize: out.maxShardSize,
        container: out.container,
        onProgress: out.onProgress,
        onStep: outputStep,
        lastFile: async (written) => {
          const card = await out.modelCard?.(written);
          if (card === undefined) return undefined;
          checkNotInputs(dir, [MODEL_CARD_NAME], out.inputs);
          return { name: MODEL_CARD_NAME, text: card };
        },
      });
      return { files, remove: staleWeightFiles(dir, weights) };
    },
  );
  return [...committed.files];
}
