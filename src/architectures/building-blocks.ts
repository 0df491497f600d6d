/**
 * What every architecture file builds with: the transforms it names (`TRANSPOSE`, `SQUEEZE`), the rules of
 * TF1's own layers (`tf.layers.dense`'s `kernel`/`bias`, `layer_norm`'s `gamma`/`beta`), and the expected
 * keys of PyTorch's modules (nn.Linear, nn.LayerNorm, nn.Embedding, a stack of layers) sized by `Dim`s, so
 * that a shape error names the config fields it comes from. Family-specific blocks build on these
 * (bert-family.ts, openai-block.ts).
 */
import type { ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';

/** TF stores a dense kernel [in, out]; PyTorch's nn.Linear keeps [out, in]. */
export const TRANSPOSE = [{ op: 'transpose' }] as const;
/** Drops size-1 axes (OpenAI's Conv1D weights, stored [1, in, out]). */
export const SQUEEZE = [{ op: 'squeeze' }] as const;

/** A shape as messages and plan evidence print it: `[768, 3072]`. */
export const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

// ---- rules -----------------------------------------------------------------------------------------

/** A dense layer: TF `kernel` [in, out] → `weight` [out, in] (transposed), `bias` as is. */
export const dense = (tf: string, pt: string): Rule[] => [
  { from: `${tf}/kernel`, to: `${pt}.weight`, transforms: TRANSPOSE },
  { from: `${tf}/bias`, to: `${pt}.bias` },
];

/** A LayerNorm (or MobileBERT's NoNorm, same variables): TF `{norm}/gamma`/`beta` → `weight`/`bias`. */
export const layerNorm = (tf: string, pt: string, norm = 'LayerNorm'): Rule[] => [
  { from: `${tf}/${norm}/gamma`, to: `${pt}.weight` },
  { from: `${tf}/${norm}/beta`, to: `${pt}.bias` },
];

// ---- expected keys --------------------------------------------------------------------------------

/** A size: its value and the config field (or expression of fields) errors cite. */
export interface Dim {
  readonly size: number;
  readonly field: string;
}
export const dim = (config: ModelConfig, field: string): Dim => ({ size: config[field] as number, field });
/** A size no config field gives (the 2 of a next-sentence head), cited as the number itself. */
export const fixedDim = (size: number): Dim => ({ size, field: String(size) });
export const ONE = fixedDim(1);
export const TWO = fixedDim(2);
/** The product of two sizes, cited as `{a} * {b}` (GPT's `3 * n_embd`, T5's `num_heads * d_kv`). */
export function times(a: number | Dim, b: Dim): Dim {
  const left = typeof a === 'number' ? fixedDim(a) : a;
  return { size: left.size * b.size, field: `${left.field} * ${b.field}` };
}

/** Expected key `key` of shape `dims`, citing their fields: `[vocab_size, d_model]`. */
export const shapedKey = (key: string, dims: readonly Dim[]): ExpectedKey => ({
  key,
  shape: dims.map((d) => d.size),
  fromConfig: `[${dims.map((d) => d.field).join(', ')}]`,
});

/** A tied weight: key `key` of shape `dims`, the same storage as the (earlier) key `aliasOf`. */
export const tiedKey = (key: string, dims: readonly Dim[], aliasOf: string): ExpectedKey => ({
  key,
  shape: dims.map((d) => d.size),
  aliasOf,
});

export const vectorKey = (key: string, d: Dim, optional = false): ExpectedKey => ({
  ...shapedKey(key, [d]),
  optional,
});

/** nn.Linear(in, out): `weight` [out, in] then `bias` [out] (none with `bias: false`). */
export function linearKeys(
  key: string,
  out: Dim,
  inp: Dim,
  { optional = false, bias = true }: { optional?: boolean; bias?: boolean } = {},
): ExpectedKey[] {
  const weight: ExpectedKey = { ...shapedKey(`${key}.weight`, [out, inp]), optional };
  return bias ? [weight, vectorKey(`${key}.bias`, out, optional)] : [weight];
}

/** nn.LayerNorm(d) (or NoNorm): `weight` then `bias`. */
export const normKeys = (key: string, d: Dim, optional = false): ExpectedKey[] => [
  vectorKey(`${key}.weight`, d, optional),
  vectorKey(`${key}.bias`, d, optional),
];

/** nn.Embedding(rows, width).weight. */
export const tableKey = (key: string, rows: Dim, width: Dim): ExpectedKey => shapedKey(key, [rows, width]);

/** Keys of one layer of a stack: its prefix (`bert.encoder.layer.3`), the config, and its index. */
export type LayerKeys = (prefix: string, config: ModelConfig, index: number) => ExpectedKey[];

/**
 * `{prefix}.{module}.{l}.…` for every layer l of the stack, in order: `count` names the config field of
 * the layer count (`num_hidden_layers` by default), `module` the ModuleList (`layer` by default).
 */
export function layersKeys(
  prefix: string,
  config: ModelConfig,
  layer: LayerKeys,
  { count = 'num_hidden_layers', module = 'layer' }: { count?: string; module?: string } = {},
): ExpectedKey[] {
  const keys: ExpectedKey[] = [];
  for (let l = 0; l < (config[count] as number); l++) keys.push(...layer(`${prefix}.${module}.${l}`, config, l));
  return keys;
}
