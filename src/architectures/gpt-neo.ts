/**
 * gpt_neo: EleutherAI/gpt-neo's Mesh TensorFlow checkpoints (models/gpt2/gpt2.py under the `gpt2` scope:
 * `gpt2/wte`, `gpt2/wpe`, `gpt2/h{n}/norm_1/g`, `gpt2/h{n}/attn/q|k|v|o`, `…/attn/compute_output_bias/o_b`,
 * `…/mlp/conv1d_main/c_fc/kernel`, `gpt2/ln_f/g`) → transformers `GPTNeoForCausalLM`, as
 * convert_gpt_neo_mesh_tf_to_pytorch.py builds it: every weight cast to float32 (the released weights are
 * bfloat16: widened exactly), kernels transposed, the padded embedding cut to `vocab_size` rows and tied to
 * the LM head. The config is the project's own training JSON (`config.json` in the released folders).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  configSource,
  countIndexed,
  type Disagreement,
  intField,
  refuseDisagreements,
  shapeOf,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';
import { gpt2Tokenizer } from './gpt2.js';

/** GPTNeoConfig() defaults (transformers configuration_gpt_neo.py). */
const GPT_NEO_DEFAULTS: ModelConfig = {
  vocab_size: 50257,
  max_position_embeddings: 2048,
  hidden_size: 2048,
  num_layers: 24,
  num_heads: 16,
  intermediate_size: null,
  window_size: 256,
  activation_function: 'gelu_new',
  resid_dropout: 0,
  embed_dropout: 0,
  attention_dropout: 0,
  classifier_dropout: 0.1,
  layer_norm_epsilon: 1e-5,
  initializer_range: 0.02,
  use_cache: true,
  bos_token_id: 50256,
  eos_token_id: 50256,
};

/**
 * The training JSON's fields → GPTNeoConfig's, as the script maps them; `n_ctx` stands in for
 * `n_positions`, which the released configs lack (the script's `config_json["n_positions"]` is a
 * KeyError for every one of them). `local_attention_radius` (models/layers.py, default 256) is the
 * window GPTNeoSelfAttention calls `window_size`: both see the keys in (p - radius, p]; the script
 * ignores it, which only matters for a model trained with another radius.
 */
const FIELDS: readonly (readonly [json: string, config: string])[] = [
  ['n_embd', 'hidden_size'],
  ['n_layer', 'num_layers'],
  ['n_head', 'num_heads'],
  ['attention_types', 'attention_types'],
  ['n_positions', 'max_position_embeddings'],
  ['res_dropout', 'resid_dropout'],
  ['embed_dropout', 'embed_dropout'],
  ['attn_dropout', 'attention_dropout'],
  ['local_attention_radius', 'window_size'],
];
const REQUIRED = ['n_embd', 'n_layer', 'n_head', 'attention_types'] as const;
/** GPTNeoAttention builds only these (others raise NotImplementedError). */
const ATTENTION_KINDS = new Set(['global', 'local']);

const HINT =
  "Pass the model's training config with --config (the JSON of EleutherAI/gpt-neo's configs/, config.json in the released folders).";

function configError(source: string, message: string): Tf2TorchError {
  return new Tf2TorchError(ErrorCode.CONFIG, `${source}: ${message}`, { file: source });
}

/** GPTNeoConfig.expand_attention_types_params: `[[["global", "local"], 6]]` → one kind per layer. */
function expandAttentionTypes(value: unknown, source: string): string[] {
  const bad = () =>
    configError(
      source,
      `'attention_types' must be a list of [[kinds…], repeat] pairs such as [[["global", "local"], 6]], got ${JSON.stringify(value)?.slice(0, 80)}`,
    );
  if (!Array.isArray(value)) throw bad();
  const out: string[] = [];
  for (const item of value) {
    if (!Array.isArray(item) || item.length !== 2) throw bad();
    const [kinds, repeat] = item as [unknown, unknown];
    if (!Array.isArray(kinds) || typeof repeat !== 'number' || !Number.isInteger(repeat) || repeat < 0) throw bad();
    for (const kind of kinds) {
      if (typeof kind !== 'string') throw bad();
      if (!ATTENTION_KINDS.has(kind))
        throw configError(
          source,
          `'attention_types' has '${kind}' layers: GPTNeoForCausalLM has only 'global' and 'local' attention`,
        );
    }
    if (out.length + repeat * kinds.length > 10_000) throw bad();
    for (let r = 0; r < repeat; r++) out.push(...(kinds as string[]));
  }
  return out;
}

/** The GPTNeoConfig fields the training JSON gives, mapped as the script maps them. */
function fromTrainingJson(given: ModelConfig, source: string, note: (text: string) => void): ModelConfig {
  const missing = REQUIRED.filter((f) => !(f in given));
  if (!('n_positions' in given) && !('n_ctx' in given)) missing.push('n_ctx' as never);
  if (missing.length > 0)
    throw configError(source, `the GPT-Neo training config lacks ${missing.map((f) => `'${f}'`).join(', ')}. ${HINT}`);
  const out: ModelConfig = {};
  for (const [json, field] of FIELDS) if (given[json] !== undefined) out[field] = given[json];
  if (given.n_positions === undefined) {
    out.max_position_embeddings = given.n_ctx;
    note(`max_position_embeddings ${String(given.n_ctx)} from n_ctx (the config has no n_positions)`);
  }
  // GPTNeoConfig has no field for the training vocabulary (n_vocab, padded): the script keeps its
  // default, the GPT-2 tokenizer's 50257, and cuts the embedding to it.
  if (typeof given.vocab_size === 'number') out.vocab_size = given.vocab_size;
  if (given.activation_function !== undefined && given.activation_function !== 'gelu')
    note(
      `activation_function '${String(given.activation_function)}' in the training config: GPTNeo computes gelu_new (mesh-tf's gelu), as transformers' script sets it`,
    );
  return out;
}

function buildConfig(input: ConfigInput): ModelConfig {
  const source = configSource(input);
  const given = input.user;
  if (given === undefined) throw configError(input.checkpointPath ?? 'the checkpoint', `no config. ${HINT}`);
  const note = input.note ?? (() => {});
  let fields: ModelConfig;
  if ('n_embd' in given || 'n_ctx' in given) fields = fromTrainingJson(given, source, note);
  else if (given.model_type === 'gpt_neo') fields = given;
  else
    throw configError(
      source,
      `neither GPT-Neo's training config (n_embd, n_layer, n_head, attention_types, n_ctx) nor a GPTNeoConfig (model_type "gpt_neo"). ${HINT}`,
    );
  const attentionLayers = expandAttentionTypes(fields.attention_types ?? [[['global', 'local'], 12]], source);
  const config: ModelConfig = {
    ...GPT_NEO_DEFAULTS,
    ...fields,
    attention_types: fields.attention_types ?? [[['global', 'local'], 12]],
    attention_layers: attentionLayers,
    model_type: 'gpt_neo',
    architectures: ['GPTNeoForCausalLM'],
    transformers_version: TRANSFORMERS_VERSION,
  };
  checkConfig(config, input, source);
  return config;
}

function checkConfig(config: ModelConfig, input: ConfigInput, source: string): void {
  const vocab = intField(config, 'vocab_size', source);
  const hidden = intField(config, 'hidden_size', source);
  const positions = intField(config, 'max_position_embeddings', source);
  const layers = intField(config, 'num_layers', source);
  const heads = intField(config, 'num_heads', source);
  const attentionLayers = config.attention_layers as readonly string[];
  if (attentionLayers.length !== layers)
    throw configError(
      source,
      `'attention_types' expands to ${attentionLayers.length} layers but n_layer is ${layers} (GPTNeoConfig refuses this)`,
    );
  if (heads === 0 || hidden % heads !== 0)
    throw configError(source, `n_embd ${hidden} is not divisible by n_head ${heads}`);
  const l = input.listing;
  const wte = shapeOf(l, 'gpt2/wte');
  const wpe = shapeOf(l, 'gpt2/wpe');
  const fc = shapeOf(l, 'gpt2/h0/mlp/conv1d_main/c_fc/kernel');
  const seen = countIndexed(l, /^gpt2\/h(\d+)\//);
  const inner = typeof config.intermediate_size === 'number' ? config.intermediate_size : 4 * hidden;
  const out: Disagreement[] = [];
  const check = (field: string, value: number, actual: number | undefined, evidence: string) => {
    if (actual !== undefined && actual !== value) out.push({ field, config: value, checkpoint: actual, evidence });
  };
  const show = (name: string, shape: readonly number[] | undefined) => `${name} [${shape?.join(', ')}]`;
  check('n_embd', hidden, wte?.[1], show('gpt2/wte', wte));
  check('n_ctx', positions, wpe?.[0], show('gpt2/wpe', wpe));
  if (seen > 0) check('n_layer', layers, seen, 'gpt2/h{n}/ blocks');
  check('intermediate_size', inner, fc?.[1], show('gpt2/h0/mlp/conv1d_main/c_fc/kernel', fc));
  refuseDisagreements(out, source, HINT);
  if (wte?.[0] !== undefined && wte[0] < vocab)
    throw configError(
      source,
      `vocab_size ${vocab} is more than the ${wte[0]} rows of gpt2/wte: set "vocab_size" in the config to the tokenizer's vocabulary`,
    );
  if (wte?.[0] !== undefined && wte[0] > vocab)
    input.note?.(`gpt2/wte has ${wte[0]} rows (n_vocab, padded): the first ${vocab} (vocab_size) are kept`);
}

const T = { op: 'transpose' } as const;

/** One block's variables (models/layers.py: layer_norm, attn, mlp → linear) and GPTNeoBlock's keys. */
const BLOCK: readonly (readonly [tf: string, pt: string, transposed?: true])[] = [
  ['norm_1/g', 'ln_1.weight'],
  ['norm_1/b', 'ln_1.bias'],
  ['attn/k', 'attn.attention.k_proj.weight', true],
  ['attn/v', 'attn.attention.v_proj.weight', true],
  ['attn/q', 'attn.attention.q_proj.weight', true],
  ['attn/o', 'attn.attention.out_proj.weight', true],
  ['attn/compute_output_bias/o_b', 'attn.attention.out_proj.bias'],
  ['norm_2/g', 'ln_2.weight'],
  ['norm_2/b', 'ln_2.bias'],
  ['mlp/conv1d_main/c_fc/kernel', 'mlp.c_fc.weight', true],
  ['mlp/conv1d_main/c_fc/bias', 'mlp.c_fc.bias'],
  ['mlp/conv1d_main/c_proj/kernel', 'mlp.c_proj.weight', true],
  ['mlp/conv1d_main/c_proj/bias', 'mlp.c_proj.bias'],
];

function rules(config: ModelConfig): readonly Rule[] {
  return [
    {
      from: 'gpt2/wte',
      to: 'transformer.wte.weight',
      transforms: [{ op: 'slice', axis: 0, start: 0, end: config.vocab_size as number }],
      note: 'the first vocab_size rows: the rest pad the table (n_vocab)',
    },
    { from: 'gpt2/wpe', to: 'transformer.wpe.weight' },
    ...BLOCK.map(
      ([tf, pt, transposed]): Rule => ({
        from: `gpt2/h{layer}/${tf}`,
        to: `transformer.h.{layer}.${pt}`,
        ...(transposed ? { transforms: [T] } : {}),
      }),
    ),
    { from: 'gpt2/ln_f/g', to: 'transformer.ln_f.weight' },
    { from: 'gpt2/ln_f/b', to: 'transformer.ln_f.bias' },
  ];
}

/**
 * `masked_bias` (torch.tensor(-1e9)), a persistent buffer of GPTNeoSelfAttention in transformers 4.29 that
 * GPTNeoForCausalLM does not ignore (its pattern `h.N.attn.masked_bias` misses the `attention.` between):
 * reported missing and "newly initialized" without it. The causal masks `attn.attention.bias` are ignored on
 * load, and not written.
 */
const maskedBias = (n: number): ExpectedKey => ({
  key: `transformer.h.${n}.attn.attention.masked_bias`,
  shape: [],
  dtype: 'float32',
  generate: { kind: 'fill', value: -1e9 },
});

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const v = config.vocab_size as number;
  const e = config.hidden_size as number;
  const p = config.max_position_embeddings as number;
  const inner = typeof config.intermediate_size === 'number' ? config.intermediate_size : 4 * e;
  const shapes: Readonly<Record<string, readonly [readonly number[], string?]>> = {
    'ln_1.weight': [[e]],
    'ln_1.bias': [[e]],
    'attn.attention.k_proj.weight': [[e, e], '[hidden_size, hidden_size]'],
    'attn.attention.v_proj.weight': [[e, e], '[hidden_size, hidden_size]'],
    'attn.attention.q_proj.weight': [[e, e], '[hidden_size, hidden_size]'],
    'attn.attention.out_proj.weight': [[e, e], '[hidden_size, hidden_size]'],
    'attn.attention.out_proj.bias': [[e]],
    'ln_2.weight': [[e]],
    'ln_2.bias': [[e]],
    'mlp.c_fc.weight': [[inner, e], '[4*hidden_size, hidden_size]'],
    'mlp.c_fc.bias': [[inner]],
    'mlp.c_proj.weight': [[e, inner], '[hidden_size, 4*hidden_size]'],
    'mlp.c_proj.bias': [[e]],
  };
  const keys: ExpectedKey[] = [
    { key: 'transformer.wte.weight', shape: [v, e], fromConfig: '[vocab_size, hidden_size]' },
    { key: 'transformer.wpe.weight', shape: [p, e], fromConfig: '[max_position_embeddings, hidden_size]' },
  ];
  for (let n = 0; n < (config.num_layers as number); n++) {
    for (const [, pt] of BLOCK) {
      const [shape, fromConfig] = shapes[pt] as readonly [readonly number[], string?];
      // GPTNeoSelfAttention's buffers precede its projections in state_dict order
      if (pt === 'attn.attention.k_proj.weight') keys.push(maskedBias(n));
      keys.push({ key: `transformer.h.${n}.${pt}`, shape, ...(fromConfig ? { fromConfig } : {}) });
    }
  }
  keys.push(
    { key: 'transformer.ln_f.weight', shape: [e] },
    { key: 'transformer.ln_f.bias', shape: [e] },
    // load_tf_weights_in_gpt_neo makes the output layer the embedding itself
    { key: 'lm_head.weight', shape: [v, e], aliasOf: 'transformer.wte.weight' },
  );
  return keys;
}

export const gptNeo: Architecture = {
  modelType: 'gpt_neo',
  summary: 'EleutherAI GPT-Neo Mesh TensorFlow checkpoints (gpt2/h{n}/attn/q …) → GPTNeoForCausalLM',
  detect: { names: ['^gpt2/h\\d+/attn/q$'], sidecars: ['config.json'], baseClass: 'GPTNeoForCausalLM' },
  configFileNames: ['config.json'],
  buildConfig,
  rules,
  expectedKeys,
  defaultDType: 'float32',
  // the released folders have none (the project tokenizes with GPT-2's BPE): GPT-2's files, when put beside it
  // (the OpenAI release's names or Hugging Face's)
  tokenizerFiles: [
    { from: ['encoder.json', 'vocab.json'], to: 'vocab.json' },
    { from: ['vocab.bpe', 'merges.txt'], to: 'merges.txt' },
  ],
  tokenizer: gpt2Tokenizer('max_position_embeddings'),
};
