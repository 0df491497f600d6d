/**
 * `tf2torch inspect CHECKPOINT`: what a checkpoint holds (names, dtypes, shapes, sizes, roles) without
 * reading tensor bytes, or one tensor's values with --tensor. Works for every format openTensorSource knows.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  architecturesOfFormat,
  type Detected,
  describeRecognition,
  detectArchitecture,
} from '../architectures/detect.js';
import { formatOfPath, openAsIs } from '../convert/index.js';
import { httpOptionsFromEnv, openUrlFiles } from '../convert/url-input.js';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { TensorRole, TensorSource } from '../formats/source.js';
import { isObjectBased } from '../formats/tf-checkpoint/checkpoint.js';
import { type ObjectTreeLine, objectTree, readObjectGraph } from '../formats/tf-checkpoint/object-graph.js';
import { type FileTree, isFile } from '../io/byte-source.js';
import { formatBytes } from '../units.js';
import type { Command, CommandIO } from './io.js';
import { summarizeTensor } from './tensor-values.js';

const HELP = `Usage: tf2torch inspect CHECKPOINT [--json] [--tensor NAME] [--no-verify]

Lists the tensors of a checkpoint: name, dtype, shape, size and role (weight, optimizer state,
bookkeeping, metadata), with totals, and the model type and class it is recognised as (what
\`convert\` uses without --model_type), e.g. "bert checkpoint: BertForSequenceClassification, 3 labels;
413 optimizer slots". Only the index is read, so it works even when data files are missing. CHECKPOINT may be a TensorFlow prefix (model.ckpt-1000), its .index / .data-* / .meta file,
a directory holding a 'checkpoint' file, an old V1 checkpoint file, or any other format tf2torch reads.

Options:
  --json          machine-readable output:
                  {path, format, notes, model: {recognised, summary, modelType?, modelClass?, numLabels?,
                   evidence?, candidates?}, tensors: [{name, dtype, shape, bytes, role}],
                   totals: {tensors, bytes, byRole: {weight|optimizer|bookkeeping|metadata: {tensors, bytes}}},
                   objectGraph?: {from: proto|keys, why?, objects, tree: [{depth, name, nodeId,
                   attributes: [{name, checkpointKey}], slots: [{slotName, nodeId}], seenAt?}]}}
                  (objectGraph: TF2 object-based checkpoints, from _CHECKPOINTABLE_OBJECT_GRAPH)
  --tensor NAME   read one tensor (checksum verified) and show its first values, min, max and mean
  --no-verify     do not verify checksums when reading (--tensor)
  -h, --help      this help

Examples:
  tf2torch inspect uncased_L-12_H-768_A-12/bert_model.ckpt
  tf2torch inspect ./checkpoints/                       # latest checkpoint named in ./checkpoints/checkpoint
  tf2torch inspect model.ckpt-1000000.index --json | jq '.totals'
  tf2torch inspect model.ckpt --tensor bert/embeddings/word_embeddings`;

/** The model type detection recognises (convert's choice without --model_type). */
export interface InspectModel {
  recognised: boolean;
  /** One line for people: "bert checkpoint: BertForSequenceClassification, 3 labels", or why not. */
  summary: string;
  modelType?: string;
  modelClass?: string;
  numLabels?: number;
  /** What matched: a variable name, the format, the entries of a pickled checkpoint. */
  evidence?: string;
  /** Ambiguous: every type the names fit. */
  candidates?: string[];
}

export interface InspectJson {
  path: string;
  format: string;
  notes: string[];
  model: InspectModel;
  tensors: { name: string; dtype: string; shape: number[]; bytes: number; role: TensorRole }[];
  totals: { tensors: number; bytes: number; byRole: Record<TensorRole, { tensors: number; bytes: number }> };
  /** A TF2 checkpoint's object tree: from its stored graph, or from its keys when that cannot be read. */
  objectGraph?: InspectObjectGraph;
}

export interface InspectObjectGraph {
  from: 'proto' | 'keys';
  why?: string;
  objects: number;
  tree: ObjectTreeLine[];
}

/** The object tree of a TF2 object-based checkpoint, or undefined for any other source. */
export async function objectGraphOf(source: TensorSource): Promise<InspectObjectGraph | undefined> {
  if (!source.format.startsWith('tf') || !isObjectBased(source.tensors.map((t) => t.name))) return undefined;
  const loaded = await readObjectGraph(source);
  return {
    from: loaded.from,
    ...(loaded.why === undefined ? {} : { why: loaded.why }),
    objects: loaded.graph.nodes.length,
    tree: objectTree(loaded.graph),
  };
}

/** The tree as text: one object a line, indented by depth, its attributes' keys and its slots. */
function treeText(g: InspectObjectGraph): string[] {
  const source =
    g.from === 'proto'
      ? '_CHECKPOINTABLE_OBJECT_GRAPH'
      : `rebuilt from the keys: _CHECKPOINTABLE_OBJECT_GRAPH ${g.why ?? 'unreadable'}`;
  const lines = [`object tree (${g.objects} objects, ${source}):`];
  for (const l of g.tree) {
    const pad = '  '.repeat(l.depth + 1);
    const label = l.depth === 0 ? '(root)' : l.name;
    if (l.seenAt !== undefined) {
      lines.push(`${pad}${label} → the object at ${l.seenAt || '(root)'}`);
      continue;
    }
    const attributes = l.attributes.map((a) =>
      a.name === 'VARIABLE_VALUE' ? a.checkpointKey : `${a.name}: ${a.checkpointKey}`,
    );
    const slots = l.slots.length > 0 ? `  (slots: ${l.slots.map((s) => s.slotName).join(', ')})` : '';
    lines.push(`${pad}${label}${attributes.length > 0 ? ` = ${attributes.join(', ')}` : ''}${slots}`);
  }
  return lines;
}

function describeModel(detected: Detected): InspectModel {
  if (detected.kind === 'unrecognised')
    return { recognised: false, summary: `not recognised as a model tf2torch converts: ${detected.reason}` };
  if (detected.kind === 'ambiguous') {
    const candidates = detected.candidates.map((c) => c.architecture.modelType);
    return {
      recognised: false,
      summary: `ambiguous: ${detected.candidates.map((c) => `${describeRecognition(c)} (${c.evidence})`).join(' or ')}; convert with --model_type ${candidates.join('|')}`,
      candidates,
    };
  }
  const r = detected.recognition;
  const numLabels = r.heads[0]?.numLabels;
  return {
    recognised: true,
    summary: describeRecognition(r),
    modelType: r.architecture.modelType,
    modelClass: r.modelClass,
    ...(numLabels === undefined ? {} : { numLabels }),
    evidence: r.evidence,
  };
}

function sidecarDir(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
}

export function describeSource(source: TensorSource, embedded?: unknown, files?: FileTree): InspectJson {
  const byRole: InspectJson['totals']['byRole'] = {
    weight: { tensors: 0, bytes: 0 },
    optimizer: { tensors: 0, bytes: 0 },
    bookkeeping: { tensors: 0, bytes: 0 },
    metadata: { tensors: 0, bytes: 0 },
  };
  const tensors = source.tensors.map((t) => {
    const role = source.roleOf(t.name);
    byRole[role].tensors++;
    byRole[role].bytes += t.byteLength;
    return { name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: t.byteLength, role };
  });
  const bytes = tensors.reduce((a, t) => a + t.bytes, 0);
  const dir = files === undefined ? sidecarDir(source.path) : files.paths.dirname(source.path);
  const detected = detectArchitecture({
    listing: source.tensors,
    format: source.format,
    hasSidecar: (f) => (files === undefined ? existsSync(join(dir, f)) : isFile(files, files.paths.join(dir, f))),
    embedded,
  });
  return {
    path: source.path,
    format: source.format,
    notes: [...source.notes],
    model: describeModel(detected),
    tensors,
    totals: { tensors: tensors.length, bytes, byRole },
  };
}

function table(report: InspectJson): string {
  const rows = report.tensors.map((t) => [
    t.name,
    t.dtype,
    `[${t.shape.join(', ')}]`,
    formatBytes(t.bytes),
    t.role === 'weight' ? '' : t.role,
  ]);
  // A loop, not Math.max(...rows): spreading 130k arguments overflows the call stack.
  const widths = [0, 0, 0, 0];
  for (const row of rows) for (let c = 0; c < 4; c++) widths[c] = Math.max(widths[c]!, row[c]!.length);
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c < 4 ? (c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)) : cell))
      .join('  ')
      .trimEnd(),
  );
  const { totals } = report;
  const share = (role: TensorRole) => {
    const r = totals.byRole[role];
    const pct = totals.bytes > 0 ? ` (${((100 * r.bytes) / totals.bytes).toFixed(1)}%)` : '';
    return `${r.tensors} tensors, ${formatBytes(r.bytes)}${pct}`;
  };
  const slots = totals.byRole.optimizer.tensors;
  const model = report.model.recognised
    ? `${report.model.summary}; ${slots} optimizer slot${slots === 1 ? '' : 's'}`
    : report.model.summary;
  return [
    `${report.path}: ${report.format}`,
    model,
    ...report.notes.map((n) => `note: ${n}`),
    '',
    ...lines,
    '',
    `total:           ${totals.tensors} tensors, ${formatBytes(totals.bytes)}`,
    `weights:         ${share('weight')}`,
    `optimizer state: ${share('optimizer')}`,
    `bookkeeping:     ${share('bookkeeping')}; metadata: ${share('metadata')}`,
    ...(report.objectGraph === undefined ? [] : ['', ...treeText(report.objectGraph)]),
  ].join('\n');
}

async function showTensor(source: TensorSource, name: string, json: boolean, io: CommandIO): Promise<void> {
  const t = source.tensors.find((x) => x.name === name);
  if (t === undefined) {
    const near = source.tensors
      .filter((x) => x.name.includes(name.split('/').pop() ?? name))
      .slice(0, 5)
      .map((x) => `  ${x.name}`);
    throw new Tf2TorchError(
      ErrorCode.TENSOR_NOT_FOUND,
      `${source.path}: no tensor named '${name}'${near.length ? `; similar names:\n${near.join('\n')}` : ''}`,
      { file: source.path, tensor: name },
    );
  }
  const summary = await summarizeTensor(t);
  const info = {
    name: t.name,
    dtype: t.dtype,
    shape: [...t.shape],
    bytes: t.byteLength,
    role: source.roleOf(t.name),
    ...summary,
  };
  if (json) {
    io.out(JSON.stringify(info, null, 2));
    return;
  }
  io.out(
    [
      `${t.name}: ${t.dtype} [${t.shape.join(', ')}], ${formatBytes(t.byteLength)}, ${info.role}`,
      `first values: ${summary.first.map((v) => (typeof v === 'number' ? String(v) : v)).join(', ')}${summary.count > summary.first.length ? ', …' : ''}`,
      ...(summary.min === undefined ? [] : [`min ${summary.min}, max ${summary.max}, mean ${summary.mean}`]),
    ].join('\n'),
  );
}

/**
 * A source that cannot be listed (an OpenAI GPT folder without its .npy shards) may still be
 * recognisable by its layout alone: said before the error.
 */
async function typeOfUnlistable(path: string): Promise<string> {
  const format = await formatOfPath(path);
  const types = format === undefined ? [] : architecturesOfFormat(format);
  if (types.length !== 1) return '';
  return `${path}: ${types[0]?.modelType} checkpoint: ${types[0]?.detect?.baseClass} (recognised by its ${format} layout; its tensors cannot be listed)`;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'list the tensors of a checkpoint (names, dtypes, shapes, sizes, optimizer state)',
  help: HELP,
  async run(argv: string[], io: CommandIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { json: { type: 'boolean' }, tensor: { type: 'string' }, 'no-verify': { type: 'boolean' } },
      });
    } catch (cause) {
      throw new Tf2TorchError(ErrorCode.USAGE, `${(cause as Error).message}\n\n${HELP}`, { cause });
    }
    const [path, ...extra] = parsed.positionals;
    if (path === undefined || extra.length > 0)
      throw new Tf2TorchError(ErrorCode.USAGE, `inspect takes exactly one CHECKPOINT\n\n${HELP}`);
    // A torch file is read as a pickled checkpoint (as data): an original XLM .pth lists, and is recognised, too.
    let opened: Awaited<ReturnType<typeof openAsIs>>;
    let files: FileTree | undefined; // a URL's files, found before opening
    try {
      files = await openUrlFiles(path, undefined, { ...httpOptionsFromEnv(process.env), sidecars: 'ranges' });
      opened = await openAsIs(path, parsed.values['no-verify'] !== true, files);
    } catch (error) {
      const known = parsed.values.json === true ? '' : await typeOfUnlistable(path);
      if (known !== '') io.out(known);
      throw error;
    }
    const { source, pickled } = opened;
    try {
      const json = parsed.values.json === true;
      if (parsed.values.tensor !== undefined) await showTensor(source, parsed.values.tensor, json, io);
      else {
        const objectGraph = await objectGraphOf(source);
        const report = {
          ...describeSource(source, pickled?.root, files),
          ...(objectGraph === undefined ? {} : { objectGraph }),
        };
        io.out(json ? JSON.stringify(report, null, 2) : table(report));
      }
    } finally {
      await source.close();
    }
    return 0;
  },
};
