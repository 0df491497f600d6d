/**
 * The few facts of a Mesh TensorFlow `operative_config.gin` that the tensor shapes cannot tell: the
 * feed-forward activation, the RMS-norm epsilon and the dropout rate. Everything else (sizes, layer
 * counts, tying) is read off the checkpoint, which is authoritative.
 */

export interface T5GinFacts {
  /** 'relu' or 'gelu' (first entry of `DenseReluDense.activation`; ['gelu', 'linear'] is gated-gelu). */
  readonly activation?: string;
  readonly layerNormEpsilon?: number;
  readonly dropoutRate?: number;
}

/** Longest gin file accepted: real operative configs are ~15 KB. */
const MAX_GIN_CHARS = 4 * 1024 * 1024;

/** A binding's right-hand side (`name = value`, continuation lines joined), or undefined. */
function binding(text: string, name: string): string | undefined {
  const joined = text.replace(/\\\r?\n\s*/g, ' ');
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:[\\w/]+/)?${escaped}\\s*=\\s*(.+?)\\s*$`, 'm').exec(joined);
  return m?.[1];
}

/** Resolves `%macro` references one level deep (`dropout_rate = %dropout_rate`). */
function resolve(text: string, value: string | undefined): string | undefined {
  if (value?.startsWith('%')) return binding(text, value.slice(1));
  return value;
}

function number(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export function t5FactsFromGin(text: string | undefined): T5GinFacts {
  if (text === undefined || text.length > MAX_GIN_CHARS) return {};
  const activation = resolve(text, binding(text, 'DenseReluDense.activation'));
  const first = activation === undefined ? undefined : /['"]?([A-Za-z_]+)['"]?/.exec(activation.replace(/^\[/, ''))?.[1];
  const facts: { activation?: string; layerNormEpsilon?: number; dropoutRate?: number } = {};
  if (first !== undefined) facts.activation = first;
  const eps = number(resolve(text, binding(text, 'sublayer_rms_norm.epsilon')));
  if (eps !== undefined) facts.layerNormEpsilon = eps;
  const dropout = number(resolve(text, binding(text, 'dropout_rate')));
  if (dropout !== undefined) facts.dropoutRate = dropout;
  return facts;
}
