/**
 * gpt2: the OpenAI GPT-2 release (`model/h{n}/attn/c_attn/w` …) → transformers `GPT2Model`.
 * Conv1D weights are stored `[1, in, out]` and squeezed to `[in, out]` (GPT-2's Conv1D keeps that
 * orientation: no transpose). The config comes from --config, else from `hparams.json` beside the
 * checkpoint, and is checked against the tensor shapes.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { parseJsonObject } from '../io/json.js';
import type {
  Architecture,
  ConfigInput,
  ExpectedKey,
  ModelConfig,
  Rule,
  TensorInfo,
  TokenizerSpec,
} from '../mapping/types.js';
import { dim, normKeys, SQUEEZE, tableKey, times } from './building-blocks.js';
import {
  checkConfigNumbers,
  configSource,
  countFact,
  countIndexed,
  intField,
  refuseUnlikeFacts,
  resolveAliases,
  shapeFact,
  shapeOf,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';
import { blockKeys, bpeTokenizerFiles, GPT2_BLOCK, withCausalMasks } from './openai-block.js';
import { addedToken } from './tokenizer.js';

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

/**
 * transformers squeezes every array (`np.squeeze`); only the Conv1D weights `[1, in, out]` have a
 * size-1 axis, so the plan shows the squeeze where it does something.
 */
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
  checkAgainstCheckpoint(config, input.listing, source);
  return config;
}

function checkAgainstCheckpoint(config: ModelConfig, listing: readonly TensorInfo[], source: string): void {
  for (const field of ['vocab_size', 'n_embd', 'n_positions', 'n_layer']) intField(config, field, source);
  const embd = config.n_embd as number;
  const nHead = intField(config, 'n_head', source);
  const facts = [
    shapeFact(listing, 'vocab_size', 'model/wte', 0),
    shapeFact(listing, 'n_embd', 'model/wte', 1),
    shapeFact(listing, 'n_positions', 'model/wpe', 0),
    countFact(listing, 'n_layer', /^model\/h(\d+)\//, 'model/h{n}/ blocks'),
    // n_inner null: 4 × n_embd, which the MLP's shapes check
    ...(typeof config.n_inner === 'number' ? [shapeFact(listing, 'n_inner', 'model/h0/mlp/c_fc/w', 2)] : []),
  ];
  refuseUnlikeFacts(config, facts, source, 'Pass the config of this model size (e.g. its hparams.json) with --config.');
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
    ...GPT2_BLOCK.map(
      ({ tf, key }): Rule => ({ from: `model/h{layer}/${tf}`, to: `h.{layer}.${key}`, ...squeezeIfWeight(tf) }),
    ),
    { from: 'model/ln_f/g', to: 'ln_f.weight' },
    { from: 'model/ln_f/b', to: 'ln_f.bias' },
  ];
}

/** GPT2Model's state dict (the MLP is n_inner wide, 4 × n_embd when null), in state_dict order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const E = dim(config, 'n_embd');
  const inner = typeof config.n_inner === 'number' ? dim(config, 'n_inner') : times(4, E);
  return [
    tableKey('wte.weight', dim(config, 'vocab_size'), E),
    tableKey('wpe.weight', dim(config, 'n_positions'), E),
    ...withCausalMasks(blockKeys(GPT2_BLOCK, config.n_layer as number, E, inner), config.n_positions as number, 'bool'),
    ...normKeys('ln_f', E),
  ];
}

/** GPT2Tokenizer as save_pretrained writes it (GPT-2's and GPT-Neo's), `model_max_length` from `maxLength`. */
export const gpt2Tokenizer = (maxLength: string): TokenizerSpec => ({
  className: 'GPT2Tokenizer',
  init: {
    add_bos_token: false,
    add_prefix_space: false,
    bos_token: addedToken('<|endoftext|>'),
    clean_up_tokenization_spaces: true,
    eos_token: addedToken('<|endoftext|>'),
    errors: 'replace',
    pad_token: null,
    unk_token: addedToken('<|endoftext|>'),
  },
  maxLength,
});

export const gpt2: Architecture = {
  modelType: 'gpt2',
  summary: 'OpenAI GPT-2 release checkpoints (model/h{n}/…) → GPT2Model',
  detect: { names: ['^model/h\\d+/attn/c_attn/w$'], sidecars: ['hparams.json'], baseClass: 'GPT2Model' },
  configFileNames: ['hparams.json'],
  buildConfig,
  rules,
  expectedKeys,
  tokenizerFiles: bpeTokenizerFiles('encoder.json', 'vocab.bpe'),
  tokenizer: gpt2Tokenizer('n_positions'),
};
