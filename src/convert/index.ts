/**
 * The library entry: `planConversion()` (open the checkpoint, build config and plan; no tensor bytes
 * read) and `convert()` (plan, then stream every output tensor into the folder or single-file writer,
 * `write-folder.ts` / `write-file.ts`, which replace the output without ever losing it).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { checkConfigNumbers } from '../architectures/checkpoint-facts.js';
import { describeRecognition, type Recognition, resolveArchitecture } from '../architectures/detect.js';
import { ARCHITECTURES, getArchitecture } from '../architectures/index.js';
import { resolveOptions } from '../architectures/options.js';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { OPENERS, openTensorSource } from '../formats/open.js';
import { DEFAULT_MAX_SHARD_SIZE, parseShardSize } from '../formats/sharding.js';
import type { TensorSource } from '../formats/source.js';
import { isObjectBased } from '../formats/tf-checkpoint/index.js';
import { openTorchFile, type TorchFile } from '../formats/torch/read.js';
import { checkCanCreate } from '../io/file.js';
import { buildPlan, type Plan } from '../mapping/plan.js';
import type { Architecture, ModelConfig } from '../mapping/types.js';
import { type DType, FLOAT_DTYPES } from '../tensor.js';
import { configJsonText, findConfigBeside, readConfigFile, readSidecar } from './config-file.js';
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
import { writeFileOutput } from './write-file.js';
import { writeFolderOutput } from './write-folder.js';

export interface ConvertOptions {
  /** `--model_type`, as transformers-cli spells it (bert, gpt2, …); absent: detected from the variable names. */
  readonly modelType?: string;
  /** `--tf_checkpoint`: a checkpoint prefix, file or folder. */
  readonly checkpoint: string;
  /** `--config`; when absent, the architecture's config files are looked for beside the checkpoint. */
  readonly config?: string;
  /** `--pytorch_dump_output`: `*.bin`, `*.safetensors`, or a folder. Not needed for a plan. */
  readonly output?: string;
  readonly finetuningTask?: string;
  /** Values of the model type's own flags (`discriminator_or_generator`), checked against its `options`. */
  readonly modelOptions?: Readonly<Record<string, string>>;
  /** Weight format of a folder output (default safetensors). */
  readonly format?: WeightFormat;
  readonly dtype?: 'keep' | DType;
  /** Bytes, or text such as "5GB". */
  readonly maxShardSize?: number | string;
  readonly force?: boolean;
  /** Verify checkpoint checksums while reading (default true). */
  readonly verify?: boolean;
  readonly skipUnknown?: boolean;
  /** Cumulative tensor bytes written, out of `total`. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface PlannedConversion {
  readonly plan: Plan;
  readonly config: ModelConfig;
  readonly architecture: Architecture;
  /** Where the checkpoint was resolved (prefix or file) and the folder beside which sidecars are found. */
  readonly checkpointPath: string;
  readonly checkpointDir: string;
  readonly notes: readonly string[];
  /** The unpickled object of a pickled training checkpoint (architectures with input 'pickled-checkpoint'). */
  readonly embedded?: unknown;
  /** What detection recognised, when `--model_type` was not given. */
  readonly detected?: Recognition;
}

export interface ConvertResult extends PlannedConversion {
  readonly output: string;
  readonly outputKind: OutputKind;
  /** Files written, relative to the output folder (or the file's folder). */
  readonly files: readonly string[];
  readonly warnings: readonly string[];
  readonly bytesWritten: number;
}

/** `--config some/folder/`: name the file to give instead, when the folder has one. */
function configIsFolder(path: string, architecture: Architecture): Tf2TorchError {
  const inside = (architecture.configFileNames ?? []).filter((name) => existsSync(join(path, name)));
  const hint =
    inside.length > 0
      ? `: give the file itself, e.g. --config ${join(path, inside[0] as string)}`
      : ': give the config file itself (a JSON file)';
  return new Tf2TorchError(ErrorCode.USAGE, `--config ${path} is a folder${hint}`, { file: path });
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

function sidecarDir(source: TensorSource): string {
  return existsSync(source.path) && statSync(source.path).isDirectory() ? source.path : dirname(source.path);
}

/** The format the registry of openers would read `path` as ('torch', 'tf-bundle', …), if any. */
export async function formatOfPath(path: string): Promise<string | undefined> {
  for (const opener of OPENERS) if (await opener.detect(path).catch(() => false)) return opener.format;
  return undefined;
}

/**
 * Opens a checkpoint whose type is not known yet: a torch file as a pickled checkpoint read as data
 * (the 'checkpoint' policy: nothing is executed), so that XLM's dict is recognisable; anything else as
 * openTensorSource does.
 */
export async function openAsIs(path: string, verify = true): Promise<{ source: TensorSource; pickled?: TorchFile }> {
  if ((await formatOfPath(path)) === 'torch') {
    const pickled = await openTorchFile(path, { policy: 'checkpoint', verify });
    return { source: pickled, pickled };
  }
  return { source: await openTensorSource(path, { verify }) };
}

/** Opens the checkpoint as `explicit` reads it, or, without a type, as it is (openAsIs). */
async function openFor(options: ConvertOptions, explicit: Architecture | undefined) {
  const verify = options.verify ?? true;
  if (explicit === undefined) return openAsIs(options.checkpoint, verify);
  const pickled: TorchFile | undefined =
    explicit.input === 'pickled-checkpoint'
      ? await openTorchFile(options.checkpoint, { policy: 'checkpoint', verify })
      : undefined;
  return { pickled, source: pickled ?? (await openTensorSource(options.checkpoint, { verify })) };
}

async function openAndPlan(
  options: ConvertOptions,
): Promise<PlannedConversion & { source: TensorSource; inputs: InputFiles }> {
  const explicit = options.modelType === undefined ? undefined : getArchitecture(options.modelType);
  // a flag the named type does not take is a usage mistake, told before any reading
  if (explicit) resolveOptions(explicit, options.modelOptions ?? {});
  const { pickled, source } = await openFor(options, explicit);
  try {
    const names = source.tensors.map((t) => t.name);
    if (source.format.startsWith('tf') && isObjectBased(names)) {
      throw new Tf2TorchError(
        ErrorCode.WRONG_CHECKPOINT_KIND,
        `${source.path}: this is a TF2 object-based checkpoint (tf.train.Checkpoint / Keras save_weights: names like '.../.ATTRIBUTES/VARIABLE_VALUE'), not a name-based TF1 checkpoint as the original ${options.modelType ?? 'model'} code writes; transformers-cli cannot convert it either. Run \`tf2torch inspect ${options.checkpoint}\` to see its variables.`,
        { file: source.path },
      );
    }
    const listing = source.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      ...(t.view === undefined ? {} : { view: t.view }),
    }));
    const dir = sidecarDir(source);
    const { architecture, detected } = resolveArchitecture(
      options.modelType,
      explicit,
      { listing, format: source.format, hasSidecar: (f) => existsSync(join(dir, f)), embedded: pickled?.root },
      source.path,
    );
    // Every file this conversion reads: none of them may ever be an output.
    const inputs = new InputFiles().add(options.checkpoint, ...checkpointFiles(source.path));
    for (const tok of architecture.tokenizerFiles ?? [])
      inputs.add(...(typeof tok.from === 'string' ? [tok.from] : tok.from).map((name) => join(dir, name)));
    const modelOptions = resolveOptions(architecture, options.modelOptions ?? {});
    let user: ModelConfig | undefined;
    let userPath: string | undefined;
    const configNotes: string[] = [];
    if (detected)
      configNotes.push(
        `${describeRecognition(detected)} (detected from ${detected.evidence}${detected.sidecars.length > 0 ? ` and ${detected.sidecars.join(', ')}` : ''}; --model_type overrides)`,
      );
    if (options.config !== undefined && options.config !== '') {
      if (existsSync(options.config) && statSync(options.config).isDirectory())
        throw configIsFolder(options.config, architecture);
      user = readConfigFile(options.config);
      userPath = options.config;
      inputs.add(userPath);
    } else if (architecture.configFileNames) {
      const found = findConfigBeside(dir, architecture.configFileNames);
      if (found) {
        ({ config: user, path: userPath } = found);
        inputs.add(found.path);
        configNotes.push(`config: ${displayPath(found.path)} (found beside the checkpoint; --config to use another)`);
      }
    }
    if (options.finetuningTask !== undefined && architecture.takesFinetuningTask !== true) {
      configNotes.push(
        `--finetuning_task_name ${options.finetuningTask} is ignored: only ${ARCHITECTURES.filter(
          (a) => a.takesFinetuningTask === true,
        )
          .map((a) => a.modelType)
          .join(
            ', ',
          )} use${ARCHITECTURES.filter((a) => a.takesFinetuningTask === true).length === 1 ? 's' : ''} it (transformers-cli ignores it silently)`,
      );
    }
    const config = architecture.buildConfig({
      user,
      userPath,
      finetuningTask: options.finetuningTask,
      sidecar: (fileName) => {
        inputs.add(join(dir, fileName));
        return readSidecar(join(dir, fileName));
      },
      listing,
      note: (text) => configNotes.push(text),
      embedded: pickled?.root,
      checkpointPath: source.path,
      options: modelOptions,
    });
    checkConfigNumbers(config, userPath ?? `the ${options.modelType} config built from ${source.path}`);
    const plan = buildPlan(listing, architecture, config, {
      skipUnknown: options.skipUnknown,
      dtype: options.dtype,
    });
    return {
      plan,
      config,
      architecture,
      checkpointPath: source.path,
      checkpointDir: dir,
      notes: [...source.notes, ...configNotes],
      source,
      inputs,
      embedded: pickled?.root,
      detected,
    };
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Opens the checkpoint, builds the config and the plan; reads no tensor bytes. */
export async function planConversion(options: ConvertOptions): Promise<PlannedConversion> {
  const { source, inputs: _, ...planned } = await openAndPlan(options);
  await source.close();
  return planned;
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

  const { source, inputs, ...planned } = await openAndPlan(options);
  const { plan, config, architecture, checkpointDir } = planned;
  const warnings = [...plan.warnings];

  const passes = outputKind === 'folder' && format === 'both' ? 2 : 1;
  const total = plan.totalBytes * passes;
  const common = {
    output,
    entries: planToStateDict(plan, source.tensors),
    configText: architecture.configText?.(config) ?? configJsonText(withTorchDType(config, plan)),
    container: architecture.torchContainer,
    inputs,
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
    await source.close();
  }
  const notes = [...planned.notes, ...recoveryNotes];
  return { ...planned, notes, output, outputKind, files, warnings, bytesWritten: total };
}

/**
 * `torch_dtype`, as save_pretrained records it: the dtype of the floating-point weights written (when
 * they share one), so that `from_pretrained(..., torch_dtype="auto")` loads them as they are.
 */
function withTorchDType(config: ModelConfig, plan: Plan): ModelConfig {
  const floats = new Set(
    plan.outputs.filter((o) => o.kind === 'tensor' && FLOAT_DTYPES.has(o.dtype)).map((o) => o.dtype),
  );
  return floats.size === 1 ? { ...config, torch_dtype: [...floats][0] } : config;
}
