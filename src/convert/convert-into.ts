/**
 * The one high-level call, on any platform: a checkpoint read through a `FileTree` converted into a
 * Hugging Face folder of an `OutputTree`, with an `AbortSignal` and a progress callback. The weights are
 * the command line's, byte for byte (torch files keep transposed kernels strided unless `contiguous`).
 * On abort or failure every file it wrote is removed again and the checkpoint is closed; what was
 * already in the OutputTree is left as it was. `index.ts` offers the same call over Node paths.
 */
import { defaultFiles } from '#platform';
import { throwIfAborted } from '../errors.js';
import { DEFAULT_MAX_SHARD_SIZE, parseShardSize } from '../formats/sharding.js';
import type { OutputTree } from '../io/byte-sink.js';
import type { FileTree } from '../io/byte-source.js';
import { asNotice, COMMAND_LINE_SPELLING, type Notice, renderNotice } from '../mapping/notices.js';
import {
  type ConversionProgress,
  type ConvertOptions,
  configTextOf,
  openAndPlan,
  type PlannedConversion,
} from './open-and-plan.js';
import { folderContent, writeFolderContent } from './output/model-folder.js';
import { planToStateDict } from './pipeline/plan-to-state-dict.js';

export interface ConvertIntoOptions extends Omit<ConvertOptions, 'output' | 'force' | 'command' | 'files'> {
  /** Where the checkpoint (`checkpoint`, a path in this tree) and the files beside it are read (Node: the file system). */
  readonly files?: FileTree;
  /** Where the folder is written; each file appears only once complete. */
  readonly output: OutputTree;
  /** The folder inside `output` (default '/', the root of a browser's tree). */
  readonly outputFolder?: string;
}

export interface ConversionResult extends PlannedConversion {
  /** Files written, relative to the output folder, in the order written. */
  readonly files: readonly string[];
  /** The warnings as the command line words them (`notices` has them as data). */
  readonly warnings: readonly string[];
  /** Notes and warnings as data: `code`, `message`, `values`, `level`. */
  readonly notices: readonly Notice[];
  readonly bytesWritten: number;
}

export { throwIfAborted };

export function shardSize(value: number | string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_SHARD_SIZE;
  return typeof value === 'number' ? value : parseShardSize(value);
}

/**
 * The caller's progress callback, checking the signal at every report: the writers report after each
 * chunk, so an abort stops the conversion within one chunk, inside the writer, which discards its file.
 */
export function progressReporter(options: Pick<ConvertOptions, 'signal' | 'onProgress'>) {
  return (stage: ConversionProgress['stage'], bytesDone: number, bytesTotal: number) => {
    throwIfAborted(options.signal);
    options.onProgress?.({ stage, bytesDone, bytesTotal });
  };
}

/** An OutputTree that remembers what it completed, so that a failed conversion can take it back. */
function recording(output: OutputTree): { tree: OutputTree; written: string[] } {
  const written: string[] = [];
  const tree: OutputTree = {
    paths: output.paths,
    writeFile: async (path, write) => {
      const result = await output.writeFile(path, write);
      written.push(path);
      return result;
    },
    remove: (path) => output.remove(path),
  };
  return { tree, written };
}

/** Converts the checkpoint of `options.files` into a Hugging Face folder of `options.output`. */
export async function convertInto(options: ConvertIntoOptions): Promise<ConversionResult> {
  const report = progressReporter(options);
  report('planning', 0, 0);
  const { output: _output, ...input } = options;
  const checkpointFiles = options.files ?? defaultFiles;
  const { source, reads: _, ...planned } = await openAndPlan({ ...input, files: checkpointFiles });
  const { tree, written } = recording(options.output);
  try {
    const { plan } = planned;
    const format = options.format ?? 'safetensors';
    const passes = format === 'both' ? 2 : 1;
    const total = plan.totalBytes * passes;
    report('writing', 0, total);
    const content = folderContent({ ...planned, configText: configTextOf(planned) }, format, checkpointFiles);
    const { files } = await writeFolderContent(
      content,
      (weights) =>
        planToStateDict(plan, source.tensors, {
          strided: weights === 'pytorch' && options.contiguous !== true,
          copyAliases: weights === 'safetensors',
        }),
      checkpointFiles,
      tree,
      options.outputFolder ?? '/',
      {
        maxShardSize: shardSize(options.maxShardSize),
        container: planned.architecture.torchContainer,
        onProgress: (pass, n) => report('writing', pass * plan.totalBytes + n, total),
      },
    );
    report('done', total, total);
    const warnings = [...plan.warnings.map((w) => asNotice(w, 'warning')), ...content.warnings];
    return {
      ...planned,
      files,
      warnings: warnings.map((w) => renderNotice(w, COMMAND_LINE_SPELLING)),
      notices: [...planned.notices, ...warnings],
      bytesWritten: total,
    };
  } catch (error) {
    for (const path of written.reverse()) await options.output.remove(path).catch(() => undefined);
    throw error;
  } finally {
    await source.close();
  }
}
