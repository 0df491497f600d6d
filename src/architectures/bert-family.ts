/**
 * Reusable rule and key builders for the BERT family (BERT, ALBERT, ELECTRA, MobileBERT, …):
 * google-research/bert's TF scopes (`kernel`/`bias`, `gamma`/`beta`, `layer_{n}/attention/self/query`, …)
 * and the module names transformers gives them (the fine-tuning scripts' heads: fine-tuned-heads.ts). An architecture
 * file composes these; it states only what differs.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { jsonPreview } from '../io/python-json.js';
import type { ConfigInput, ExpectedKey, ModelConfig, Rule, TensorInfo } from '../mapping/types.js';
import { type Disagreement, refuseDisagreements } from './checkpoint-facts.js';

export const TRANSPOSE = [{ op: 'transpose' }] as const;

/** A dense layer: TF `kernel` [in, out] → `weight` [out, in] (transposed), `bias` as is. */
export const dense = (tf: string, pt: string): Rule[] => [
  { from: `${tf}/kernel`, to: `${pt}.weight`, transforms: TRANSPOSE },
  { from: `${tf}/bias`, to: `${pt}.bias` },
];

/** A LayerNorm (or MobileBERT's NoNorm, same variables): TF `gamma`/`beta` → `weight`/`bias`. */
export const layerNorm = (tf: string, pt: string, norm = 'LayerNorm'): Rule[] => [
  { from: `${tf}/${norm}/gamma`, to: `${pt}.weight` },
  { from: `${tf}/${norm}/beta`, to: `${pt}.bias` },
];

/** `{scope}/word_embeddings`, `position_embeddings`, `token_type_embeddings` → `{prefix}.*.weight`. */
export const embeddingTables = (tf: string, pt: string): Rule[] =>
  ['word', 'position', 'token_type'].map((t) => ({
    from: `${tf}/${t}_embeddings`,
    to: `${pt}.${t}_embeddings.weight`,
  }));

/**
 * A dense and the LayerNorm after it, as BertSelfOutput, BertOutput and the LM transform have them:
 * `{tf}/dense`, `{tf}/{norm}` → `{pt}.dense`, `{pt}.LayerNorm` (`norm` as in `layerNorm`).
 */
export const denseAndNorm = (tf: string, pt: string, norm?: string): Rule[] => [
  ...dense(`${tf}/dense`, `${pt}.dense`),
  ...layerNorm(tf, `${pt}.LayerNorm`, norm),
];

/** BertEmbeddings: the three tables of `embeddingTables` and their LayerNorm (`{tf}/LayerNorm` → `{pt}.LayerNorm`). */
export const bertEmbeddingRules = (tf: string, pt: string): Rule[] => [
  ...embeddingTables(tf, pt),
  ...layerNorm(tf, `${pt}.LayerNorm`),
];

/** A BERT layer's feed-forward part: `intermediate/dense`, then `output/dense` and its LayerNorm. */
export const bertFeedForwardRules = (tf: string, pt: string, norm?: string): Rule[] => [
  ...dense(`${tf}/intermediate/dense`, `${pt}.intermediate.dense`),
  ...denseAndNorm(`${tf}/output`, `${pt}.output`, norm),
];

/**
 * One BERT encoder layer at a scope the caller spells in full (`{tf}` → `{pt}`, placeholders included):
 * for stacks whose index is a scope of its own (LXMERT's ModuleLists, `r_layers/{layer}`), where
 * `bertLayerRules`' `layer_{layer}` does not apply.
 */
export function bertLayerRulesAt(tf: string, pt: string, norm?: string): Rule[] {
  return [
    ...['query', 'key', 'value'].flatMap((p) => dense(`${tf}/attention/self/${p}`, `${pt}.attention.self.${p}`)),
    ...denseAndNorm(`${tf}/attention/output`, `${pt}.attention.output`, norm),
    ...bertFeedForwardRules(tf, pt, norm),
  ];
}

/**
 * One google-research/bert encoder layer (`{tf}/layer_{layer}/…` → `{pt}.layer.{layer}.…`): self-attention
 * query/key/value, its output dense + LayerNorm, the intermediate and output denses + LayerNorm. `norm` as
 * in `layerNorm` (MobileBERT's `FakeLayerNorm`).
 */
export const bertLayerRules = (tf: string, pt: string, norm?: string): Rule[] =>
  bertLayerRulesAt(`${tf}/layer_{layer}`, `${pt}.layer.{layer}`, norm);

/**
 * A layer google-research's code creates with tf.get_variable rather than tf.layers.dense:
 * `{tf}/output_weights` is stored [out, in] already (no transpose; `note` says so in the plan) and
 * `{tf}/output_bias`. `tf` '' is the root scope (run_classifier.py's head).
 */
export function outputLayer(tf: string, pt: string, note: string): Rule[] {
  const scope = tf === '' ? '' : `${tf}/`;
  return [
    { from: `${scope}output_weights`, to: `${pt}.weight`, note },
    { from: `${scope}output_bias`, to: `${pt}.bias` },
  ];
}

/** run_pretraining.py's masked-LM head (`cls/predictions`): output bias, transform dense and LayerNorm. */
export const lmPredictionRules = (tf: string, pt: string): Rule[] => [
  { from: `${tf}/output_bias`, to: `${pt}.bias` },
  ...denseAndNorm(`${tf}/transform`, `${pt}.transform`),
];

// ---- expected keys --------------------------------------------------------------------------------

/** A config dimension: its value and the field name errors cite. */
export interface Dim {
  readonly size: number;
  readonly field: string;
}
export const dim = (config: ModelConfig, field: string): Dim => ({ size: config[field] as number, field });
const fixedDim = (size: number): Dim => ({ size, field: String(size) });
export const ONE = fixedDim(1);
export const TWO = fixedDim(2);

export const vectorKey = (key: string, d: Dim, optional = false): ExpectedKey => ({
  key,
  shape: [d.size],
  fromConfig: `[${d.field}]`,
  optional,
});

/** nn.Linear(in, out): `weight` [out, in] then `bias` [out] (none with `bias: false`). */
export function linearKeys(
  key: string,
  out: Dim,
  inp: Dim,
  { optional = false, bias = true }: { optional?: boolean; bias?: boolean } = {},
): ExpectedKey[] {
  const weight: ExpectedKey = {
    key: `${key}.weight`,
    shape: [out.size, inp.size],
    fromConfig: `[${out.field}, ${inp.field}]`,
    optional,
  };
  return bias ? [weight, vectorKey(`${key}.bias`, out, optional)] : [weight];
}

/** nn.LayerNorm(d) (or NoNorm): `weight` then `bias`. */
export const normKeys = (key: string, d: Dim, optional = false): ExpectedKey[] => [
  vectorKey(`${key}.weight`, d, optional),
  vectorKey(`${key}.bias`, d, optional),
];

/** nn.Embedding(rows, width).weight. */
export const tableKey = (key: string, rows: Dim, width: Dim): ExpectedKey => ({
  key,
  shape: [rows.size, width.size],
  fromConfig: `[${rows.field}, ${width.field}]`,
});

/** BertEmbeddings-style tables (word, position, token type) of `width`, in state_dict order. */
export function embeddingTableKeys(prefix: string, config: ModelConfig, width: Dim): ExpectedKey[] {
  return [
    tableKey(`${prefix}.word_embeddings.weight`, dim(config, 'vocab_size'), width),
    tableKey(`${prefix}.position_embeddings.weight`, dim(config, 'max_position_embeddings'), width),
    tableKey(`${prefix}.token_type_embeddings.weight`, dim(config, 'type_vocab_size'), width),
  ];
}

/** BertEmbeddings' keys: `embeddingTableKeys` and the LayerNorm of `width`, in state_dict order. */
export const bertEmbeddingKeys = (prefix: string, config: ModelConfig, width: Dim): ExpectedKey[] => [
  ...embeddingTableKeys(prefix, config, width),
  ...normKeys(`${prefix}.LayerNorm`, width),
];

/** BertLayer's keys (attention, intermediate, output), in state_dict order. */
export function bertLayerKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const I = dim(config, 'intermediate_size');
  return [
    ...['query', 'key', 'value'].flatMap((p) => linearKeys(`${prefix}.attention.self.${p}`, H, H)),
    ...linearKeys(`${prefix}.attention.output.dense`, H, H),
    ...normKeys(`${prefix}.attention.output.LayerNorm`, H),
    ...linearKeys(`${prefix}.intermediate.dense`, I, H),
    ...linearKeys(`${prefix}.output.dense`, H, I),
    ...normKeys(`${prefix}.output.LayerNorm`, H),
  ];
}

/** `{prefix}.layer.{l}.…` for every layer of `num_hidden_layers`. */
export function layersKeys(
  prefix: string,
  config: ModelConfig,
  layer: (prefix: string, config: ModelConfig) => ExpectedKey[],
): ExpectedKey[] {
  const keys: ExpectedKey[] = [];
  for (let l = 0; l < (config.num_hidden_layers as number); l++) keys.push(...layer(`${prefix}.layer.${l}`, config));
  return keys;
}

// ---- configs -------------------------------------------------------------------------------------------

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
  const shape = listing.find((t) => t.name === name)?.shape;
  return { field, value: shape?.[axis], evidence: shape ? `${name} [${shape.join(', ')}]` : name };
}

/**
 * What the tables of `embeddingTables` under `tf` show, in this order: vocab_size and the embedding width
 * (`widthField`) from the word table, max_position_embeddings, type_vocab_size.
 */
export function embeddingFacts(listing: readonly TensorInfo[], tf: string, widthField: string): ShapeFact[] {
  return [
    shapeFact(listing, 'vocab_size', `${tf}/word_embeddings`, 0),
    shapeFact(listing, widthField, `${tf}/word_embeddings`, 1),
    shapeFact(listing, 'max_position_embeddings', `${tf}/position_embeddings`, 0),
    shapeFact(listing, 'type_vocab_size', `${tf}/token_type_embeddings`, 0),
  ];
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

/** The number of distinct `(\d+)` captures of `pattern`, as a fact about `field` (undefined if none). */
export function countFact(listing: readonly TensorInfo[], field: string, pattern: RegExp, evidence: string): ShapeFact {
  const seen = new Set<string>();
  for (const t of listing) {
    const m = pattern.exec(t.name);
    if (m?.[1] !== undefined) seen.add(m[1]);
  }
  return { field, value: seen.size > 0 ? seen.size : undefined, evidence };
}

/** Refuses a config that disagrees with a known fact: one error names each field, both values and the tensor. */
export function refuseUnlikeFacts(
  config: ModelConfig,
  facts: readonly ShapeFact[],
  source: string,
  hint: string,
): void {
  const out: Disagreement[] = facts
    .filter((f) => f.value !== undefined && config[f.field] !== f.value)
    .map((f) => ({ field: f.field, config: config[f.field], checkpoint: f.value, evidence: f.evidence }));
  refuseDisagreements(out, source, hint);
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
      `assumed (no tensor shows them; --config to set): ${assumed.map((a) => `${a.field}=${JSON.stringify(a.value)} (${a.why})`).join('; ')}`,
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
