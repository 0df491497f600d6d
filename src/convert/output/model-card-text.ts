/**
 * The text of a folder's `README.md` model card, on any platform: YAML front matter the Hugging Face Hub
 * reads (library, tags, pipeline, license when the release states one), then where the weights came from
 * (each input's name, size and digest), how it was converted, what was skipped and why, every deviation
 * noted, and how to load it. The facts about the inputs are gathered by the caller: `model-card.ts` on
 * Node, `inputFactsOf` here through any FileTree (the page's picked files).
 */
import { trainerStateOf } from '../../formats/trainer-state.js';
import type { FileTree } from '../../io/byte-source.js';
import { Sha256, sha256OfSource } from '../../io/sha256.js';
import { redactUrl } from '../../io/url-paths.js';
import { type RemoteFileRead, UrlFileTree } from '../../io/url-tree.js';
import { formatBytes } from '../../units.js';
import { VERSION } from '../../version.js';
import { checkpointFilesIn, type PlannedConversion } from '../open-and-plan.js';

export const MODEL_CARD_NAME = 'README.md';
/** The line that makes a README.md ours: rewritten by later conversions, unlike one the user wrote. */
export const MODEL_CARD_MARKER = '<!-- model card written by tf2torch: remove this line to keep your edits -->';
/** Inputs up to this size get a sha256; larger ones (data shards) would cost a second read of every byte. */
export const MAX_HASHED_BYTES = 64 * 1024 * 1024;
/** A LICENSE beside the checkpoint is read up to this size. */
export const MAX_LICENSE_BYTES = 256 * 1024;
/** The names a license file beside the checkpoint goes by. */
export const LICENSE_FILE = /^(LICENSE|LICENCE|COPYING)(\.(txt|md))?$/i;

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

/** One file the conversion read. */
export interface InputFact {
  /** Its folder, as the caller spells it (a data shard is covered by the `.index` of the same folder). */
  readonly dir: string;
  readonly name: string;
  readonly size: number;
  /** Its sha256 in hex; absent for files over MAX_HASHED_BYTES and files read by byte ranges. */
  readonly sha256?: string;
  /** Read by URL (its name is the URL as given, credentials and queries left out). */
  readonly remote?: boolean;
}

export interface ModelCardFacts {
  readonly planned: Pick<PlannedConversion, 'plan' | 'architecture' | 'notes'>;
  /** Every regular file the conversion read. */
  readonly inputs: readonly InputFact[];
  /** Files written into the folder (the card excluded). */
  readonly files: readonly string[];
  /** The command line, when run from the CLI. */
  readonly command?: string;
  /** How it was run otherwise (the page's choices), in words. */
  readonly ranAs?: string;
  /** Whether checksums were verified while reading (a TF bundle's CRC32C). */
  readonly verified: boolean;
  /** The license the release states beside the checkpoint. */
  readonly license?: { readonly id: string; readonly file: string } | undefined;
}

/** Whether `text` is a README.md tf2torch wrote (and may rewrite). */
export const isOurModelCard = (text: string) => text.includes(MODEL_CARD_MARKER);

/** The Hub license id of a license file's text ('other' when not recognised). */
export const licenseIdOf = (text: string) => LICENSES.find(([pattern]) => pattern.test(text))?.[1] ?? 'other';

export function modelCardText(input: ModelCardFacts): string {
  const { plan, architecture } = input.planned;
  const modelClass = plan.modelClass ?? '';
  const release = RELEASES[plan.modelType];
  const pipeline = PIPELINES.find(([pattern]) => pattern.test(modelClass))?.[1];
  const { license } = input;
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
  const sources = describeInputs(input.inputs, input.verified);
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
    ...(input.ranAs ? [input.ranAs, ''] : []),
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

/** The facts of `paths` read through `files`: sizes, and digests computed from bounded slices. */
export async function inputFactsOf(files: FileTree, paths: readonly string[]): Promise<InputFact[]> {
  const facts: InputFact[] = [];
  for (const path of paths) {
    const stat = files.stat(path);
    if (stat?.kind !== 'file') continue;
    const fact = { dir: files.paths.dirname(path), name: files.paths.basename(path), size: stat.size };
    if (stat.size > MAX_HASHED_BYTES) facts.push(fact);
    else {
      const source = await files.open(path);
      try {
        facts.push({ ...fact, sha256: await sha256OfSource(source, 'input file') });
      } finally {
        await source.close();
      }
    }
  }
  return facts;
}

/**
 * The model card of a folder converted from `files` (a browser's picked files), for `writeModelFolder`'s
 * `lastFile`: the checkpoint's files (`sourcePath` as its opener resolved it) and `reads` (config, sidecars,
 * tokenizer sources) hashed through the tree in bounded slices; `ranAs` says how it was run, in words.
 */
export function modelCardFrom(
  files: FileTree,
  planned: PlannedConversion,
  run: { readonly sourcePath: string; readonly reads: readonly string[]; readonly ranAs?: string },
): (written: readonly string[]) => Promise<{ name: string; text: string }> {
  return async (written) => {
    const paths = [
      ...new Set([...checkpointFilesIn(files, run.sourcePath), ...run.reads].map((p) => files.paths.resolve(p))),
    ];
    // by URL: the files read, as read (a data shard read by ranges is never fetched again to be hashed)
    const inputs =
      files instanceof UrlFileTree ? files.filesRead().map((f) => remoteFact(f)) : await inputFactsOf(files, paths);
    const text = modelCardText({
      planned,
      inputs,
      files: written,
      ...(run.ranAs === undefined ? {} : { ranAs: run.ranAs }),
      verified: true,
      license: licenseIn(files, planned.checkpointDir),
    });
    return { name: MODEL_CARD_NAME, text };
  };
}

/**
 * A file read by URL: named by the URL as given (credentials and queries left out); hashed only when read
 * whole, by `sha256Hex` (Node passes its native hash: an index of a few MB hashed here takes a while).
 */
export function remoteFact(
  { url, size, bytes }: RemoteFileRead,
  sha256Hex: (bytes: Uint8Array) => string = (b) => new Sha256().update(b).hex(),
): InputFact {
  const shown = redactUrl(url);
  const fact = { dir: shown.slice(0, shown.lastIndexOf('/')), name: shown, size, remote: true };
  return bytes === undefined ? fact : { ...fact, sha256: sha256Hex(bytes) };
}

/** The license stated by a file beside the checkpoint in `files`, if any. */
export function licenseIn(files: FileTree, dir: string): { id: string; file: string } | undefined {
  if (files.stat(dir)?.kind !== 'directory') return undefined;
  const file = files.list(dir).find((name) => LICENSE_FILE.test(name));
  if (file === undefined) return undefined;
  const path = files.paths.join(dir, file);
  const stat = files.stat(path);
  if (stat?.kind !== 'file' || stat.size > MAX_LICENSE_BYTES) return undefined;
  return { id: licenseIdOf(files.readText(path)), file };
}

/**
 * One table row per input file, in code-unit order of their names (the same card whatever the machine's
 * locale, which `localeCompare` would follow); large ones are described, not hashed.
 */
function describeInputs(inputs: readonly InputFact[], verified: boolean): { rows: string[]; notes: string[] } {
  const facts = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rows: string[] = [];
  let unhashed = 0;
  const indexed = new Set(facts.filter((f) => f.name.endsWith('.index')).map((f) => `${f.dir}\0${f.name}`));
  for (const fact of facts) {
    let digest: string;
    if (fact.sha256 !== undefined) digest = `\`${fact.sha256}\``;
    else {
      unhashed++;
      const prefix = fact.name.replace(/\.data-\d+-of-\d+$/, '');
      const covered = indexed.has(`${fact.dir}\0${prefix}.index`) && prefix !== fact.name;
      // the index by its file name (a URL's too: its folder is the data shard's, listed just above)
      const index = `${prefix.slice(prefix.lastIndexOf('/') + 1)}.index`;
      digest = covered && verified ? `see ${index} (CRC32C of every tensor, verified)` : 'not hashed';
    }
    rows.push(`| \`${fact.name}\` | ${fact.size} bytes | ${digest} |`);
  }
  const why = verified
    ? ": a TensorFlow checkpoint's .index (hashed above) records the CRC32C of every tensor in its data shards, and tf2torch checked each one while converting"
    : ' (checksums were not verified: --no-verify)';
  const notes =
    unhashed > 0 ? [`Files over ${formatBytes(MAX_HASHED_BYTES)} are not hashed, to keep conversion speed${why}.`] : [];
  if (facts.some((f) => f.remote))
    notes.push(
      'Files read by URL are named by their URL as given (credentials and queries left out); those read by byte ranges are not hashed.',
    );
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
