/**
 * `tf2torch convert`: the transformers-cli command line (`--model_type --tf_checkpoint --config
 * --pytorch_dump_output`, kebab-case accepted too), the flags each model type declares (its
 * converter's, such as transformers-cli's task name), plus dry run, formats, dtype, sharding and
 * overwrite control. The model types, their classes and their flags in help come from the architectures.
 */

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ARCHITECTURES, MODEL_TYPES as TYPE_NAMES } from '../architectures/index.js';
import { declaredOptions, kebab, optionSyntax, takesValue } from '../architectures/options.js';
import {
  type ConversionProgress,
  type ConvertOptions,
  checkOutput,
  convert,
  planConversion,
} from '../convert/index.js';
import { displayPath, type WeightFormat } from '../convert/output/output-target.js';
import { fetchProgress, fetchSummary, httpOptionsFromEnv, openUrlFiles } from '../convert/url-input.js';
import { ErrorCode, isTf2TorchError, Tf2TorchError } from '../errors.js';
import { formatPlan } from '../mapping/format-plan.js';
import { COMMAND_LINE_SPELLING, renderNotice } from '../mapping/notices.js';
import type { DType } from '../tensor.js';
import { formatBytes } from '../units.js';
import type { Command, CommandIO } from './io.js';
import { commandLine, nextSteps } from './next-steps.js';
import { type ProgressBar, progressBar } from './progress.js';

const typeWidth = Math.max(...ARCHITECTURES.map((a) => a.modelType.length));
/** Per model type: what each of its readers reads and makes (name-based, then object-based), then each flag it takes. */
const MODEL_TYPES = TYPE_NAMES.map((type) => {
  const readers = ARCHITECTURES.filter((a) => a.modelType === type);
  return [
    ...readers.map((a, i) => `  ${(i === 0 ? type : '').padEnd(typeWidth)}  ${a.summary}`),
    ...readers
      .flatMap((a) => a.options ?? [])
      .map((o) => `  ${' '.repeat(typeWidth)}    ${optionSyntax(o)}: ${o.help}`),
  ].join('\n');
}).join('\n');

/** Each declared flag once, with the types that take it. */
const MODEL_FLAGS = declaredOptions(ARCHITECTURES)
  .map(({ option, types }) => `  ${optionSyntax(option).padEnd(27)}  ${types.join(', ')}`)
  .join('\n');

/** The types whose converters cast every weight to float32 (their `defaultDType`). */
const FLOAT32_TYPES = ARCHITECTURES.filter((a) => a.defaultDType === 'float32')
  .map((a) => a.modelType)
  .join(', ');

const HELP = `tf2torch convert — convert an original checkpoint into Hugging Face PyTorch weights

Usage:
  tf2torch convert --tf_checkpoint PATH [--model_type TYPE] [--config FILE] --pytorch_dump_output OUT [options]

The options transformers-cli has (same spelling; kebab-case works too: --model-type, --tf-checkpoint, …):
  --model_type TYPE            ${TYPE_NAMES.join(', ')} (see Model types below); optional:
                               without it the type, and a fine-tuned head, are recognised from the variable
                               names (and the release files beside them); ambiguity is an error listing the
                               candidates; a type the names contradict is refused
  --tf_checkpoint PATH         checkpoint prefix (bert_model.ckpt), its .index/.data file, or its folder; or
                               an https:// or gs://bucket/… URL of one (only the index and the tensors the
                               plan needs are fetched; Authorization header from TF2TORCH_HTTP_AUTHORIZATION)
  --config FILE                the original config (bert_config.json; a URL too); default: looked for beside
                               the checkpoint
  --pytorch_dump_output OUT    what to write, decided by the path:
                                 *.bin          one torch.save file (as transformers-cli writes it)
                                 *.safetensors  one safetensors file
                                 a folder       (existing, ending in '/', or without extension) a ready
                                                Hugging Face folder: config.json, weights, tokenizer files
                               single files get a config.json beside them unless one exists (--force: replaced);
                               missing folders are created; the checkpoint's own folder is refused

Flags of some model types only (as their converters spell them; kebab-case too), explained under Model types;
a type that does not take a flag refuses it:
${MODEL_FLAGS}

More:
  --dry-run                    print the conversion plan (every key, source, transform), write nothing
  --format FMT                 folder weights: safetensors (default), pytorch, or both
  --dtype DT                   keep, float32, float16 or bfloat16 (floating-point tensors only); default:
                               keep the checkpoint's, except ${FLOAT32_TYPES}: float32, as transformers does
  --max-shard-size SIZE        shard folder weights above this size (default 5GB; e.g. 500MB, 2GiB)
  --force                      overwrite an existing output
  --contiguous                 .bin weights: store transposed kernels transposed (row-major); by default they
                               keep the checkpoint's order and torch reads them through strides, exactly as
                               transformers' converter saves them (torch.load gives non-contiguous tensors)
  --no-verify                  do not verify checkpoint checksums (faster; corrupt data goes unnoticed)
  --skip-unknown               leave out variables no rule maps (reported) instead of failing
  --do_lower_case true|false   folder tokenizer_config.json: lowercase input or not; default: decided from the
                               release name (uncased/cased), else the vocabulary (an uncased one has no
                               upper-case word pieces); a note says which evidence decided
  --quiet                      no progress bar, no summary (warnings and errors still go to stderr)

Examples:
  # no --model_type: the type, and the head of a fine-tuned checkpoint, are recognised from its variables
  tf2torch convert --tf_checkpoint mrpc_output/model.ckpt-343 \\
    --config uncased_L-12_H-768_A-12/bert_config.json --pytorch_dump_output mrpc-hf/

  # exactly the transformers-cli command (writes pytorch_model.bin, plus config.json beside it)
  tf2torch convert --model_type bert --tf_checkpoint uncased_L-12_H-768_A-12/bert_model.ckpt \\
    --config uncased_L-12_H-768_A-12/bert_config.json --pytorch_dump_output out/pytorch_model.bin

  # a folder from_pretrained() loads as is (config.json, model.safetensors, vocab.txt)
  tf2torch convert --model_type bert --tf_checkpoint uncased_L-12_H-768_A-12/bert_model.ckpt --pytorch_dump_output bert-hf/

  # see what would happen first
  tf2torch convert --model_type bert --tf_checkpoint uncased_L-12_H-768_A-12/bert_model.ckpt --dry-run

Model types, with the flags each takes:
${MODEL_TYPES}

The plan and the summary go to stdout; notes, warnings, errors and the progress bar to stderr.
Exit status: 0 done, 1 bad input or a file system problem (error[CODE] names the path), 2 usage mistake, 130 interrupted
(Ctrl-C; 143 on SIGTERM, 129 on SIGHUP): unfinished outputs are removed, an existing output is left as it was.
`;

interface Flag {
  readonly type: 'string' | 'boolean';
  /** The other spelling accepted (kebab-case for transformers-cli's snake_case names, and back). */
  readonly alias?: string;
}

/** Each flag once, by the name it is read as. */
const FLAGS = {
  model_type: { type: 'string', alias: 'model-type' },
  tf_checkpoint: { type: 'string', alias: 'tf-checkpoint' },
  config: { type: 'string' },
  pytorch_dump_output: { type: 'string', alias: 'pytorch-dump-output' },
  'dry-run': { type: 'boolean', alias: 'dry_run' },
  format: { type: 'string' },
  dtype: { type: 'string' },
  'max-shard-size': { type: 'string', alias: 'max_shard_size' },
  force: { type: 'boolean' },
  contiguous: { type: 'boolean' },
  'no-verify': { type: 'boolean' },
  'skip-unknown': { type: 'boolean' },
  do_lower_case: { type: 'string', alias: 'do-lower-case' },
  quiet: { type: 'boolean' },
} as const satisfies Record<string, Flag>;

/** The flags architectures declare (`options`), by their snake_case names. */
const MODEL_FLAGS_BY_NAME: Record<string, Flag> = Object.fromEntries(
  declaredOptions(ARCHITECTURES).map(({ option }) => {
    const alias = kebab(option.name);
    return [
      option.name,
      { type: takesValue(option) ? 'string' : 'boolean', ...(alias === option.name ? {} : { alias }) },
    ];
  }),
);

const ALL_FLAGS: Record<string, Flag> = { ...FLAGS, ...MODEL_FLAGS_BY_NAME };

type ParsedValues = {
  [name in keyof typeof FLAGS]?: (typeof FLAGS)[name]['type'] extends 'string' ? string : boolean;
} & Record<string, string | boolean | undefined>;

/** The given values of declared model-type flags, by snake_case name (flags as 'true'). */
function modelOptionsFrom(values: ParsedValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(MODEL_FLAGS_BY_NAME)) {
    const value = values[name];
    if (value !== undefined) out[name] = String(value);
  }
  return out;
}

const FORMATS: readonly WeightFormat[] = ['safetensors', 'pytorch', 'both'];
const DTYPE_CHOICES = ['keep', 'float32', 'float16', 'bfloat16'] as const;

function parse(argv: string[]) {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (cause) {
    throw new Tf2TorchError(ErrorCode.USAGE, `${(cause as Error).message} (see tf2torch convert --help)`, { cause });
  }
  checkNoConflicts(parsed.tokens);
  // Each value under the name it is read as, whichever spelling gave it.
  const given = parsed.values as Record<string, string | boolean | undefined>;
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, flag] of Object.entries(ALL_FLAGS))
    values[name] = given[name] ?? (flag.alias === undefined ? undefined : given[flag.alias]);
  return values as ParsedValues;
}

const parseOptions = (argv: string[]) =>
  parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.entries(ALL_FLAGS).flatMap(([name, { type, alias }]) => [
        [name, { type }],
        ...(alias === undefined ? [] : [[alias, { type }]]),
      ]),
    ),
    strict: true,
    allowPositionals: false,
    tokens: true,
  });

/**
 * One option given twice (in either spelling: `--model_type bert --model-type gpt2`) with different
 * values is a mistake to point out, not something to settle by order; the same value twice is fine.
 */
function checkNoConflicts(tokens: readonly { kind: string; name?: string; rawName?: string; value?: string }[]): void {
  const seen = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.value === undefined || token.name === undefined) continue;
    const key = token.name.replace(/-/g, '_');
    const given = `${token.rawName} ${token.value}`;
    const earlier = seen.get(key);
    if (earlier !== undefined && earlier.slice(earlier.indexOf(' ') + 1) !== token.value) {
      throw new Tf2TorchError(
        ErrorCode.USAGE,
        `conflicting values: ${earlier} and ${given}; give --${key} once (see tf2torch convert --help)`,
      );
    }
    seen.set(key, given);
  }
}

export function optionsFromArgv(argv: string[]): ConvertOptions & { dryRun: boolean; quiet: boolean } {
  const v = parse(argv);
  const modelType = v.model_type;
  const checkpoint = v.tf_checkpoint;
  if (checkpoint === undefined)
    throw new Tf2TorchError(ErrorCode.USAGE, 'missing --tf_checkpoint (the checkpoint prefix, e.g. bert_model.ckpt)');
  const dryRun = v['dry-run'] === true;
  const output = v.pytorch_dump_output;
  if (!dryRun && output === undefined)
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      'missing --pytorch_dump_output (a .bin or .safetensors file, or a folder); or use --dry-run',
    );
  const format = v.format;
  if (format !== undefined && !FORMATS.includes(format as WeightFormat))
    throw new Tf2TorchError(ErrorCode.USAGE, `--format ${format}: expected one of ${FORMATS.join(', ')}`);
  const dtype = v.dtype;
  if (dtype !== undefined && !(DTYPE_CHOICES as readonly string[]).includes(dtype))
    throw new Tf2TorchError(ErrorCode.USAGE, `--dtype ${dtype}: expected one of ${DTYPE_CHOICES.join(', ')}`);
  const maxShardSize = v['max-shard-size'];
  const config = v.config;
  const lowerCase = v.do_lower_case;
  if (lowerCase !== undefined && lowerCase !== 'true' && lowerCase !== 'false')
    throw new Tf2TorchError(ErrorCode.USAGE, `--do_lower_case ${lowerCase}: expected true or false`);
  return {
    modelType,
    checkpoint,
    config,
    output,
    modelOptions: modelOptionsFrom(v),
    format: format as WeightFormat,
    dtype: dtype as 'keep' | DType,
    maxShardSize,
    force: v.force === true,
    contiguous: v.contiguous === true,
    verify: v['no-verify'] !== true,
    skipUnknown: v['skip-unknown'] === true,
    ...(lowerCase === undefined ? {} : { doLowerCase: lowerCase === 'true' }),
    dryRun,
    quiet: v.quiet === true,
  };
}

/** --dry-run with --pytorch_dump_output: what a real run would refuse is told, not fatal. */
function outputNotes(options: ConvertOptions): string[] {
  if (options.output === undefined) return [];
  try {
    checkOutput({ ...options, output: options.output });
    return [];
  } catch (error) {
    if (isTf2TorchError(error) && error.code === ErrorCode.OUTPUT_EXISTS)
      return [`a real run would stop: ${error.message}`];
    throw error;
  }
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { dryRun, quiet, ...options } = optionsFromArgv(argv);
  if (dryRun) {
    const early = outputNotes(options);
    const { plan, notices } = await planConversion(options);
    for (const n of notices) io.err(`note: ${renderNotice(n, COMMAND_LINE_SPELLING)}\n`);
    for (const n of early) io.err(`note: ${n}\n`);
    io.out(formatPlan(plan));
    return 0;
  }
  let bar: ProgressBar | undefined;
  const showBar = !quiet && io.errIsTTY;
  // a URL's files, found first
  const remote = await openUrlFiles(options.checkpoint, options.config, {
    ...httpOptionsFromEnv(process.env),
    ...(options.modelType === undefined ? {} : { modelType: options.modelType }),
  });
  const result = await convert({
    ...options,
    ...(remote === undefined ? {} : { files: remote }),
    command: commandLine(argv),
    ...(showBar
      ? {
          onProgress: ({ stage, bytesDone, bytesTotal }: ConversionProgress) => {
            if (stage !== 'writing') return;
            bar ??= progressBar(bytesTotal, (t) => io.err(t), Date.now, remote && (() => fetchProgress(remote)));
            bar.update(bytesDone);
          },
        }
      : {}),
  });
  bar?.finish();
  io.committed?.(`the conversion was committed: ${displayPath(result.output)} is complete`);
  if (!quiet) {
    const { plan } = result;
    const folder = result.outputKind === 'folder' ? result.output : join(result.output, '..');
    io.out(
      [
        `converted ${plan.modelType} checkpoint ${displayPath(result.checkpointPath)} (${plan.variableCount} variables, ${plan.skipped.length} skipped) → ${displayPath(result.output)}`,
        `  ${plan.outputs.length} keys${plan.modelClass ? ` of ${plan.modelClass}` : ''}, ${formatBytes(plan.totalBytes)} of weights`,
        ...result.files.map((f) => `  wrote ${displayPath(join(folder, f))}`),
        ...plan.zeroFilled.map(
          (m) => `  not in the checkpoint, written as zeros as the original initialises it: ${m.key}`,
        ),
        ...plan.missing.map((m) => `  not in the checkpoint (from_pretrained initialises it): ${m.key}`),
        ...(remote === undefined ? [] : fetchSummary(remote)),
        ...(result.outputKind === 'folder' ? nextSteps(displayPath(result.output), plan.modelClass) : []),
      ].join('\n'),
    );
  }
  for (const n of result.notices)
    if (!quiet || n.level === 'warning') io.err(`${n.level}: ${renderNotice(n, COMMAND_LINE_SPELLING)}\n`);
  return 0;
}

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a checkpoint (transformers-cli flags) into .bin, .safetensors or a Hugging Face folder',
  help: HELP,
  run,
};
