/**
 * A Hugging Face folder output, replaced as `save_pretrained` replaces one: our files are written (config,
 * weights, tokenizer files, extra files), the weight files of either format not written again are removed
 * as stale, and every other file in the folder is left as it was.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { WEIGHT_FILES, writeWeights } from '../formats/sharding.js';
import type { StateDictEntry } from '../formats/state-dict.js';
import { readSmallFileSync } from '../io/file.js';
import { outputStep } from '../io/test-interrupt.js';
import type { Architecture, ModelConfig } from '../mapping/types.js';
import { MAX_SIDECAR_BYTES } from './config-file.js';
import { checkNotInputs, type InputFiles } from './input-files.js';
import { MODEL_CARD_NAME } from './model-card.js';
import { checkOverwrite, staleWeightFiles, type WeightFormat, withoutTrailingSeparators } from './output.js';
import { replaceOutput } from './replace-output.js';

export interface FolderOutput {
  readonly output: string;
  readonly format: WeightFormat;
  readonly maxShardSize: number;
  readonly container: 'OrderedDict' | 'dict' | undefined;
  /** The state dict to write in one format (a fresh one per call). */
  readonly entriesFor: (format: 'safetensors' | 'pytorch') => readonly StateDictEntry[];
  readonly configText: string;
  readonly architecture: Architecture;
  readonly config: ModelConfig;
  readonly embedded: unknown;
  readonly checkpointDir: string;
  readonly inputs: InputFiles;
  readonly force: boolean;
  /** Progress of weight pass `pass` (0, or 0 and 1 for --format both): bytes written in that pass. */
  readonly onProgress: (pass: number, done: number) => void;
  readonly warnings: string[];
  readonly onRecovered: (count: number) => void;
  /** The model card for the files written, or undefined for none (model-card.ts). */
  readonly modelCard?: (files: readonly string[]) => Promise<string | undefined>;
}

/** Tokenizer files to copy: (source beside the checkpoint, name in the folder); a warning for each missing. */
function tokenizerCopies(out: FolderOutput): { from: string; to: string }[] {
  const copies: { from: string; to: string }[] = [];
  for (const tok of out.architecture.tokenizerFiles ?? []) {
    const candidates = typeof tok.from === 'string' ? [tok.from] : tok.from;
    const found = candidates.map((c) => join(out.checkpointDir, c)).find((p) => existsSync(p));
    if (found !== undefined) copies.push({ from: found, to: tok.to });
    else
      out.warnings.push(
        `no ${candidates.join(' or ')} beside the checkpoint: the folder has no ${tok.to} (load the tokenizer from elsewhere)`,
      );
  }
  return copies;
}

/** Writes the folder; returns the files written, weights first, `config.json` last (the commit order). */
export async function writeFolderOutput(out: FolderOutput): Promise<string[]> {
  const dir = withoutTrailingSeparators(out.output);
  const formats = out.format === 'both' ? (['safetensors', 'pytorch'] as const) : [out.format];
  const tokenizers = tokenizerCopies(out);
  const extras = out.architecture.extraFiles?.(out.config, out.embedded) ?? [];
  const committed = await replaceOutput(
    {
      dir,
      output: out.output,
      inputs: out.inputs,
      checkUnderLock: () => checkOverwrite(out.output, 'folder', out.force),
      onRecovered: out.onRecovered,
    },
    async (stage) => {
      // Names known before any byte is written: refuse now rather than after the conversion.
      const known = formats.flatMap((f) => [WEIGHT_FILES[f].single, WEIGHT_FILES[f].index]);
      checkNotInputs(
        dir,
        [...known, ...tokenizers.map((t) => t.to), ...extras.map((e) => e.name), 'config.json'],
        out.inputs,
      );
      const weights: string[] = [];
      for (const [pass, format] of formats.entries()) {
        const onProgress = (n: number) => out.onProgress(pass, n);
        weights.push(
          ...(await writeWeights(stage, out.entriesFor(format), {
            format,
            maxShardSize: out.maxShardSize,
            onProgress,
            container: out.container,
          })),
        );
        outputStep();
      }
      for (const tok of tokenizers) {
        // Contents only: the source's permissions (often read-only) must not follow.
        // Bounded, regular files only (a FIFO named vocab.txt must not hang the run).
        const bytes = readSmallFileSync(tok.from, MAX_SIDECAR_BYTES, 'tokenizer file');
        if (bytes === undefined)
          throw new Tf2TorchError(ErrorCode.NOT_FOUND, `${tok.from} vanished while converting`, { file: tok.from });
        await writeFile(join(stage, tok.to), bytes);
      }
      for (const extra of extras) await writeFile(join(stage, extra.name), extra.text);
      await writeFile(join(stage, 'config.json'), out.configText);
      outputStep();
      const files = [...weights, ...tokenizers.map((t) => t.to), ...extras.map((e) => e.name), 'config.json'];
      const card = await out.modelCard?.(files);
      if (card !== undefined) {
        checkNotInputs(dir, [MODEL_CARD_NAME], out.inputs);
        await writeFile(join(stage, MODEL_CARD_NAME), card);
        files.push(MODEL_CARD_NAME);
      }
      return { files, remove: staleWeightFiles(dir, weights) };
    },
  );
  return [...committed.files];
}
