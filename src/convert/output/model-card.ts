/**
 * The folder's `README.md`: a model card the Hugging Face Hub reads (YAML front matter: library, tags,
 * pipeline, license when the release states one), then where the weights came from (each input's name, size
 * and digest), the command, tf2torch's version, what was skipped and why, every deviation noted, and how
 * to load it. A README.md the user wrote (no marker line) is kept.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { trainerStateOf } from '../../formats/trainer-state.js';
import { redactUrl } from '../../io/url-paths.js';
import type { RemoteFileRead } from '../../io/url-tree.js';
import type { NoteInput } from '../../mapping/notices.js';
import { formatBytes } from '../../units.js';
import { VERSION } from '../../version.js';
import type { PlannedConversion } from '../open-and-plan.js';

export const MODEL_CARD_NAME = 'README.md';
/** The line that makes a README.md ours: rewritten by later conversions, unlike one the user wrote. */
export const MODEL_CARD_MARKER = '<!-- model card written by tf2torch: remove this line to keep your edits -->';
/** Inputs up to this size get a sha256; larger ones (data shards) would cost a second read of every byte. */
export const MAX_HASHED_BYTES = 64 * 1024 * 1024;
/** A LICENSE beside the checkpoint is read up to this size. */
const MAX_LICENSE_BYTES = 256 * 1024;

/** Where each model type's original checkpoints come from (the Hub tag of the release). */
const RELEASES: Readonly<Record<string, string>> = {
  bert: 'google-research/bert',
  albert: 'google-research/albert',
  electra: 'google-research/electra',
  mobilebert: 'google-research/mobilebert',
  rembert: 'google-research/rembert',
  funnel: 'laiguokun/Funnel-Transformer',
  lxmert: 'airsplay/lxmert',
  gpt: 'openai/finetune-transformer-lm',
  gpt2: 'openai/gpt-2',
  t5: 'google-research/text-to-text-transfer-transformer',
  transfo_xl: 'kimiyoung/transformer-xl',
  xlnet: 'zihangdai/xlnet',
  xlm: 'facebookresearch/XLM',
  tapas: 'google-research/tapas',
};

/** The pipeline a class name implies, as the Hub names them; none where the class serves several. */
const PIPELINES: readonly [RegExp, string][] = [
  [/ForMaskedLM$/, 'fill-mask'],
  [/(LMHeadModel|ForCausalLM)$/, 'text-generation'],
  [/ForConditionalGeneration$/, 'text2text-generation'],
  [/ForSequenceClassification$/, 'text-classification'],
  [/^TapasForQuestionAnswering$/, 'table-question-answering'],
  [/ForQuestionAnswering(Simple)?$/, 'question-answering'],
  [/ForTokenClassification$/, 'token-classification'],
  [/(Model|BaseModel)$/, 'feature-extraction'],
];

/** License texts recognised by their title line, as Hub license ids. */
const LICENSES: readonly [RegExp, string][] = [
  [/Apache License,?\s+Version 2\.0/i, 'apache-2.0'],
  [/^\s*MIT License/im, 'mit'],
  [/BSD 3-Clause/i, 'bsd-3-clause'],
  [/Creative Commons Attribution 4\.0/i, 'cc-by-4.0'],
];

export interface ModelCardInput {
  readonly planned: PlannedConversion;
  /** The output folder. */
  readonly dir: string;
  /** Every file the conversion read. */
  readonly inputs: readonly string[];
  /** Every remote file it read (by URL), listed by its URL as given, credentials and queries left out. */
  readonly remoteInputs?: readonly RemoteFileRead[];
  /** Files written into the folder (the card excluded). */
  readonly files: readonly string[];
  /** The command line, when run from the CLI. */
  readonly command?: string;
  /** Whether checksums were verified while reading (a TF bundle's CRC32C). */
  readonly verified: boolean;
  readonly warnings: NoteInput[];
}

/** Whether `text` is a README.md tf2torch wrote (and may rewrite). */
export const isOurModelCard = (text: string) => text.includes(MODEL_CARD_MARKER);

/** The card's text, or undefined (with a warning) when the folder holds a README.md the user wrote. */
export async function modelCardFor(input: ModelCardInput): Promise<string | undefined> {
  const existing = join(input.dir, MODEL_CARD_NAME);
  if (existsSync(existing) && !isOurModelCard(readFileSync(existing, 'latin1'))) {
    input.warnings.push(
      `${existing} was not written by tf2torch: kept as it is, with no model card (move it away to get one)`,
    );
    return undefined;
  }
  return modelCardText(input);
}

export async function modelCardText(input: ModelCardInput): Promise<string> {
  const { plan, architecture, checkpointDir } = input.planned;
  const modelClass = plan.modelClass ?? '';
  const release = RELEASES[plan.modelType];
  const pipeline = PIPELINES.find(([pattern]) => pattern.test(modelClass))?.[1];
  const license = licenseBeside(checkpointDir);
  const tags = ['tf2torch', plan.modelType, ...(release ? [release] : [])];
  const front = [
    '---',
    'library_name: transformers',
    'tags:',
    ...tags.map((t) => `- ${yamlString(t)}`),
    ...(pipeline ? [`pipeline_tag: ${pipeline}`] : []),
    ...(license ? [`license: ${license.id}`] : []),
    '---',
  ];
  const sources = await describeInputs(input.inputs, input.remoteInputs ?? [], input.verified);
  const skipped = skippedByKind(plan.skipped);
  const deviations = [
    ...input.planned.notes,
    ...plan.zeroFilled.map((m) => `not in the checkpoint, written as zeros as the original initialises it: ${m.key}`),
    ...plan.missing.map((m) => `not in the checkpoint (from_pretrained initialises it): ${m.key}`),
  ];
  const loader = modelClass || 'AutoModel';
  const body = [
    MODEL_CARD_MARKER,
    '',
    `# ${modelClass || plan.modelType} converted from the original ${plan.modelType} checkpoint`,
    '',
    `${architecture.summary}. Converted by tf2torch ${VERSION}${release ? ` from a checkpoint of ${release}` : ''}: ${plan.outputs.length} keys, ${formatBytes(plan.totalBytes)} of weights.`,
    ...(license ? ['', `License: ${license.id}, as stated by ${license.file} beside the checkpoint.`] : []),
    '',
    '## Source',
    '',
    '| file | size | sha256 |',
    '|---|---|---|',
    ...sources.rows,
    ...(sources.notes.length > 0 ? ['', ...sources.notes] : []),
    '',
    '## Conversion',
    '',
    ...(input.command ? ['```sh', input.command, '```', ''] : []),
    `tf2torch ${VERSION} wrote: ${input.files.map((f) => `\`${f}\``).join(', ')}.`,
    '',
    `Skipped: ${plan.skipped.length} of ${plan.variableCount} checkpoint variables${skipped.length > 0 ? ':' : '.'}`,
    ...(skipped.length > 0 ? ['', ...skipped.map(([kind, n]) => `- ${n} × ${kind}`)] : []),
    '',
    '## Deviations and notes',
    '',
    ...(deviations.length > 0 ? deviations.map((d) => `- ${d}`) : ['None.']),
    '',
    '## Loading',
    '',
    '```python',
    `from transformers import ${loader}`,
    '',
    `model = ${loader}.from_pretrained("path/to/this/folder")`,
    '```',
    '',
  ];
  return [...front, ...body].join('\n');
}

/** JSON's string spelling is valid YAML: quoted only when YAML would read it otherwise. */
function yamlString(text: string): string {
  return /^[a-z0-9][a-z0-9_./-]*$/i.test(text) ? text : JSON.stringify(text);
}

function licenseBeside(dir: string): { id: string; file: string } | undefined {
  // a folder by URL cannot be listed: its licence file, if any, is not looked for
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const file = readdirSync(dir).find((name) => /^(LICENSE|LICENCE|COPYING)(\.(txt|md))?$/i.test(name));
  if (file === undefined) return undefined;
  const path = join(dir, file);
  if (!statSync(path).isFile() || statSync(path).size > MAX_LICENSE_BYTES) return undefined;
  const text = readFileSync(path, 'utf8');
  return { id: LICENSES.find(([pattern]) => pattern.test(text))?.[1] ?? 'other', file };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** An input as the card lists it: its name (a URL as given, or a local file's base name), size and bytes. */
interface CardInput {
  readonly name: string;
  /** Its folder (a URL's, or a local path's), where its index is looked for. */
  readonly dir: string;
  readonly base: string;
  readonly size: number;
  /** The sha256, or undefined where it would cost a second read (large files, files read by ranges). */
  readonly digest: () => Promise<string | undefined>;
}

function localInput(path: string): CardInput {
  const size = statSync(path).size;
  return {
    name: basename(path),
    dir: dirname(path),
    base: basename(path),
    size,
    digest: async () => (size <= MAX_HASHED_BYTES ? sha256Of(path) : undefined),
  };
}

function remoteInput({ url, size, bytes }: RemoteFileRead): CardInput {
  const shown = redactUrl(url);
  const base = shown.slice(shown.lastIndexOf('/') + 1);
  return {
    name: shown,
    dir: shown.slice(0, shown.lastIndexOf('/')),
    base,
    size,
    digest: async () => (bytes === undefined ? undefined : createHash('sha256').update(bytes).digest('hex')),
  };
}

/** One table row per regular input file (local, or read by URL); large ones are described, not hashed. */
async function describeInputs(
  paths: readonly string[],
  remote: readonly RemoteFileRead[],
  verified: boolean,
): Promise<{ rows: string[]; notes: string[] }> {
  const files = [
    ...paths.filter((p) => existsSync(p) && statSync(p).isFile()).map(localInput),
    ...remote.map(remoteInput),
  ].sort((a, b) => a.base.localeCompare(b.base) || a.name.localeCompare(b.name));
  const rows: string[] = [];
  let unhashed = 0;
  const indexed = new Set(
    files.filter((f) => f.base.endsWith('.index')).map((f) => `${f.dir}/${f.base.slice(0, -'.index'.length)}`),
  );
  for (const file of files) {
    const sha = await file.digest();
    let digest: string;
    if (sha !== undefined) digest = `\`${sha}\``;
    else {
      unhashed++;
      const prefix = file.base.replace(/\.data-\d+-of-\d+$/, '');
      const covered = indexed.has(`${file.dir}/${prefix}`) && prefix !== file.base;
      digest = covered && verified ? `see ${prefix}.index (CRC32C of every tensor, verified)` : 'not hashed';
    }
    rows.push(`| \`${file.name}\` | ${file.size} bytes | ${digest} |`);
  }
  const why = verified
    ? ": a TensorFlow checkpoint's .index (hashed above) records the CRC32C of every tensor in its data shards, and tf2torch checked each one while converting"
    : ' (checksums were not verified: --no-verify)';
  const remoteNote =
    remote.length > 0
      ? [
          `Files read by URL are named by their URL as given (credentials and queries left out); those read by byte ranges are not hashed.`,
        ]
      : [];
  const notes =
    unhashed > 0
      ? [`Files over ${formatBytes(MAX_HASHED_BYTES)} are not hashed, to keep conversion speed${why}.`, ...remoteNote]
      : remoteNote;
  return { rows, notes };
}

/** Skipped variables counted by kind: the trainer state's (optimizer slots, bookkeeping), else by reason. */
function skippedByKind(skipped: readonly { readonly name: string; readonly reason: string }[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const s of skipped) {
    const state = trainerStateOf(s.name);
    const kind =
      state?.kind === 'optimizer'
        ? 'optimizer slots (training state, not weights)'
        : state?.kind === 'bookkeeping'
          ? 'training bookkeeping (step counters, loss scales)'
          : s.reason.startsWith('tied weight')
            ? 'tied weights (the model reuses another key)'
            : s.reason;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts];
}
