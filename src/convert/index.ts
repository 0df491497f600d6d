/**
 * The library entry: `planConversion()` (open the checkpoint, build config and plan; no tensor bytes
 * read) and `convert()` (plan, then stream every output tensor into the folder or single-file writer,
 * `output/write-folder.ts` / `output/write-file.ts`, which replace the output without ever losing it), over Node paths;
 * `open-and-plan.ts` holds the platform-neutral steps (open, resolve the type, plan).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { TensorSource } from '../formats/source.js';
import { checkCanCreate } from '../io/file.js';
import { UrlFileTree } from '../io/url-tree.js';
import { asNotice, COMMAND_LINE_SPELLING, type NoteInput, renderNotice } from '../mapping/notices.js';
import type { Plan } from '../mapping/plan.js';
import { DTYPES, numElements } from '../tensor.js';
import {
  type ConversionResult,
  type ConvertIntoOptions,
  convertInto,
  progressReporter,
  shardSize,
} from './convert-into.js';
import { fetchedCopiesIn } from './fetched-copy.js';
import {
  type ConvertOptions,
  configTextOf,
  openAndPlan,
  type PlannedConversion,
  type WeightFormat,
} from './open-and-plan.js';
import { checkpointFiles, InputFiles } from './output/input-files.js';
import { modelCardFor } from './output/model-card.js';
import {
  checkTarget,
  displayPath,
  type OutputKind,
  type OutputTarget,
  outputTarget,
  withInputs,
} from './output/output-target.js';
import { recoverOutput } from './output/replace-output.js';
import { writeFileOutput } from './output/write-file.js';
import { writeFolderOutput } from './output/write-folder.js';
import { planToStateDict } from './pipeline/plan-to-state-dict.js';
import { startTransposeThread, transposeThreadUnavailable } from './pipeline/transpose-thread.js';
import { inThreadTransposer, type Transposer } from './pipeline/transposer.js';
import { expectPlanReads, httpOptionsFromEnv, stopFetching, withUrlFiles } from './url-input.js';

export { type ConversionResult, type ConvertIntoOptions, convertInto } from './convert-into.js';
export {
  type ConversionProgress,
  type ConvertOptions,
  formatOfPath,
  openAsIs,
  type PlannedConversion,
} from './open-and-plan.js';

export interface ConvertResult extends ConversionResult {
  readonly output: string;
  readonly outputKind: OutputKind;
}

/** The output of `options`, decided once (its kind, folder and the inputs it must never touch). */
function targetOf(options: ConvertOptions & { readonly output: string }): OutputTarget {
  return outputTarget(options.output, options.checkpoint, options.format);
}

/**
 * Output checks that need no reading: the kind from the path, --format fits it, it does not replace the
 * checkpoint, and it does not exist (unless --force). Run before a conversion and by --dry-run.
 */
export function checkOutput(options: ConvertOptions & { readonly output: string }): OutputKind {
  const target = targetOf(options);
  checkTarget(target, options.force ?? false);
  return target.kind;
}

/** `openAndPlan` with Node's paths as messages show them, and every file it read as an input. */
async function openAndPlanOnNode(
  options: ConvertOptions,
): Promise<PlannedConversion & { source: TensorSource; inputs: InputFiles }> {
  const { source, reads, ...planned } = await openAndPlan({ displayPath, ...options });
  // Every file this conversion reads: none of them may ever be an output.
  const inputs = new InputFiles().add(options.checkpoint, ...checkpointFiles(source.path), ...reads);
  return { ...planned, source, inputs };
}

/** Opens the checkpoint, builds the config and the plan; reads no tensor bytes. */
export async function planConversion(options: ConvertOptions): Promise<PlannedConversion> {
  const {
    source,
    inputs: _,
    ...planned
  } = await openAndPlanOnNode(await withUrlFiles(options, httpOptionsFromEnv(process.env)));
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

/**
 * The transpose thread, started when a pass first needs it; where the address-space limit would make
 * starting it abort the process (ulimit -v), transposes stay in this thread, with a note.
 */
class TransposerOnDemand {
  started: Transposer | undefined;
  readonly notes: string[] = [];

  get(): Transposer {
    if (this.started === undefined) {
      const unavailable = transposeThreadUnavailable();
      if (unavailable !== undefined) this.notes.push(unavailable);
      this.started = unavailable === undefined ? startTransposeThread() : inThreadTransposer;
    }
    return this.started;
  }

  async close(): Promise<void> {
    await this.started?.close();
  }
}

/**
 * Converts a checkpoint into `options.output`, atomically: a path (`.bin`, `.safetensors` or a Hugging
 * Face folder), or an OutputTree (a folder, as on every platform: `convertInto`). `signal` stops it
 * (ErrorCode.ABORTED; nothing it wrote is kept, an existing output is left as it was); `onProgress` is
 * told the stage and the bytes written.
 */
export function convert(options: ConvertOptions): Promise<ConvertResult>;
export function convert(options: ConvertIntoOptions): Promise<ConversionResult>;
export async function convert(options: ConvertOptions | ConvertIntoOptions): Promise<ConversionResult> {
  if (options.output !== undefined && typeof options.output !== 'string')
    return convertInto(options as ConvertIntoOptions);
  return convertToPath(options as ConvertOptions);
}

async function convertToPath(options: ConvertOptions): Promise<ConvertResult> {
  const report = progressReporter(options);
  report('planning', 0, 0);
  if (options.output === undefined || options.output === '')
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      'missing --pytorch_dump_output (a .bin or .safetensors file, or a folder)',
    );
  const output = options.output;
  const force = options.force ?? false;
  const typed = targetOf({ ...options, output });
  const recoveryNotes: string[] = [];
  const onRecovered = (n: number) =>
    recoveryNotes.push(`${typed.display}: removed ${n} leftover${n > 1 ? 's' : ''} of an interrupted earlier run`);
  // Leftovers of dead runs first, so that the check sees a whole output.
  recoverOutput(typed, onRecovered);
  checkTarget(typed, force);
  checkCanCreate(output);
  const format: WeightFormat = options.format ?? 'safetensors';
  const maxShardSize = shardSize(options.maxShardSize);

  const input = await withUrlFiles(options, httpOptionsFromEnv(process.env));
  const passes = typed.kind === 'folder' && format === 'both' ? 2 : 1;
  // two passes read every tensor twice: a remote checkpoint's bytes are then fetched once, kept locally
  if (passes === 2 && input.files instanceof UrlFileTree) input.files.keepFetchedCopies(fetchedCopiesIn(typed.folder));
  const { source, inputs, ...planned } = await openAndPlanOnNode(input);
  const { plan, config, architecture, checkpointDir } = planned;
  const warnings: NoteInput[] = [...plan.warnings];
  try {
    report('planning', 0, 0);
    expectPlanReads(input.files, source, plan);
  } catch (error) {
    stopFetching(input.files);
    await source.close();
    throw error;
  }

  // The checkpoint as opening resolved it is never replaced either: checked again under the lock.
  const target = withInputs(typed, [source.path, checkpointDir]);
  const total = plan.totalBytes * passes;
  const transposers = new TransposerOnDemand();
  const common = {
    target,
    // A fresh state dict per pass. torch files keep transposed kernels in the checkpoint's order;
    // where kernels are transposed, a second thread does it.
    entriesFor: (weights: 'safetensors' | 'pytorch') => {
      const strided = weights === 'pytorch' && options.contiguous !== true;
      const transposer = !strided && transposes(plan) ? transposers.get() : transposers.started;
      return planToStateDict(plan, source.tensors, {
        strided,
        copyAliases: weights === 'safetensors',
        ...(transposer === undefined ? {} : { transposer }),
      });
    },
    configText: configTextOf(planned),
    container: architecture.torchContainer,
    inputs,
    ...(input.files === undefined ? {} : { files: input.files }),
    force,
    warnings,
    onRecovered,
  };
  const cardFacts = {
    planned,
    dir: target.folder,
    inputs: inputs.paths,
    warnings,
    command: options.command,
    verified: options.verify ?? true,
  };
  let files: string[];
  try {
    files =
      target.kind === 'folder'
        ? await writeFolderOutput({
            ...common,
            format,
            maxShardSize,
            architecture,
            config,
            embedded: planned.embedded,
            tokenizerConfig: planned.tokenizerConfig,
            checkpointDir,
            onProgress: (pass, n) => report('writing', pass * plan.totalBytes + n, total),
            modelCard: (written) =>
              modelCardFor({
                ...cardFacts,
                files: written,
                ...(input.files instanceof UrlFileTree ? { remoteInputs: input.files.filesRead() } : {}),
              }),
          })
        : await writeFileOutput({ ...common, onProgress: (n) => report('writing', n, total) });
  } finally {
    await stopFetching(input.files);
    await transposers.close();
    await source.close();
  }
  options.onProgress?.({ stage: 'done', bytesDone: total, bytesTotal: total });
  const notices = [
    ...planned.notices,
    ...[...recoveryNotes, ...transposers.notes].map((n) => asNotice(n)),
    ...warnings.map((w) => asNotice(w, 'warning')),
  ];
  const cli = (level: 'note' | 'warning') =>
    notices.filter((n) => n.level === level).map((n) => renderNotice(n, COMMAND_LINE_SPELLING));
  return {
    ...planned,
    notes: cli('note'),
    notices,
    output,
    outputKind: target.kind,
    files,
    warnings: cli('warning'),
    bytesWritten: total,
  };
}
