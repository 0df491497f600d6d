/**
 * A conversion independent of any platform: open the checkpoint through a `FileTree`, resolve the type,
 * build config and plan (`openAndPlan`), and write a Hugging Face folder's files into an `OutputTree`
 * (`writeModelFolder`). `index.ts` composes these for Node paths; a browser passes the picked files.
 */
import { checkReadablePath, defaultFiles } from '#platform';
import { checkConfigNumbers } from '../architectures/checkpoint-facts.js';
import {
  type DetectionInput,
  describeRecognition,
  detectArchitecture,
  type Recognition,
  resolveArchitecture,
} from '../architectures/detect.js';
import { getArchitecture, getObjectBasedArchitecture } from '../architectures/index.js';
import { resolveOptions } from '../architectures/options.js';
import { tokenizerConfigFiles } from '../architectures/tokenizer.js';
import { ErrorCode, Tf2TorchError, throwIfAborted } from '../errors.js';
import { alreadyPyTorchError, isAlreadyPyTorch } from '../formats/foreign-kinds.js';
import { OPENERS, openTensorSource } from '../formats/open.js';
import { isWeightFileName } from '../formats/sharding.js';
import type { TensorSource } from '../formats/source.js';
import { isObjectBased } from '../formats/tf-checkpoint/index.js';
import { openTorchFile, type TorchFile } from '../formats/torch/read.js';
import { abortableFiles } from '../io/abortable-files.js';
import { type FileTree, isDirectory } from '../io/byte-source.js';
import {
  AdviceCode,
  adviceError,
  asNotice,
  COMMAND_LINE_SPELLING,
  type Notice,
  NoticeCode,
  notice,
  renderNotice,
} from '../mapping/notices.js';
import { buildPlan, type Plan } from '../mapping/plan.js';
import type { Architecture, ModelConfig } from '../mapping/types.js';
import { type DType, FLOAT_DTYPES } from '../tensor.js';
import { configJsonText, findConfigBeside, readConfigFile, readSidecar } from './config-file.js';
import { type SavedModelView, savedModelView } from './saved-model-view.js';

export type WeightFormat = 'safetensors' | 'pytorch' | 'both';

export interface ConvertOptions {
  /** `--model_type`, as transformers-cli spells it (bert, gpt2, …); absent: detected from the variable names. */
  readonly modelType?: string;
  /** `--tf_checkpoint`: a checkpoint prefix, file or folder. */
  readonly checkpoint: string;
  /** `--config`; when absent, the architecture's config files are looked for beside the checkpoint. */
  readonly config?: string;
  /** `--pytorch_dump_output`: `*.bin`, `*.safetensors`, or a folder. Not needed for a plan. */
  readonly output?: string;
  /** Values of the model type's own flags (`discriminator_or_generator`), checked against its `options`. */
  readonly modelOptions?: Readonly<Record<string, string>>;
  /** Weight format of a folder output (default safetensors). */
  readonly format?: WeightFormat;
  readonly dtype?: 'keep' | DType;
  /** Bytes, or text such as "5GB". */
  readonly maxShardSize?: number | string;
  readonly force?: boolean;
  /**
   * torch files: write reordered tensors (transposed kernels) in row-major order. By default they are
   * stored as transformers' converter stores them: the checkpoint's own order, read through strides.
   */
  readonly contiguous?: boolean;
  /** Verify checkpoint checksums while reading (default true). */
  readonly verify?: boolean;
  readonly skipUnknown?: boolean;
  /** `--do_lower_case`: the casing tokenizer_config.json records, whatever the evidence says. */
  readonly doLowerCase?: boolean;
  /** Where the checkpoint and its sidecars are read (default: the platform's file system). */
  readonly files?: FileTree;
  /** Paths as messages show them (Node: relative to the working directory). */
  readonly displayPath?: (path: string) => string;
  /** The command line that asked for this conversion, as the model card records it. */
  readonly command?: string;
  /** Told where the conversion is: its stage and the tensor bytes written out of the total. */
  readonly onProgress?: (progress: ConversionProgress) => void;
  /** Stops the conversion: it fails with `ErrorCode.ABORTED`, nothing it wrote is kept, the checkpoint is closed. */
  readonly signal?: AbortSignal;
}

/** Where a conversion is: `planning` (reading the listing and config), `writing` tensors, `done`. */
export interface ConversionProgress {
  readonly stage: 'planning' | 'writing' | 'done';
  /** Tensor bytes written so far, over every weight format written. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface PlannedConversion {
  readonly plan: Plan;
  readonly config: ModelConfig;
  readonly architecture: Architecture;
  /** Where the checkpoint was resolved (prefix or file) and the folder beside which sidecars are found. */
  readonly checkpointPath: string;
  readonly checkpointDir: string;
  /** Notes as data (code, message, values): what the page and library callers show. */
  readonly notices: readonly Notice[];
  /** The same notes as the command line words them (flags). */
  readonly notes: readonly string[];
  /** The unpickled object of a pickled training checkpoint (architectures with input 'pickled-checkpoint'). */
  readonly embedded?: unknown;
  /** What detection recognised, when `--model_type` was not given. */
  readonly detected?: Recognition;
  /** tokenizer_config.json and special_tokens_map.json of a folder output (architectures/tokenizer.ts). */
  readonly tokenizerConfig?: readonly { readonly name: string; readonly text: string }[];
}

/** `--config some/folder/`: name the file to give instead, when the folder has one. */
function configIsFolder(path: string, architecture: Architecture, files: FileTree): Tf2TorchError {
  const { join } = files.paths;
  const inside = (architecture.configFileNames ?? []).filter((name) => files.stat(join(path, name)) !== undefined);
  const example = inside[0] === undefined ? undefined : join(path, inside[0]);
  return adviceError(
    ErrorCode.USAGE,
    {
      code: AdviceCode.CONFIG_IS_FOLDER,
      option: 'config',
      template: `{@config path} is a folder: ${example === undefined ? 'give the config file itself (a JSON file)' : 'give the file itself, e.g. {@config example}'}`,
      values: example === undefined ? { path } : { path, example },
    },
    { file: path },
  );
}

/** Weights PyTorch already loads (safetensors, a state dict) need no conversion: say how to load them. */
function refuseAlreadyPyTorch(source: TensorSource, pickledRoot: unknown, files: FileTree): void {
  const root = pickledRoot ?? (source as Partial<TorchFile>).root;
  if (!isAlreadyPyTorch(source.format, root, source.tensors)) return;
  const dir = files.paths.dirname(source.path);
  const withConfig = files.stat(files.paths.join(dir, 'config.json')) === undefined ? undefined : dir;
  throw alreadyPyTorchError(source.path, source.format, source.tensors, withConfig);
}

function sidecarDir(source: TensorSource, files: FileTree): string {
  return isDirectory(files, source.path) ? source.path : files.paths.dirname(source.path);
}

/** The format the registry of openers would read `path` as ('torch', 'tf-bundle', …), if any. */
export async function formatOfPath(path: string, files?: FileTree): Promise<string | undefined> {
  for (const opener of OPENERS) if (await opener.detect(path, { files }).catch(() => false)) return opener.format;
  return undefined;
}

/**
 * Opens a checkpoint whose type is not known yet: a torch file as a pickled checkpoint read as data
 * (the 'checkpoint' policy: nothing is executed), so that XLM's dict is recognisable; anything else as
 * openTensorSource does.
 */
export async function openAsIs(
  path: string,
  verify = true,
  files?: FileTree,
): Promise<{ source: TensorSource; pickled?: TorchFile }> {
  if ((await formatOfPath(path, files)) === 'torch') {
    const pickled = await openTorchFile(path, { policy: 'checkpoint', verify, files });
    return { source: pickled, pickled };
  }
  return { source: await openTensorSource(path, { verify, files }) };
}

/** Opens the checkpoint as `explicit` reads it, or, without a type, as it is (openAsIs). */
async function openFor(options: ConvertOptions, explicit: Architecture | undefined) {
  const verify = options.verify ?? true;
  const files = options.files;
  if (explicit === undefined) return openAsIs(options.checkpoint, verify, files);
  const pickled: TorchFile | undefined =
    explicit.input === 'pickled-checkpoint'
      ? await openTorchFile(options.checkpoint, { policy: 'checkpoint', verify, files })
      : undefined;
  return { pickled, source: pickled ?? (await openTensorSource(options.checkpoint, { verify, files })) };
}

/**
 * The config the user gave (`--config`), or the architecture's config file found beside the checkpoint
 * (told in `notes`); either is added to `reads`. Neither: undefined, the architecture builds its own.
 */
function userConfig(
  options: ConvertOptions,
  architecture: Architecture,
  dir: string,
  files: FileTree,
  reads: string[],
  notes: Notice[],
): { user?: ModelConfig; userPath?: string } {
  if (options.config !== undefined && options.config !== '') {
    if (isDirectory(files, options.config)) throw configIsFolder(options.config, architecture, files);
    reads.push(options.config);
    return { user: readConfigFile(options.config, options.files), userPath: options.config };
  }
  if (!architecture.configFileNames) return {};
  const found = findConfigBeside(dir, architecture.configFileNames, options.files);
  if (!found) return {};
  reads.push(found.path);
  notes.push(
    notice(NoticeCode.CONFIG_FOUND, 'config: {path} (found beside the checkpoint; {@config} to use another)', {
      path: (options.displayPath ?? String)(found.path),
    }),
  );
  return { user: found.config, userPath: found.path };
}

/**
 * The type of a TF2 object-based checkpoint: `--model_type`'s object-based reader, or the detected one.
 * Types without one (and checkpoints of no type tf2torch reads) are refused as before.
 */
function resolveObjectBased(
  options: ConvertOptions,
  input: DetectionInput,
  where: string,
): { architecture: Architecture; detected?: Recognition } {
  const refuse = () =>
    new Tf2TorchError(
      ErrorCode.WRONG_CHECKPOINT_KIND,
      `${where}: this is a TF2 object-based checkpoint (tf.train.Checkpoint / Keras save_weights: names like '.../.ATTRIBUTES/VARIABLE_VALUE'), not a name-based TF1 checkpoint as the original ${options.modelType ?? 'model'} code writes, nor one of TF2 Model Garden's BERT encoders; transformers-cli cannot convert it either. Run \`tf2torch inspect ${options.checkpoint}\` to see its variables and object tree.`,
      { file: where },
    );
  const detected = detectArchitecture(input);
  const found = detected.kind === 'recognised' ? detected.recognition : undefined;
  if (found === undefined || found.architecture.objectBased !== true) throw refuse();
  if (options.modelType === undefined) return { architecture: found.architecture, detected: found };
  const reader = getObjectBasedArchitecture(options.modelType);
  if (reader === undefined) throw refuse();
  return resolveArchitecture(options.modelType, reader, input, where);
}

/**
 * Opens the checkpoint, resolves its type and builds config and plan; `source` stays open for the
 * conversion, and `reads` lists every other file read (config, sidecars, tokenizer sources).
 */
export async function openAndPlan(
  options: ConvertOptions,
): Promise<PlannedConversion & { source: TensorSource; reads: string[] }> {
  const explicit = options.modelType === undefined ? undefined : getArchitecture(options.modelType);
  // a flag the named type does not take is a usage mistake, told before any reading
  if (explicit) resolveOptions(explicit, options.modelOptions ?? {});
  const files = options.files ?? defaultFiles;
  const { join } = files.paths;
  const { signal } = options;
  // opening reads the index, opens shards, parses an object graph: each open and read checks the signal
  const guarded = signal === undefined ? undefined : abortableFiles(files, signal);
  // the platform's own checks of a path (FIFOs, devices), which openers make only when given no tree
  if (guarded && options.files === undefined) await checkReadablePath(options.checkpoint);
  const opened = await openFor(guarded ? { ...options, files: guarded.files } : options, explicit).catch(
    async (error: unknown) => {
      await guarded?.closeAll();
      throw error;
    },
  );
  const { pickled } = opened;
  let byNames: SavedModelView | undefined;
  try {
    byNames = savedModelView(opened.source, explicit);
  } catch (error) {
    await opened.source.close();
    await guarded?.closeAll();
    throw error;
  }
  const source = byNames?.source ?? opened.source;
  try {
    throwIfAborted(signal);
    const objectBased = source.format.startsWith('tf') && isObjectBased(source.tensors.map((t) => t.name));
    refuseAlreadyPyTorch(source, pickled?.root, files);
    const listing = source.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      ...(t.view === undefined ? {} : { view: t.view }),
    }));
    const dir = sidecarDir(source, files);
    const present = new Set(files.list(dir));
    const reads: string[] = [];
    const input = {
      listing,
      format: source.format,
      hasSidecar: (f: string) => present.has(f),
      embedded: pickled?.root,
    };
    const { architecture, detected }: { architecture: Architecture; detected?: Recognition } = byNames
      ? { architecture: byNames.architecture }
      : objectBased
        ? resolveObjectBased(options, input, source.path)
        : resolveArchitecture(options.modelType, explicit, input, source.path);
    for (const tok of architecture.tokenizerFiles ?? [])
      reads.push(...(typeof tok.from === 'string' ? [tok.from] : tok.from).map((name) => join(dir, name)));
    throwIfAborted(signal);
    const modelOptions = resolveOptions(architecture, options.modelOptions ?? {});
    const configNotes: Notice[] = [];
    if (detected)
      configNotes.push(
        notice(NoticeCode.TYPE_DETECTED, '{recognition} (detected from {evidence}; {@modelType} overrides)', {
          recognition: describeRecognition(detected),
          modelType: detected.architecture.modelType,
          modelClass: detected.modelClass,
          evidence: `${detected.evidence}${detected.sidecars.length > 0 ? ` and ${detected.sidecars.join(', ')}` : ''}`,
        }),
      );
    const { user, userPath } = userConfig(options, architecture, dir, files, reads, configNotes);
    const config = architecture.buildConfig({
      user,
      userPath,
      sidecar: (fileName) => {
        reads.push(join(dir, fileName));
        return readSidecar(join(dir, fileName), undefined, options.files);
      },
      listing,
      note: (note) => configNotes.push(asNotice(note)),
      embedded: pickled?.root,
      checkpointPath: source.path,
      options: modelOptions,
      readFile: (path, what) => {
        reads.push(path);
        const text = readSidecar(path, what, options.files);
        if (text === undefined)
          throw new Tf2TorchError(ErrorCode.NOT_FOUND, `${what} ${path} not found`, { file: path });
        return text;
      },
    });
    checkConfigNumbers(config, userPath ?? `the ${architecture.modelType} config built from ${source.path}`);
    const tokenizer = tokenizerConfigFiles(architecture, config, {
      doLowerCase: options.doLowerCase,
      releaseNames: [files.paths.basename(dir), files.paths.basename(source.path)],
      hasFile: (name) => present.has(name),
      vocabText: () => readSidecar(join(dir, 'vocab.txt'), 'tokenizer file', options.files),
    });
    if (tokenizer) configNotes.push(tokenizer.note);
    throwIfAborted(signal);
    const plan = buildPlan(listing, architecture, config, {
      skipUnknown: options.skipUnknown,
      dtype: options.dtype,
    });
    const notices = [...source.notes.map((n) => asNotice(n)), ...configNotes];
    return {
      plan,
      config,
      architecture,
      checkpointPath: source.path,
      checkpointDir: dir,
      notices,
      notes: notices.map((n) => renderNotice(n, COMMAND_LINE_SPELLING)),
      source,
      reads,
      embedded: pickled?.root,
      detected,
      tokenizerConfig: tokenizer?.files,
    };
  } catch (error) {
    await source.close();
    await guarded?.closeAll();
    throw error;
  }
}

/** config.json text: the architecture's own, or transformers' spelling with `torch_dtype`. */
export function configTextOf(planned: PlannedConversion): string {
  const { architecture, config, plan } = planned;
  return architecture.configText?.(config) ?? configJsonText(withTorchDType(config, plan));
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

/**
 * The files a checkpoint path stands for in `files`: a folder's files; a prefix, its files and the
 * TF `checkpoint` state file beside it; a sharded index, the weight files beside it.
 */
export function checkpointFilesIn(files: FileTree, path: string): string[] {
  const paths = files.paths;
  if (files.stat(path)?.kind === 'directory') return files.list(path).map((name) => paths.join(path, name));
  const dir = paths.dirname(path);
  const base = paths.basename(path);
  const related = files
    .list(dir)
    .filter(
      (name) =>
        name === base ||
        name.startsWith(`${base}.`) ||
        name === 'checkpoint' ||
        (base.endsWith('.index.json') && isWeightFileName(name)),
    );
  return [...new Set([path, ...related.map((name) => paths.join(dir, name))])];
}
