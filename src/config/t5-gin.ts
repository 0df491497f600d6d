/**
 * Hugging Face T5Config fields derived from a Mesh TensorFlow `operative_config.gin`, cross-checked
 * against the checkpoint's variable shapes when a listing is given (names as in the TF checkpoint or
 * mesh-tf's model-info.txt). Every field says where it came from; a disagreement is E_CONFIG.
 *
 * | field                          | gin binding (encoder scope unless noted)         | listing                                  |
 * |--------------------------------|--------------------------------------------------|------------------------------------------|
 * | d_model                        | Unitransformer.d_model                           | shared/embedding [V, d] → d              |
 * | d_ff                           | DenseReluDense.hidden_size                       | …/DenseReluDense/wi(_0)/kernel [d, ff]   |
 * | d_kv                           | SelfAttention.key_value_size                     | …/SelfAttention/q [d, h·kv] ÷ heads      |
 * | num_heads                      | SelfAttention.num_heads                          | relative_attention_bias [h, buckets]     |
 * | num_layers / num_decoder_layers| encoder/ decoder/make_layer_stack.num_layers     | count of encoder/ decoder/block_NNN      |
 * | feed_forward_proj              | DenseReluDense.activation ('relu', ['gelu','linear'] → 'gated-gelu') | wi_0 present → gated |
 * | dropout_rate                   | sublayer_dropout.dropout_rate (the training value)| —                                        |
 * | layer_norm_epsilon             | sublayer_rms_norm.epsilon                        | —                                        |
 * | relative_attention_num_buckets | SelfAttention.relative_attention_num_buckets     | relative_attention_bias [h, buckets]     |
 * | tie_word_embeddings            | decoder/Unitransformer.shared_embedding_and_softmax_weights | decoder/logits/kernel present → false |
 * | vocab_size                     | — (gin names a vocabulary, not its size)         | shared/embedding [V, d] → V              |
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { ginParam } from './gin-lookup.js';
import type { GinConfig, GinValue } from './gin-parser.js';

export interface T5ConfigFields {
  vocab_size?: number;
  d_model?: number;
  d_kv?: number;
  d_ff?: number;
  num_layers?: number;
  num_decoder_layers?: number;
  num_heads?: number;
  relative_attention_num_buckets?: number;
  dropout_rate?: number;
  layer_norm_epsilon?: number;
  feed_forward_proj?: string;
  tie_word_embeddings?: boolean;
}
export type T5Field = keyof T5ConfigFields;

export interface T5GinResult {
  config: T5ConfigFields;
  /** Per field: 'gin: encoder/SelfAttention.num_heads (operative_config.gin:210)' or 'checkpoint: …'. */
  sources: Partial<Record<T5Field, string>>;
  /** Fields neither the gin nor the listing gave (the caller falls back to T5Config defaults). */
  missing: T5Field[];
}

/** What a listing entry needs: a TensorRef or a model-info.txt row both fit. */
export interface ListedVariable {
  readonly name: string;
  readonly shape: readonly number[];
}

const ALL_FIELDS: T5Field[] = [
  'vocab_size',
  'd_model',
  'd_kv',
  'd_ff',
  'num_layers',
  'num_decoder_layers',
  'num_heads',
  'relative_attention_num_buckets',
  'dropout_rate',
  'layer_norm_epsilon',
  'feed_forward_proj',
  'tie_word_embeddings',
];

/** Mesh activation names → the names T5Config uses in feed_forward_proj. */
const ACTIVATIONS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    relu: 'relu',
    gelu: 'gelu',
    gelu_new: 'gelu_new',
    swish: 'silu',
    silu: 'silu',
  }),
);

function feedForwardProj(value: GinValue, file: string): string {
  const items = Array.isArray(value)
    ? value
    : value !== null && typeof value === 'object' && value.kind === 'tuple'
      ? value.items
      : [value];
  const act = (v: GinValue) => (typeof v === 'string' ? ACTIVATIONS.get(v) : undefined);
  if (items.length === 1 && act(items[0]!)) return act(items[0]!)!;
  if (items.length === 2 && act(items[0]!) && items[1] === 'linear') return `gated-${act(items[0]!)!}`;
  throw new Tf2TorchError(
    ErrorCode.CONFIG,
    `${file}: DenseReluDense.activation ${JSON.stringify(value)} has no T5Config feed_forward_proj equivalent`,
    { file },
  );
}

function number(value: GinValue, from: string, file: string, integer: boolean): number {
  if (typeof value !== 'number' || (integer && !Number.isSafeInteger(value))) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${file}: ${from} is ${JSON.stringify(value)}, expected ${integer ? 'an integer' : 'a number'}`,
      { file },
    );
  }
  return value;
}

/** Facts the variable shapes establish, with the variable each comes from. */
function fromListing(
  listing: readonly ListedVariable[],
): Partial<Record<T5Field, { value: number | string | boolean; from: string }>> {
  const byName = new Map(listing.map((v) => [v.name, v]));
  const facts: Partial<Record<T5Field, { value: number | string | boolean; from: string }>> = {};
  const put = (field: T5Field, value: number | string | boolean | undefined, from: string) => {
    if (value !== undefined) facts[field] = { value, from: `checkpoint: ${from}` };
  };
  const embedding = byName.get('shared/embedding');
  if (embedding?.shape.length === 2) {
    put('vocab_size', embedding.shape[0], 'shared/embedding shape[0]');
    put('d_model', embedding.shape[1], 'shared/embedding shape[1]');
  }
  for (const [stack, field] of [
    ['encoder', 'num_layers'],
    ['decoder', 'num_decoder_layers'],
  ] as const) {
    const blocks = new Set(
      listing.map((v) => new RegExp(`^${stack}/block_(\\d+)/`).exec(v.name)?.[1]).filter((b) => b !== undefined),
    );
    if (blocks.size > 0) put(field, blocks.size, `${blocks.size} ${stack}/block_NNN scopes`);
  }
  const bias = byName.get('encoder/block_000/layer_000/SelfAttention/relative_attention_bias');
  if (bias?.shape.length === 2) {
    put('num_heads', bias.shape[0], `${bias.name} shape[0]`);
    put('relative_attention_num_buckets', bias.shape[1], `${bias.name} shape[1]`);
  }
  const q = byName.get('encoder/block_000/layer_000/SelfAttention/q');
  if (q?.shape.length === 2 && bias?.shape.length === 2 && bias.shape[0]! > 0 && q.shape[1]! % bias.shape[0]! === 0) {
    put('d_kv', q.shape[1]! / bias.shape[0]!, `${q.name} shape[1] ÷ num_heads`);
  }
  const ffPrefix = 'encoder/block_000/layer_001/DenseReluDense/';
  const wi = byName.get(`${ffPrefix}wi/kernel`) ?? byName.get(`${ffPrefix}wi_0/kernel`);
  if (wi?.shape.length === 2) put('d_ff', wi.shape[1], `${wi.name} shape[1]`);
  if (embedding)
    put(
      'tie_word_embeddings',
      !byName.has('decoder/logits/kernel'),
      `decoder/logits/kernel ${byName.has('decoder/logits/kernel') ? 'present' : 'absent'}`,
    );
  return facts;
}

export function t5ConfigFromGin(gin: GinConfig, listing?: readonly ListedVariable[]): T5GinResult {
  const config: Record<string, number | string | boolean> = {};
  const sources: Partial<Record<T5Field, string>> = {};
  const file = gin.file;

  /** Reads `configurable.param` in both stacks' scopes; HF has one value, so they must agree. */
  const read = (configurable: string, param: string, scopes: readonly string[] = ['encoder', 'decoder']) => {
    const found = scopes.map((s) => ginParam(gin, configurable, param, s)).filter((f) => f !== undefined);
    const first = found[0];
    const other = found.find((f) => JSON.stringify(f.value) !== JSON.stringify(first?.value));
    if (first && other) {
      throw new Tf2TorchError(
        ErrorCode.CONFIG,
        `${file}: ${first.from} = ${JSON.stringify(first.value)} but ${other.from} = ${JSON.stringify(other.value)}; T5Config has one value for both`,
        { file },
      );
    }
    return first;
  };
  const setFrom = (
    field: T5Field,
    found: { value: GinValue; from: string } | undefined,
    convert: (v: GinValue, from: string) => number | string | boolean,
  ) => {
    if (!found || found.value === null) return;
    config[field] = convert(found.value, found.from);
    sources[field] = `gin: ${found.from}`;
  };
  const int = (v: GinValue, from: string) => number(v, from, file, true);
  const float = (v: GinValue, from: string) => number(v, from, file, false);

  setFrom('d_model', read('Unitransformer', 'd_model'), int);
  setFrom('d_ff', read('DenseReluDense', 'hidden_size'), int);
  setFrom('d_kv', read('SelfAttention', 'key_value_size'), int);
  setFrom('num_heads', read('SelfAttention', 'num_heads'), int);
  setFrom('num_layers', read('make_layer_stack', 'num_layers', ['encoder']), int);
  setFrom('num_decoder_layers', read('make_layer_stack', 'num_layers', ['decoder']), int);
  setFrom('feed_forward_proj', read('DenseReluDense', 'activation'), (v) => feedForwardProj(v, file));
  setFrom('dropout_rate', read('sublayer_dropout', 'dropout_rate', ['']), float);
  setFrom('layer_norm_epsilon', read('sublayer_rms_norm', 'epsilon', ['']), float);
  setFrom('relative_attention_num_buckets', read('SelfAttention', 'relative_attention_num_buckets'), int);
  setFrom(
    'tie_word_embeddings',
    read('Unitransformer', 'shared_embedding_and_softmax_weights', ['decoder']),
    (v, from) => {
      if (typeof v !== 'boolean')
        throw new Tf2TorchError(ErrorCode.CONFIG, `${file}: ${from} is ${JSON.stringify(v)}, expected True or False`, {
          file,
        });
      return v;
    },
  );

  for (const [field, fact] of Object.entries(listing ? fromListing(listing) : {}) as [
    T5Field,
    { value: number | string | boolean; from: string },
  ][]) {
    if (config[field] === undefined) {
      config[field] = fact.value;
      sources[field] = fact.from;
    } else if (config[field] !== fact.value) {
      throw new Tf2TorchError(
        ErrorCode.CONFIG,
        `${field}: the gin says ${JSON.stringify(config[field])} (${sources[field]}) but the ${fact.from.replace('checkpoint: ', 'checkpoint\u2019s ')} says ${JSON.stringify(fact.value)}`,
        { file },
      );
    }
  }
  // a gated feed-forward (wi_0 / wi_1) needs a 'gated-' activation, and the other way round
  const gatedInListing = listing?.some((v) => v.name.endsWith('/DenseReluDense/wi_0/kernel'));
  const proj = config.feed_forward_proj;
  if (
    gatedInListing !== undefined &&
    listing!.some((v) => /\/DenseReluDense\/wi(_0)?\/kernel$/.test(v.name)) &&
    typeof proj === 'string' &&
    proj.startsWith('gated-') !== gatedInListing
  ) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `feed_forward_proj '${proj}' (${sources.feed_forward_proj}) does not match the checkpoint, whose feed-forward ${gatedInListing ? 'has' : 'has no'} wi_0/wi_1 kernels`,
      { file },
    );
  }
  return { config: config as T5ConfigFields, sources, missing: ALL_FIELDS.filter((f) => config[f] === undefined) };
}
