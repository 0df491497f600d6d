/**
 * Small helpers the architectures share to build a config: read dimensions off the checkpoint
 * listing as facts (each with the tensor that shows it), build a config from them, and refuse a config
 * that disagrees with the tensors before any byte moves (a 345M GPT-2 with a 124M config fails here,
 * naming the field and both values, not later inside PyTorch).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { PyFloat } from '../io/py-float.js';
import { jsonPreview } from '../io/python-json.js';
import { NoticeCode, notice } from '../mapping/notices.js';
import type { ConfigInput, ModelConfig, TensorInfo } from '../mapping/types.js';
import { shapeText } from './building-blocks.js';

/**
 * The transformers release whose behaviour the configs reproduce (modern key set, safetensors by
 * default in save_pretrained); written as `transformers_version` as PretrainedConfig.to_dict does.
 */
export const TRANSFORMERS_VERSION = '4.46.3';

/** The shape of `name` in the listing, if present. */
export function shapeOf(listing: readonly TensorInfo[], name: string): readonly number[] | undefined {
  return listing.find((t) => t.name === name)?.shape;
}

/** The number of distinct indices captured by `pattern`'s first group (`model/h(\d+)/` → layer count). */
export function countIndexed(listing: readonly TensorInfo[], pattern: RegExp): number {
  const seen = new Set<number>();
  for (const t of listing) {
    const m = pattern.exec(t.name);
    if (m?.[1] !== undefined) seen.add(Number.parseInt(m[1], 10));
  }
  return seen.size;
}

/**
 * Sizes a config may give, checked before any plan is built (a plan has a few keys per layer: a
 * `num_hidden_layers` of 1e9 once ran out of memory). The largest released models have about a hundred
 * layers and heads and hidden sizes in the tens of thousands; the limits leave two orders of magnitude.
 */
export const MAX_CONFIG_LAYERS = 10_000;
export const MAX_CONFIG_HEADS = 10_000;
/** Vocabulary, hidden, position and other sizes: each must fit a tensor dimension. */
export const MAX_CONFIG_SIZE = 2 ** 31 - 1;

const SIZE_FIELDS: Readonly<Record<string, number>> = Object.fromEntries([
  ...[
    'num_hidden_layers',
    'num_layers',
    'num_decoder_layers',
    'n_layer',
    'n_layers',
    'num_hidden_groups',
    'inner_group_num',
    'l_layers',
    'x_layers',
    'r_layers',
  ].map((f) => [f, MAX_CONFIG_LAYERS]),
  ...['num_attention_heads', 'num_heads', 'n_head', 'n_heads'].map((f) => [f, MAX_CONFIG_HEADS]),
  ...[
    'hidden_size',
    'intermediate_size',
    'embedding_size',
    'vocab_size',
    'type_vocab_size',
    'max_position_embeddings',
    'n_embd',
    'n_inner',
    'n_ctx',
    'n_positions',
    'n_vocab',
    'd_model',
    'd_ff',
    'd_kv',
    'd_inner',
    'd_head',
    'd_embed',
    'n_token',
    'div_val',
    'relative_attention_num_buckets',
    'relative_attention_max_distance',
    'emb_dim',
    'n_words',
    'n_langs',
    'num_labels',
    'num_qa_labels',
    'num_object_labels',
    'num_attr_labels',
    'visual_feat_dim',
    'visual_pos_dim',
    'cutoffs',
    'type_vocab_sizes',
  ].map((f) => [f, MAX_CONFIG_SIZE]),
]);

/** Fields that may hold a list of sizes: Transformer-XL's `cutoffs`, TAPAS's token-type tables. */
const LIST_FIELDS: ReadonlySet<string> = new Set(['cutoffs', 'type_vocab_size', 'type_vocab_sizes']);

/** The sizes a field holds: LIST_FIELDS element by element, LXMERT's `num_hidden_layers` dict value by value. */
function sizesOf(field: string, value: unknown): unknown[] {
  if (LIST_FIELDS.has(field) && Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof PyFloat))
    return Object.values(value);
  return [value];
}

/**
 * Every size field present in `config` (see SIZE_FIELDS; see sizesOf for lists and dicts) is a
 * non-negative integer within its limit; `null` means absent. One E_CONFIG names the source and
 * every offending field. The one check for configs from files, gin and checkpoints alike.
 */
export function checkConfigNumbers(config: ModelConfig, source: string): void {
  const problems: string[] = [];
  for (const [field, limit] of Object.entries(SIZE_FIELDS)) {
    const value = config[field];
    if (value === undefined || value === null) continue;
    const values = sizesOf(field, value);
    const bad = values.find((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > limit);
    if (bad !== undefined || values.length > MAX_CONFIG_LAYERS) {
      problems.push(`'${field}' is ${jsonPreview(value, 60)}: a whole number from 0 to ${limit} is expected`);
    }
  }
  if (problems.length > 0) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`,
      { file: source },
    );
  }
}

/** Renames alias keys (transformers' `attribute_map`) to the real field when the real one is absent. */
export function resolveAliases(config: ModelConfig, aliases: Readonly<Record<string, string>>): ModelConfig {
  const out: ModelConfig = { ...config };
  for (const [alias, field] of Object.entries(aliases)) {
    if (alias in out) {
      if (!(field in out)) out[field] = out[alias];
      delete out[alias];
    }
  }
  return out;
}

/** A config field as a positive integer, or a clear error naming the file and the field. */
export function intField(config: ModelConfig, field: string, source: string): number {
  const v = config[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source}: '${field}' must be a non-negative integer, got ${jsonPreview(v)}`,
      { file: source },
    );
  }
  return v;
}

export interface Disagreement {
  readonly field: string;
  readonly config: unknown;
  readonly checkpoint: unknown;
  /** Where the checkpoint value comes from ("model/wte [50257, 1024]"). */
  readonly evidence: string;
}

/** Throws E_CONFIG listing every field where the config and the checkpoint's shapes disagree. */
export function refuseDisagreements(disagreements: readonly Disagreement[], source: string, hint: string): void {
  if (disagreements.length === 0) return;
  const lines = disagreements.map(
    (d) =>
      `  ${d.field}: config says ${jsonPreview(d.config)}, checkpoint has ${jsonPreview(d.checkpoint)} (${d.evidence})`,
  );
  const first = disagreements[0] as Disagreement;
  const count = disagreements.length === 1 ? 'one field disagrees' : `${disagreements.length} fields disagree`;
  const summary = `${count}, first '${first.field}' (config ${jsonPreview(first.config)}, checkpoint ${jsonPreview(first.checkpoint)})`;
  throw new Tf2TorchError(
    ErrorCode.CONFIG,
    `the config (${source}) does not describe this checkpoint: ${summary}:\n${lines.join('\n')}\n${hint}`,
    { file: source },
  );
}

/** Where the config came from, for messages: the --config path, a sidecar name, or "defaults". */
export function configSource(input: ConfigInput, sidecarName?: string): string {
  if (input.user) return input.userPath ?? '--config';
  return sidecarName ?? 'built-in defaults';
}

// ---- facts: what the shapes show, and configs built from them ------------------------------------

/** A config value the checkpoint determines, with the tensor that shows it. */
export interface ShapeFact {
  readonly field: string;
  readonly value: number | boolean | string | undefined;
  readonly evidence: string;
}

/** A config value no tensor shows: the value used when no config file is given, and why. */
export interface Assumption {
  readonly field: string;
  readonly value: unknown;
  readonly why: string;
}

/** The dimension `axis` of variable `name`, as a fact about `field`. */
export function shapeFact(listing: readonly TensorInfo[], field: string, name: string, axis: number): ShapeFact {
  const shape = shapeOf(listing, name);
  return { field, value: shape?.[axis], evidence: shape ? `${name} ${shapeText(shape)}` : name };
}

/** Whether any variable name matches `pattern`, as a fact about `field` (true/false, or the given values). */
export function presenceFact<T extends number | boolean | string>(
  listing: readonly TensorInfo[],
  field: string,
  pattern: RegExp,
  [present, absent]: readonly [T, T],
  evidence: string,
): ShapeFact {
  const found = listing.some((t) => pattern.test(t.name));
  return { field, value: found ? present : absent, evidence: `${evidence} ${found ? 'present' : 'absent'}` };
}

/** The number of distinct indices `pattern` captures (see countIndexed), as a fact about `field` (undefined if none). */
export function countFact(listing: readonly TensorInfo[], field: string, pattern: RegExp, evidence: string): ShapeFact {
  const count = countIndexed(listing, pattern);
  return { field, value: count > 0 ? count : undefined, evidence };
}

/** The known facts `config` disagrees with, each naming the field, both values and the tensor. */
export function unlikeFacts(config: ModelConfig, facts: readonly ShapeFact[]): Disagreement[] {
  return facts
    .filter((f) => f.value !== undefined && config[f.field] !== f.value)
    .map((f) => ({ field: f.field, config: config[f.field], checkpoint: f.value, evidence: f.evidence }));
}

/** Refuses a config that disagrees with a known fact: one error names each field, both values and the tensor. */
export function refuseUnlikeFacts(
  config: ModelConfig,
  facts: readonly ShapeFact[],
  source: string,
  hint: string,
): void {
  refuseDisagreements(unlikeFacts(config, facts), source, hint);
}

/**
 * The config of a checkpoint released without one. With the user's config (`--config`, as transformers'
 * script takes it): its values, which must agree with every fact (one error lists each disagreement).
 * Without: the facts, then the assumptions, each reported in a note naming what was derived and assumed.
 */
export function configFromFacts(
  input: ConfigInput,
  parts: {
    readonly defaults: ModelConfig;
    readonly facts: readonly ShapeFact[];
    readonly assumptions: readonly Assumption[];
    /** Fields the architecture sets whatever the files say (`model_type`, `architectures`). */
    readonly fixed: ModelConfig;
    readonly hint: string;
  },
): ModelConfig {
  const known = parts.facts.filter((f) => f.value !== undefined);
  if (input.user !== undefined) {
    const config: ModelConfig = { ...parts.defaults, ...input.user, ...parts.fixed };
    refuseUnlikeFacts(config, parts.facts, input.userPath ?? '--config', parts.hint);
    return config;
  }
  const config: ModelConfig = { ...parts.defaults };
  for (const a of parts.assumptions) config[a.field] = a.value;
  for (const f of known) config[f.field] = f.value;
  Object.assign(config, parts.fixed);
  input.note?.(
    `no config given: derived from the checkpoint's shapes: ${known.map((f) => `${f.field}=${JSON.stringify(f.value)}`).join(', ')}`,
  );
  const assumed = parts.assumptions.filter((a) => !known.some((f) => f.field === a.field));
  if (assumed.length > 0)
    input.note?.(
      notice(NoticeCode.CONFIG_ASSUMED, 'assumed (no tensor shows them; {@config} to set): {assumed}', {
        assumed: assumed.map((a) => `${a.field}=${JSON.stringify(a.value)} (${a.why})`).join('; '),
      }),
    );
  return config;
}

/** Refuses, naming the file and every field, dimensions that are not positive integers or heads that do not divide `width`. */
export function checkDimensions(
  config: ModelConfig,
  fields: readonly string[],
  where: string,
  heads?: { readonly width: string; readonly heads: string },
): void {
  const bad = fields.filter((f) => !Number.isSafeInteger(config[f]) || (config[f] as number) < 1);
  const problems = bad.map((f) => `${f} must be a positive integer (got ${jsonPreview(config[f])})`);
  if (heads && bad.length === 0 && (config[heads.width] as number) % (config[heads.heads] as number) !== 0)
    problems.push(
      `${heads.width} ${String(config[heads.width])} is not a multiple of ${heads.heads} ${String(config[heads.heads])}`,
    );
  if (problems.length > 0)
    throw new Tf2TorchError(ErrorCode.CONFIG, `${where}: ${problems.join('; ')}`, { file: where });
}
