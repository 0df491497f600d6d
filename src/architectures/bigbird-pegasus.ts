/**
 * bigbird_pegasus: google-research/bigbird encoder-decoder checkpoints (bigbird/core/modeling.py
 * TransformerModel under `--scope=pegasus`, `--norm_type=prenorm` as summarization/pegasus_large.sh trains
 * them: utils.py's EmbeddingLayer `embeddings/{word,position}_embeddings`; encoder.py's PrenormEncoderLayer and
 * decoder.py's PrenormDecoderLayer `layer_{n}`, whose pre-norms sit in `attention/self/LayerNorm`,
 * `attention/encdec/LayerNorm` and `intermediate/LayerNorm`; each stack's final `LayerNorm`) →
 * `BigBirdPegasusForConditionalGeneration`, as transformers' convert_bigbird_pegasus_tf_to_pytorch.py maps it
 * (its DECODER_PATTERNS / REMAINING_PATTERNS, kernels transposed, attention biases dropped (KEYS_TO_IGNORE),
 * the one position table given to both stacks). The stacks' final norms become `layernorm_embedding`, as
 * transformers names them (applied after the last layer all the same). Unlike that script, trainer state
 * (Adafactor slots) is skipped and the config is the checkpoint's own (its `summarization.config`, a
 * BigBirdPegasusConfig, or the shapes) rather than BigBirdPegasusConfig()'s defaults.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { dense, dim, layerNorm, linearKeys, normKeys, TRANSPOSE, tableKey, tiedKey } from './building-blocks.js';
import {
  checkDimensions,
  configFromFacts,
  countFact,
  resolveAliases,
  shapeFact,
  shapeOf,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';

const MODEL_CLASS = 'BigBirdPegasusForConditionalGeneration';
/** The file bigbird/summarization/run_summarization.py writes beside its checkpoints (flags.save). */
const SUMMARIZATION_CONFIG = 'summarization.config';
const STACKS = ['encoder', 'decoder'] as const;
/** BigBirdPegasusConfig.attribute_map. */
const ALIASES = {
  num_attention_heads: 'encoder_attention_heads',
  hidden_size: 'd_model',
  attention_probs_dropout_prob: 'attention_dropout',
};

/** BigBirdPegasusConfig() defaults (transformers configuration_bigbird_pegasus.py): bigbird-pegasus-large's sizes. */
const DEFAULTS: ModelConfig = {
  activation_dropout: 0,
  activation_function: 'gelu_new',
  attention_dropout: 0,
  attention_type: 'block_sparse',
  block_size: 64,
  bos_token_id: 2,
  classifier_dropout: 0,
  d_model: 1024,
  decoder_attention_heads: 16,
  decoder_ffn_dim: 4096,
  decoder_layerdrop: 0,
  decoder_layers: 16,
  decoder_start_token_id: 2,
  dropout: 0.1,
  encoder_attention_heads: 16,
  encoder_ffn_dim: 4096,
  encoder_layerdrop: 0,
  encoder_layers: 16,
  eos_token_id: 1,
  init_std: 0.02,
  is_encoder_decoder: true,
  max_position_embeddings: 4096,
  num_random_blocks: 3,
  pad_token_id: 0,
  scale_embedding: true,
  use_bias: false,
  use_cache: true,
  vocab_size: 96103,
};

/** Keys only the original's flags have (bigbird/core/flags.py as_dictionary). */
const ORIGINAL_ONLY = ['num_rand_blocks', 'norm_type', 'max_encoder_length', 'scope', 'couple_encoder_decoder'];

/**
 * The original's flags as BigBirdPegasusConfig fields: one size for both stacks (`num_decoder_layers` when
 * set), its `gelu` the tanh approximation (`gelu_new`), the beam search settings as generation defaults.
 * Only the pegasus-like model has a transformers class: pre-norm, separate encoder and decoder, `pegasus` scope.
 */
function fromOriginalFlags(flags: ModelConfig, source: string, note?: (text: string) => void): ModelConfig {
  const refuse = (why: string) => {
    throw new Tf2TorchError(ErrorCode.CONFIG, `${source}: ${why}`, { file: source });
  };
  if (flags.norm_type !== undefined && flags.norm_type !== 'prenorm')
    refuse(
      `'norm_type' is ${JSON.stringify(flags.norm_type)}: BigBirdPegasus is the pre-norm model (pegasus_large.sh); a post-norm encoder-decoder (roberta_base.sh) has no transformers class`,
    );
  if (flags.couple_encoder_decoder === true)
    refuse("'couple_encoder_decoder' is true: BigBirdPegasus has separate encoder and decoder weights");
  if (flags.scope !== undefined && flags.scope !== 'pegasus')
    refuse(`'scope' is ${JSON.stringify(flags.scope)}: transformers' converter reads the 'pegasus' scope only`);
  const out: ModelConfig = {};
  const set = (to: string, from: string, map: (v: unknown) => unknown = (v) => v) => {
    if (flags[from] !== undefined && flags[from] !== null) out[to] = map(flags[from]);
  };
  set('vocab_size', 'vocab_size');
  set('d_model', 'hidden_size');
  set('max_position_embeddings', 'max_position_embeddings');
  for (const s of STACKS) {
    set(`${s}_ffn_dim`, 'intermediate_size');
    set(`${s}_attention_heads`, 'num_attention_heads');
    set(`${s}_layers`, 'num_hidden_layers');
  }
  set('decoder_layers', 'num_decoder_layers');
  set('activation_function', 'hidden_act', (v) => (v === 'gelu' ? 'gelu_new' : v));
  set('attention_type', 'attention_type');
  set('block_size', 'block_size');
  set('num_random_blocks', 'num_rand_blocks');
  set('use_bias', 'use_bias');
  set('scale_embedding', 'rescale_embedding');
  set('dropout', 'hidden_dropout_prob');
  set('attention_dropout', 'attention_probs_dropout_prob');
  set('init_std', 'initializer_range');
  set('num_beams', 'beam_size');
  set('length_penalty', 'alpha');
  set('max_length', 'max_decoder_length');
  note?.(
    `${source} is the original's flags file: read as BigBirdPegasusConfig (hidden_size → d_model, intermediate_size → *_ffn_dim, num_hidden_layers → *_layers, hidden_act → activation_function, rescale_embedding → scale_embedding, beam_size/alpha/max_decoder_length → num_beams/length_penalty/max_length)`,
  );
  return out;
}

function buildConfig(input: ConfigInput): ModelConfig {
  const source = input.userPath ?? '--config';
  let user = input.user;
  if (user !== undefined)
    user = ORIGINAL_ONLY.some((k) => k in (user as ModelConfig))
      ? fromOriginalFlags(user, source, input.note)
      : resolveAliases(user, ALIASES);
  const fact = (field: string, name: string, axis: number) => shapeFact(input.listing, field, name, axis);
  const width = shapeOf(input.listing, 'pegasus/embeddings/word_embeddings')?.[1] ?? 1024;
  const config = configFromFacts(
    { ...input, user },
    {
      defaults: DEFAULTS,
      facts: [
        fact('vocab_size', 'pegasus/embeddings/word_embeddings', 0),
        fact('d_model', 'pegasus/embeddings/word_embeddings', 1),
        fact('max_position_embeddings', 'pegasus/embeddings/position_embeddings', 0),
        ...STACKS.flatMap((s) => [
          fact(`${s}_ffn_dim`, `pegasus/${s}/layer_0/intermediate/dense/kernel`, 1),
          countFact(input.listing, `${s}_layers`, new RegExp(`^pegasus/${s}/layer_(\\d+)/`), `pegasus/${s}/layer_{n}/`),
        ]),
      ],
      assumptions: STACKS.map((s) => ({
        field: `${s}_attention_heads`,
        value: Math.max(1, Math.floor(width / 64)),
        why: 'd_model / 64, as bigbird-pegasus-large (1024/16)',
      })),
      fixed: {
        architectures: [MODEL_CLASS],
        model_type: 'bigbird_pegasus',
        transformers_version: TRANSFORMERS_VERSION,
      },
      hint: "Pass this checkpoint's BigBirdPegasusConfig (config.json) or the original's summarization.config with --config, or leave --config out to derive it.",
    },
  );
  const where = input.userPath ?? 'the derived config';
  if (config.use_bias === true)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: 'use_bias' is true, but transformers' converter drops every attention bias (KEYS_TO_IGNORE): BigBirdPegasus checkpoints are trained without them (pegasus_large.sh --use_bias=False)`,
      { file: where },
    );
  for (const s of STACKS)
    checkDimensions(
      config,
      ['vocab_size', 'd_model', 'max_position_embeddings', `${s}_ffn_dim`, `${s}_layers`, `${s}_attention_heads`],
      where,
      { width: 'd_model', heads: `${s}_attention_heads` },
    );
  noteScriptDifferences(input, config);
  // BigBirdPegasusConfig sets it from encoder_layers
  return { ...config, num_hidden_layers: config.encoder_layers };
}

/** The sizes BigBirdPegasusConfig() gives, the only ones transformers' script can build. */
const SCRIPT_SIZES = ['vocab_size', 'd_model', 'max_position_embeddings', 'encoder_layers', 'decoder_layers'] as const;

/** Where transformers' script, run as shipped, would not give this checkpoint's conversion: said, not hidden. */
function noteScriptDifferences(input: ConfigInput, config: ModelConfig): void {
  const slot = input.listing.find((t) => /\/Adafactor(_\d+)?$/.test(t.name));
  if (slot !== undefined)
    input.note?.(
      `transformers' convert_bigbird_pegasus_tf_to_pytorch.py stops at the first optimizer slot (${slot.name}: it skips global_step only); the slots are skipped here`,
    );
  const differ = SCRIPT_SIZES.filter((f) => config[f] !== DEFAULTS[f]);
  if (differ.length > 0)
    input.note?.(
      `transformers' script builds BigBirdPegasusConfig() whatever the checkpoint (its config_update is empty, no flag fills it): it cannot convert these sizes (${differ.map((f) => `${f} ${String(config[f])}`).join(', ')})`,
    );
}

const queryKeyValue = (tf: string, pt: (p: 'query' | 'key' | 'value') => string): Rule[] =>
  (['query', 'key', 'value'] as const).map((p) => ({ from: `${tf}/${p}/kernel`, to: pt(p), transforms: TRANSPOSE }));
const proj = { query: 'q_proj', key: 'k_proj', value: 'v_proj' } as const;

/** A pre-norm layer's feed-forward part: `intermediate/LayerNorm`, `intermediate/dense`, `output/dense`. */
const feedForward = (tf: string, pt: string): Rule[] => [
  ...layerNorm(`${tf}/intermediate`, `${pt}.final_layer_norm`),
  ...dense(`${tf}/intermediate/dense`, `${pt}.fc1`),
  ...dense(`${tf}/output/dense`, `${pt}.fc2`),
];

function rules(): readonly Rule[] {
  const [enc, encPt] = ['pegasus/encoder/layer_{layer}', 'model.encoder.layers.{layer}'];
  const [dec, decPt] = ['pegasus/decoder/layer_{layer}', 'model.decoder.layers.{layer}'];
  return [
    { from: 'pegasus/embeddings/word_embeddings', to: 'model.shared.weight' },
    {
      from: 'pegasus/embeddings/position_embeddings',
      to: 'model.encoder.embed_positions.weight',
      note: "one table for both stacks: the decoder's is the same values",
    },
    ...queryKeyValue(`${enc}/attention/self`, (p) => `${encPt}.self_attn.self.${p}.weight`),
    { from: `${enc}/attention/output/dense/kernel`, to: `${encPt}.self_attn.output.weight`, transforms: TRANSPOSE },
    ...layerNorm(`${enc}/attention/self`, `${encPt}.self_attn_layer_norm`),
    ...feedForward(enc, encPt),
    ...layerNorm('pegasus/encoder', 'model.encoder.layernorm_embedding'),
    ...queryKeyValue(`${dec}/attention/self`, (p) => `${decPt}.self_attn.${proj[p]}.weight`),
    { from: `${dec}/attention/output/dense/kernel`, to: `${decPt}.self_attn.out_proj.weight`, transforms: TRANSPOSE },
    ...layerNorm(`${dec}/attention/self`, `${decPt}.self_attn_layer_norm`),
    ...queryKeyValue(`${dec}/attention/encdec`, (p) => `${decPt}.encoder_attn.${proj[p]}.weight`),
    {
      from: `${dec}/attention/encdec_output/dense/kernel`,
      to: `${decPt}.encoder_attn.out_proj.weight`,
      transforms: TRANSPOSE,
    },
    ...layerNorm(`${dec}/attention/encdec`, `${decPt}.encoder_attn_layer_norm`),
    ...feedForward(dec, decPt),
    ...layerNorm('pegasus/decoder', 'model.decoder.layernorm_embedding'),
  ];
}

function encoderLayerKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const D = dim(config, 'd_model');
  const F = dim(config, 'encoder_ffn_dim');
  return [
    ...['query', 'key', 'value'].flatMap((p) => linearKeys(`${prefix}.self_attn.self.${p}`, D, D, { bias: false })),
    ...linearKeys(`${prefix}.self_attn.output`, D, D, { bias: false }),
    ...normKeys(`${prefix}.self_attn_layer_norm`, D),
    ...linearKeys(`${prefix}.fc1`, F, D),
    ...linearKeys(`${prefix}.fc2`, D, F),
    ...normKeys(`${prefix}.final_layer_norm`, D),
  ];
}

function decoderLayerKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const D = dim(config, 'd_model');
  const F = dim(config, 'decoder_ffn_dim');
  const attention = (a: string) =>
    ['k_proj', 'v_proj', 'q_proj', 'out_proj'].flatMap((p) => linearKeys(`${prefix}.${a}.${p}`, D, D, { bias: false }));
  return [
    ...attention('self_attn'),
    ...normKeys(`${prefix}.self_attn_layer_norm`, D),
    ...attention('encoder_attn'),
    ...normKeys(`${prefix}.encoder_attn_layer_norm`, D),
    ...linearKeys(`${prefix}.fc1`, F, D),
    ...linearKeys(`${prefix}.fc2`, D, F),
    ...normKeys(`${prefix}.final_layer_norm`, D),
  ];
}

/**
 * BigBirdPegasusForConditionalGeneration.state_dict() (use_bias false: no attention biases): its own buffer
 * `final_logits_bias` (zeros: the converter leaves it as constructed) first, the model, then lm_head. The
 * token tables are model.shared (tied); the decoder's position table is the encoder's values, a parameter
 * of its own in the model (a copy in safetensors).
 */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const V = dim(config, 'vocab_size');
  const D = dim(config, 'd_model');
  const P = dim(config, 'max_position_embeddings');
  const keys: ExpectedKey[] = [
    {
      key: 'final_logits_bias',
      shape: [1, V.size],
      fromConfig: '[1, vocab_size]',
      generate: { kind: 'fill', value: 0 },
    },
    tableKey('model.shared.weight', V, D),
  ];
  for (const s of STACKS) {
    keys.push(tiedKey(`model.${s}.embed_tokens.weight`, [V, D], 'model.shared.weight'));
    keys.push(
      s === 'encoder'
        ? tableKey('model.encoder.embed_positions.weight', P, D)
        : {
            ...tiedKey('model.decoder.embed_positions.weight', [P, D], 'model.encoder.embed_positions.weight'),
            copyInSafetensors: true,
          },
    );
    const layers = config[`${s}_layers`] as number;
    for (let l = 0; l < layers; l++)
      keys.push(
        ...(s === 'encoder'
          ? encoderLayerKeys(`model.encoder.layers.${l}`, config)
          : decoderLayerKeys(`model.decoder.layers.${l}`, config)),
      );
    keys.push(...normKeys(`model.${s}.layernorm_embedding`, D));
  }
  keys.push(tiedKey('lm_head.weight', [V, D], 'model.shared.weight'));
  return keys;
}

export const bigbirdPegasus: Architecture = {
  modelType: 'bigbird_pegasus',
  summary: `google-research/bigbird summarization checkpoints (bigbp_large, pegasus scope) → ${MODEL_CLASS}`,
  detect: {
    names: [
      '^pegasus/encoder/layer_\\d+/attention/self/query/kernel$',
      '^pegasus/decoder/layer_\\d+/attention/encdec/query/kernel$',
    ],
    sidecars: [SUMMARIZATION_CONFIG],
    baseClass: MODEL_CLASS,
  },
  configFileNames: [SUMMARIZATION_CONFIG, 'config.json'],
  buildConfig,
  skip: [
    {
      pattern: '^pegasus/(encoder|decoder)/layer_\\d+/attention/(self|encdec)/(query|key|value)/bias$',
      reason: "attention bias: transformers' converter drops it (KEYS_TO_IGNORE; use_bias false)",
    },
    {
      pattern: '^pegasus/(encoder|decoder)/layer_\\d+/attention/(output|encdec_output)/dense/bias$',
      reason: "attention output bias: transformers' converter drops it (KEYS_TO_IGNORE; use_bias false)",
    },
  ],
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: ['spiece.model', 'pegasus.model'], to: 'spiece.model' }],
};
