/**
 * gpt2: the OpenAI GPT-2 release (`model/h{n}/attn/c_attn/w` …) → transformers `GPT2Model`.
 * Conv1D weights are stored `[1, in, out]` and squeezed to `[in, out]` (GPT-2's Conv1D keeps that
 * orientation: no transpose). The config comes from --config, else from `hparams.json` beside the
 * checkpoint, and is checked against the tensor shapes.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { parseJsonObject } from '../io/json.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  checkConfigNumbers,
  configSource,
  countIndexed,
  type Disagreement,
  intField,
  refuseDisagreements,
  resolveAliases,
  shapeOf,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';

/** GPT2Config() defaults (transformers configuration_gpt2.py). */
const GPT2_DEFAULTS: ModelConfig = {
  activation_function: 'gelu_new',
  attn_pdrop: 0.1,
  bos_token_id: 50256,
  embd_pdrop: 0.1,
  eos_token_id: 50256,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  n_embd: 768,
  n_head: 12,
  n_inner: null,
  n_layer: 12,
  n_positions: 1024,
  reorder_and_upcast_attn: false,
  resid_pdrop: 0.1,
  scale_attn_by_inverse_layer_idx: false,
  scale_attn_weights: true,
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  use_cache: true,
  vocab_size: 50257,
};

/** GPT2Config.attribute_map, plus the names of OpenAI's hparams.json (which transformers ignores). */
const ALIASES = {
  hidden_size: 'n_embd',
  max_position_embeddings: 'n_positions',
  num_attention_heads: 'n_head',
  num_hidden_layers: 'n_layer',
};
const HPARAMS_FIELDS = { n_vocab: 'vocab_size', n_ctx: 'n_positions' } as const;

/** Head counts of the released sizes, for a checkpoint with neither --config nor hparams.json. */
const RELEASED_HEADS: Readonly<Record<number, number>> = { 768: 12, 1024: 16, 1280: 20, 1600: 25 };

/** Sub-module parameters of one block: TF path under `model/h{n}/` → HF path under `h.{n}.`. */
const BLOCK_PARAMS: readonly (readonly [string, string])[] = [
  ['ln_1/g', 'ln_1.weight'],
  ['ln_1/b', 'ln_1.bias'],
  ['attn/c_attn/w', 'attn.c_attn.weight'],
  ['attn/c_attn/b', 'attn.c_attn.bias'],
  ['attn/c_proj/w', 'attn.c_proj.weight'],
  ['attn/c_proj/b', 'attn.c_proj.bias'],
  ['ln_2/g', 'ln_2.weight'],
  ['ln_2/b', 'ln_2.bias'],
  ['mlp/c_fc/w', 'mlp.c_fc.weight'],
  ['mlp/c_fc/b', 'mlp.c_fc.bias'],
  ['mlp/c_proj/w', 'mlp.c_proj.weight'],
  ['mlp/c_proj/b', 'mlp.c_proj.bias'],
];

/**
 * transformers squeezes every array (`np.squeeze`); only the Conv1D weights `[1, in, out]` have a
 * size-1 axis, so the plan shows the squeeze where it does something.
 */
const SQUEEZE = [{ op: 'squeeze' }] as const;
const squeezeIfWeight = (tf: string) => (tf.endsWith('/w') ? { transforms: SQUEEZE } : {});

function buildConfig(input: ConfigInput): ModelConfig {
  const hparamsText = input.user ? undefined : input.sidecar('hparams.json');
  const source = configSource(input, hparamsText === undefined ? undefined : 'hparams.json');
  let given: ModelConfig =
    input.user ?? (hparamsText === undefined ? {} : parseJsonObject(hparamsText, 'hparams.json', ErrorCode.CONFIG));
  if (hparamsText !== undefined) checkConfigNumbers(given, 'hparams.json');
  given = resolveAliases(given, ALIASES);
  // OpenAI's n_vocab / n_ctx describe the tensors; transformers keeps them only as extra attributes
  // (and re-emits them), so they are applied here and kept for a faithful config.json.
  for (const [field, target] of Object.entries(HPARAMS_FIELDS)) {
    if (field in given && !(target in given)) given = { ...given, [target]: given[field] };
  }
  const wte = shapeOf(input.listing, 'model/wte');
  const wpe = shapeOf(input.listing, 'model/wpe');
  const layers = countIndexed(input.listing, /^model\/h(\d+)\//);
  const derived: ModelConfig = {};
  if (input.user === undefined && hparamsText === undefined) {
    // Neither --config nor hparams.json: read the sizes off the tensors.
    if (wte) derived.vocab_size = wte[0];
    if (wte) derived.n_embd = wte[1];
    if (wpe) derived.n_positions = wpe[0];
    if (layers > 0) derived.n_layer = layers;
    const heads = wte?.[1] === undefined ? undefined : RELEASED_HEADS[wte[1]];
    if (wte && heads === undefined) {
      throw new Tf2TorchError(
        ErrorCode.CONFIG,
        `n_embd ${wte[1]} is not a released GPT-2 size, so the head count is unknown: pass --config (or put hparams.json beside the checkpoint)`,
      );
    }
    if (heads !== undefined) derived.n_head = heads;
  }
  const config: ModelConfig = {
    ...GPT2_DEFAULTS,
    ...derived,
    ...given,
    model_type: 'gpt2',
    architectures: ['GPT2Model'],
    transformers_version: TRANSFORMERS_VERSION,
  };
  checkAgainstCheckpoint(config, input, source, { wte, wpe, layers });
  return config;
}

function checkAgainstCheckpoint(
  config: ModelConfig,
  input: ConfigInput,
  source: string,
  seen: { wte: readonly number[] | undefined; wpe: readonly number[] | undefined; layers: number },
): void {
  const vocab = intField(config, 'vocab_size', source);
  const embd = intField(config, 'n_embd', source);
  const positions = intField(config, 'n_positions', source);
  const nLayer = intField(config, 'n_layer', source);
  const nHead = intField(config, 'n_head', source);
  const out: Disagreement[] = [];
  if (seen.wte && seen.wte[0] !== vocab)
    out.push({
      field: 'vocab_size',
      config: vocab,
      checkpoint: seen.wte[0],
      evidence: `model/wte [${seen.wte.join(', ')}]`,
    });
  if (seen.wte && seen.wte[1] !== embd)
    out.push({
      field: 'n_embd',
      config: embd,
      checkpoint: seen.wte[1],
      evidence: `model/wte [${seen.wte.join(', ')}]`,
    });
  if (seen.wpe && seen.wpe[0] !== positions)
    out.push({
      field: 'n_positions',
      config: positions,
      checkpoint: seen.wpe[0],
      evidence: `model/wpe [${seen.wpe.join(', ')}]`,
    });
  if (seen.layers > 0 && seen.layers !== nLayer)
    out.push({ field: 'n_layer', config: nLayer, checkpoint: seen.layers, evidence: 'model/h{n}/ blocks' });
  const inner = shapeOf(input.listing, 'model/h0/mlp/c_fc/w');
  const nInner = config.n_inner;
  if (inner && typeof nInner === 'number' && inner[2] !== nInner)
    out.push({
      field: 'n_inner',
      config: nInner,
      checkpoint: inner[2],
      evidence: `model/h0/mlp/c_fc/w [${inner.join(', ')}]`,
    });
  refuseDisagreements(out, source, 'Pass the config of this model size (e.g. its hparams.json) with --config.');
  if (nHead === 0 || embd % nHead !== 0) {
    throw new Tf2TorchError(ErrorCode.CONFIG, `${source}: n_embd ${embd} is not divisible by n_head ${nHead}`, {
      file: source,
    });
  }
}

function rules(config: ModelConfig): readonly Rule[] {
  void config;
  return [
    { from: 'model/wte', to: 'wte.weight' },
    { from: 'model/wpe', to: 'wpe.weight' },
    ...BLOCK_PARAMS.map(
      ([tf, hf]): Rule => ({ from: `model/h{layer}/${tf}`, to: `h.{layer}.${hf}`, ...squeezeIfWeight(tf) }),
    ),
    { from: 'model/ln_f/g', to: 'ln_f.weight' },
    { from: 'model/ln_f/b', to: 'ln_f.bias' },
  ];
}

const CAUSAL_MASK = (p: number) =>
  ({ shape: [1, 1, p, p], dtype: 'bool', generate: { kind: 'causal-mask', size: p } }) as const;

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const v = config.vocab_size as number;
  const e = config.n_embd as number;
  const p = config.n_positions as number;
  const inner = typeof config.n_inner === 'number' ? config.n_inner : 4 * e;
  const shapes: Readonly<Record<string, readonly number[]>> = {
    'ln_1.weight': [e],
    'ln_1.bias': [e],
    'attn.c_attn.weight': [e, 3 * e],
    'attn.c_attn.bias': [3 * e],
    'attn.c_proj.weight': [e, e],
    'attn.c_proj.bias': [e],
    'ln_2.weight': [e],
    'ln_2.bias': [e],
    'mlp.c_fc.weight': [e, inner],
    'mlp.c_fc.bias': [inner],
    'mlp.c_proj.weight': [inner, e],
    'mlp.c_proj.bias': [e],
  };
  const keys: ExpectedKey[] = [
    { key: 'wte.weight', shape: [v, e], fromConfig: '[vocab_size, n_embd]' },
    { key: 'wpe.weight', shape: [p, e], fromConfig: '[n_positions, n_embd]' },
  ];
  for (let n = 0; n < (config.n_layer as number); n++) {
    for (const [, hf] of BLOCK_PARAMS) {
      keys.push({ key: `h.${n}.${hf}`, shape: shapes[hf] as readonly number[] });
      // the causal mask, a persistent buffer up to transformers 4.29 (which reports it missing otherwise), in its place
      if (hf === 'ln_1.bias') keys.push({ key: `h.${n}.attn.bias`, ...CAUSAL_MASK(p) });
    }
  }
  keys.push({ key: 'ln_f.weight', shape: [e] }, { key: 'ln_f.bias', shape: [e] });
  return keys;
}

export const gpt2: Architecture = {
  modelType: 'gpt2',
  summary: 'OpenAI GPT-2 release checkpoints (model/h{n}/…) → GPT2Model',
  detect: { names: ['^model/h\\d+/attn/c_attn/w$'], sidecars: ['hparams.json'], baseClass: 'GPT2Model' },
  configFileNames: ['hparams.json'],
  buildConfig,
  rules,
  expectedKeys,
  tokenizerFiles: [
    { from: 'encoder.json', to: 'vocab.json' },
    { from: 'vocab.bpe', to: 'merges.txt' },
  ],
};
