/**
 * The library entry: `planConversion()` (open the checkpoint, build config and plan; no tensor bytes
 * read) and `convert()` (plan, then stream every output tensor into the folder or single-file writer,
 * `write-folder.ts` / `write-file.ts`, which replace the output without ever losing it), over Node paths;
 * `conversion.ts` holds the platform-neutral steps (open, resolve the type, plan).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { DEFAULT_MAX_SHARD_SIZE, parseShardSize } from '../formats/sharding.js';
import type { TensorSource } from '../formats/source.js';
import { checkCanCreate } from '../io/file.js';
import type { Plan } from '../mapping/plan.js';
import { DTYPES, numElements } from '../tensor.js';
import { type ConvertOptions, configTextOf, openAndPlan, type PlannedConversion } from './conversion.js';
import { checkpointFiles, InputFiles } from './input-files.js';
import {
  checkKindMatches,
  checkNotOverInput,
  checkOverwrite,
  displayPath,
  type OutputKind,
  outputKindOf,
  type WeightFormat,
  withoutTrailingSeparators,
} from './output.js';
import { recoverOutput } from './replace-output.js';
import { planToStateDict } from './tensors.js';
import { startTransposeThread, transposeThreadUnavailable } from './transpose-thread.js';
import { inThreadTransposer, type Transposer } from './transposer.js';
import { expectPlanReads, stopFetching, withUrlFiles } from './url-input.js';
import { writeFileOutput } from './write-file.js';
import { writeFolderOutput } from './write-folder.js';

export { type ConvertOptions, formatOfPath, openAsIs, type PlannedConversion } from './conversion.js';

export interface ConvertResult extends PlannedConversion {
  readonly output: string;
  readonly outputKind: OutputKind;
  /** Files written, relative to the output folder (or the file's folder). */
  readonly files: readonly string[];
  readonly warnings: readonly string[];
  readonly bytesWritten: number;
}

/** Where the checkpoint lives, from the path as typed (before opening): the path and its folder. */
function typedInputs(checkpoint: string): string[] {
  return existsSync(checkpoint) && statSync(checkpoint).isDirectory()
    ? [checkpoint]
    : [checkpoint, dirname(resolve(checkpoint))];
}

/**
 * Output checks that need no reading: the kind from the path, --format fits it, it does not replace the
 * checkpoint, and it does not exist (unless --force). Run before a conversion and by --dry-run.
 */
export function checkOutput(options: ConvertOptions & { readonly output: string }): OutputKind {
  const outputKind = checkOutputPath(options);
  checkOverwrite(options.output, outputKind, options.force ?? false);
  return outputKind;
}

/** `checkOutput` but for the overwrite check, which a conversion makes after cleaning up earlier runs. */
function checkOutputPath(options: ConvertOptions & { readonly output: string }): OutputKind {
  const { output } = options;
  const outputKind = outputKindOf(output);
  if (
    outputKind !== 'folder' &&
    options.format !== undefined &&
    options.format !== (outputKind === 'torch-file' ? 'pytorch' : 'safetensors')
  ) {
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      `--format ${options.format} does not fit ${output} (the file extension decides; --format applies to folder outputs: end the path with '/')`,
    );
  }
  checkNotOverInput(output, outputKind, typedInputs(options.checkpoint));
  checkKindMatches(output, outputKind);
  return outputKind;
}

/** `openAndPlan` with Node's paths as messages show them, and every file it read as an input. */
async function openAndPlanHere(
  options: ConvertOptions,
): Promise<PlannedConversion & { source: TensorSource; inputs: InputFiles }> {
  const { source, reads, ...planned } = await openAndPlan({ displayPath, ...options });
  // Every file this conversion reads: none of them may ever be an output.
  const inputs = new InputFiles().add(options.checkpoint, ...checkpointFiles(source.path), ...reads);
  return { ...planned, source, inputs };
}

/** Opens the checkpoint, builds the config and the plan; reads no tensor bytes. */
export async function planConversion(options: ConvertOptions): Promise<PlannedConversion> {
  const { source, inputs: _, ...planned } = await openAndPlanHere(await withUrlFiles(options));
  await source.close();
  return planned;
}

/** Transposed bytes from which a second thread pays for its start (about 60 ms of CPU and 9 MiB, measured). */
const MIN_THREADED_TRANSPOSE_BYTES = 16 * 1024 * 1024;

function transposes(plan: Plan): boolean {
  let bytes = 0;
  for (const o of plan.outputs)
    if (o.kind === 'tensor' && o.transforms.some((t) => t.op === 'transpose'))
      bytes += numElements(o.shape) * DTYPES[o.dtype].itemSize;
  return bytes >= MIN_THREADED_TRANSPOSE_BYTES;
}

function shardSize(value: number | string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_SHARD_SIZE;
  return typeof value === 'number' ? value : parseShardSize(value);
}

/** Converts a checkpoint into `options.output` (file or Hugging Face folder), atomically. */
export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  if (options.output === undefined || options.output === '')
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      'missing --pytorch_dump_output (a .bin or .safetensors file, or a folder)',
    );
  const output = options.output;
  const outputKind = checkOutputPath({ ...options, output });
  const recoveryNotes: string[] = [];
  const onRecovered = (n: number) =>
    recoveryNotes.push(
      `${displayPath(output)}: removed ${n} leftover${n > 1 ? 's' : ''} of an interrupted earlier run`,
    );
  const folder = outputKind === 'folder' ? withoutTrailingSeparators(output) : dirname(resolve(output));
  recoverOutput(folder, output, onRecovered);
  checkOverwrite(output, outputKind, options.force ?? false);
  checkCanCreate(output);
  const format: WeightFormat = options.format ?? 'safetensors';
  const maxShardSize = shardSize(options.maxShardSize);

  const input = await withUrlFiles(options);
  const { source, inputs, ...planned } = await openAndPlanHere(input);
  const { plan, config, architecture, checkpointDir } = planned;
  await expectPlanReads(input.files, source, plan);
  const warnings = [...plan.warnings];

  const passes = outputKind === 'folder' && format === 'both' ? 2 : 1;
  const total = plan.totalBytes * passes;
  let thread: Transposer | undefined;
  const threadNotes: string[] = [];
  // Under a tight address-space limit, starting the thread would abort the process: transposes stay here.
  const transposer = (): Transposer => {
    const unavailable = transposeThreadUnavailable();
    if (unavailable === undefined) return startTransposeThread();
    threadNotes.push(unavailable);
    return inThreadTransposer;
  };
  const common = {
    output,
    // A fresh state dict per pass. torch files keep transposed kernels in the checkpoint's order;
    // where kernels are transposed, a second thread does it.
    entriesFor: (weights: 'safetensors' | 'pytorch') => {
      const strided = weights === 'pytorch' && options.contiguous !== true;
      if (!strided && transposes(plan)) thread ??= transposer();
      return planToStateDict(plan, source.tensors, {
        strided,
        ...(thread === undefined ? {} : { transposer: thread }),
      });
    },
    configText: configTextOf(planned),
    container: architecture.torchContainer,
    inputs,
    ...(input.files === undefined ? {} : { files: input.files }),
    force: options.force ?? false,
    warnings,
    onRecovered,
  };
  let files: string[];
  try {
    checkNotOverInput(output, outputKind, [source.path, checkpointDir]);
    files =
      outputKind === 'folder'
        ? await writeFolderOutput({
            ...common,
            format,
            maxShardSize,
            architecture,
            config,
            embedded: planned.embedded,
            checkpointDir,
            onProgress: (pass, n) => options.onProgress?.(pass * plan.totalBytes + n, total),
          })
        : await writeFileOutput({ ...common, kind: outputKind, onProgress: (n) => options.onProgress?.(n, total) });
  } finally {
    stopFetching(input.files);
    await thread?.close();
    await source.close();
  }
  const notes = [...planned.notes, ...recoveryNotes, ...threadNotes];
  return { ...planned, notes, output, outputKind, files, warnings, bytesWritten: total };
}
