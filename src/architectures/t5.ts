/**
 * t5: Mesh TensorFlow T5 checkpoints (the original 2019 release, v1.1, mT5, ByT5:
 * `encoder/block_000/layer_000/SelfAttention/q`, `shared/embedding`, `decoder/logits/kernel`, norms named
 * `layer_norm`/`final_layer_norm` or `rms_norm`) → transformers `T5ForConditionalGeneration`, written
 * as `save_pretrained` does (config.json, generation_config.json, weights; float32 by default, as the
 * transformers converter casts every array). Every kernel but the embedding is transposed.
 */

import { parseGin, t5ConfigFromGin } from '../config/gin.js';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { pythonJsonDumps } from '../io/python-json.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  dim,
  type LayerKeys,
  layersKeys,
  linearKeys,
  TRANSPOSE,
  tableKey,
  tiedKey,
  times,
  vectorKey,
} from './building-blocks.js';
import {
  configSource,
  countIndexed,
  refuseDisagreements,
  resolveAliases,
  type ShapeFact,
  shapeOf,
  TRANSFORMERS_VERSION,
  unlikeFacts,
} from './checkpoint-facts.js';

/** T5Config() defaults (transformers configuration_t5.py). */
const T5_DEFAULTS: ModelConfig = {
  classifier_dropout: 0,
  d_ff: 2048,
  d_kv: 64,
  d_model: 512,
  dropout_rate: 0.1,
  eos_token_id: 1,
  feed_forward_proj: 'relu',
  initializer_factor: 1,
  is_encoder_decoder: true,
  layer_norm_epsilon: 1e-6,
  num_decoder_layers: null,
  num_heads: 8,
  num_layers: 6,
  pad_token_id: 0,
  relative_attention_max_distance: 128,
  relative_attention_num_buckets: 32,
  use_cache: true,
  vocab_size: 32128,
};

const ALIASES = {
  hidden_size: 'd_model',
  num_attention_heads: 'num_heads',
  num_hidden_layers: 'num_layers',
  head_dim: 'd_kv',
};

const STACKS = ['encoder', 'decoder'] as const;

/**
 * The two namings of the RMS norms' variable scopes (mesh_tensorflow/transformer/transformer.py): the
 * original T5 release (2019) was trained with the legacy sublayers, `sublayer_legacy_rms_norm` →
 * `layer_norm` and `sublayer_legacy_final_rms_norm` → `final_layer_norm`; later Mesh TF checkpoints (T5
 * v1.1, mT5, ByT5) with `sublayer_rms_norm` → `rms_norm` for both. Either may come with any FF variant.
 */
const NORM_SCOPES = [
  { layer: 'rms_norm', final: 'rms_norm' },
  { layer: 'layer_norm', final: 'final_layer_norm' },
] as const;

/** Sizes read off the tensors (the source of truth when there is no --config). */
interface Shapes {
  vocab?: number;
  dModel?: number;
  inner?: number;
  heads?: number;
  buckets?: number;
  dFF?: number;
  gated: boolean;
  encLayers: number;
  decLayers: number;
  hasLogits: boolean;
}

function readShapes(input: ConfigInput): Shapes {
  const l = input.listing;
  const shared = shapeOf(l, 'shared/embedding');
  const q = shapeOf(l, 'encoder/block_000/layer_000/SelfAttention/q');
  const bias = shapeOf(l, 'encoder/block_000/layer_000/SelfAttention/relative_attention_bias');
  const wi0 = shapeOf(l, 'encoder/block_000/layer_001/DenseReluDense/wi_0/kernel');
  const wi = wi0 ?? shapeOf(l, 'encoder/block_000/layer_001/DenseReluDense/wi/kernel');
  return {
    vocab: shared?.[0],
    dModel: shared?.[1],
    inner: q?.[1],
    heads: bias?.[0],
    buckets: bias?.[1],
    dFF: wi?.[1],
    gated: wi0 !== undefined,
    encLayers: countIndexed(l, /^encoder\/block_(\d+)\//),
    decLayers: countIndexed(l, /^decoder\/block_(\d+)\//),
    hasLogits: l.some((t) => t.name === 'decoder/logits/kernel'),
  };
}

/**
 * The config transformers would need, from the shapes, then operative_config.gin when present (the
 * gin reader cross-checks its values against the same listing and refuses a disagreement).
 */
function derive(s: Shapes, input: ConfigInput): ModelConfig {
  const out: ModelConfig = { decoder_start_token_id: 0, tie_word_embeddings: !s.hasLogits };
  if (s.vocab !== undefined) out.vocab_size = s.vocab;
  if (s.dModel !== undefined) out.d_model = s.dModel;
  if (s.heads !== undefined) out.num_heads = s.heads;
  if (s.buckets !== undefined) out.relative_attention_num_buckets = s.buckets;
  if (s.inner !== undefined && s.heads) out.d_kv = s.inner / s.heads;
  if (s.dFF !== undefined) out.d_ff = s.dFF;
  if (s.encLayers > 0) out.num_layers = s.encLayers;
  if (s.decLayers > 0) out.num_decoder_layers = s.decLayers;
  // Without gin, a gated checkpoint is taken as v1.1/mT5 (gated-gelu), an ungated one as v1.0 (relu).
  out.feed_forward_proj = s.gated ? 'gated-gelu' : 'relu';
  const text = input.sidecar('operative_config.gin');
  if (text !== undefined) {
    const gin = t5ConfigFromGin(parseGin(text, 'operative_config.gin'), input.listing);
    Object.assign(out, gin.config);
    for (const [field, from] of Object.entries(gin.sources)) input.note?.(`${field} from ${from}`);
  }
  return out;
}

/** T5Config.__init__'s derived fields: the activation and whether the FF layer is gated. */
function withActivation(config: ModelConfig, source: string): ModelConfig {
  const proj = String(config.feed_forward_proj);
  const parts = proj.split('-');
  const gated = parts[0] === 'gated';
  if ((gated && parts.length !== 2) || (!gated && parts.length !== 1)) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source}: feed_forward_proj '${proj}' is not a valid activation ('relu', 'gated-gelu', …)`,
      { file: source },
    );
  }
  return { ...config, dense_act_fn: proj === 'gated-gelu' ? 'gelu_new' : parts[parts.length - 1], is_gated_act: gated };
}

function buildConfig(input: ConfigInput): ModelConfig {
  const source = configSource(input, 'the checkpoint shapes and operative_config.gin');
  const s = readShapes(input);
  const given = input.user ? resolveAliases(input.user, ALIASES) : derive(s, input);
  let config: ModelConfig = {
    ...T5_DEFAULTS,
    ...given,
    model_type: 't5',
    architectures: ['T5ForConditionalGeneration'],
    transformers_version: TRANSFORMERS_VERSION,
  };
  if (config.num_decoder_layers === null || config.num_decoder_layers === undefined)
    config.num_decoder_layers = config.num_layers;
  config = withActivation(config, source);
  const tied = config.tie_word_embeddings !== false;
  if (tied && s.hasLogits) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source} says tie_word_embeddings: true, but the checkpoint has its own output layer decoder/logits/kernel ` +
        '(a T5 v1.1 / mT5 checkpoint). Tied, lm_head and shared.weight would be one tensor and one of the two would be lost. ' +
        'Use the config of the v1.1/mT5 model (with "tie_word_embeddings": false).',
      { file: source, tensor: 'decoder/logits/kernel' },
    );
  }
  if (!tied && !s.hasLogits && s.dModel !== undefined) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source} says tie_word_embeddings: false, but the checkpoint has no decoder/logits/kernel (a T5 v1.0 checkpoint ties the output layer to shared/embedding): lm_head.weight would have no value`,
      { file: source },
    );
  }
  checkAgainstShapes(config, s, source);
  return config;
}

/** Refuses a config the shapes contradict, naming each field, both values and the tensor that shows it. */
function checkAgainstShapes(config: ModelConfig, s: Shapes, source: string): void {
  const attention = 'encoder/block_000/layer_000/SelfAttention';
  const known = (value: number | undefined) => (value === 0 ? undefined : value);
  const facts: ShapeFact[] = [
    { field: 'vocab_size', value: s.vocab, evidence: 'shared/embedding' },
    { field: 'd_model', value: s.dModel, evidence: 'shared/embedding' },
    { field: 'num_heads', value: s.heads, evidence: `${attention}/relative_attention_bias` },
    { field: 'relative_attention_num_buckets', value: s.buckets, evidence: `${attention}/relative_attention_bias` },
    {
      field: 'd_kv',
      value: s.inner !== undefined && typeof config.num_heads === 'number' ? s.inner / config.num_heads : undefined,
      evidence: `${attention}/q`,
    },
    { field: 'd_ff', value: s.dFF, evidence: 'encoder/block_000/layer_001/DenseReluDense' },
    { field: 'num_layers', value: known(s.encLayers), evidence: 'encoder/block_{b}/' },
    { field: 'num_decoder_layers', value: known(s.decLayers), evidence: 'decoder/block_{b}/' },
  ];
  const out = unlikeFacts(config, facts);
  if (s.dFF !== undefined && s.gated !== config.is_gated_act) {
    out.push({
      field: 'feed_forward_proj',
      config: config.feed_forward_proj,
      checkpoint: s.gated ? 'gated (wi_0, wi_1)' : 'not gated (wi)',
      evidence: 'encoder/block_000/layer_001/DenseReluDense',
    });
  }
  refuseDisagreements(
    out,
    source,
    'Pass the T5Config (config.json) of this model with --config, or omit --config to derive it from the checkpoint.',
  );
}

function rules(config: ModelConfig): readonly Rule[] {
  void config;
  const out: Rule[] = [{ from: 'shared/embedding', to: 'shared.weight', note: 'embeddings are not transposed' }];
  for (const s of STACKS) {
    const block = `${s}/block_{block}/layer_{sub}`;
    const key = `${s}.block.{block}.layer.{sub}`;
    for (const attn of s === 'encoder' ? ['SelfAttention'] : ['SelfAttention', 'EncDecAttention']) {
      for (const p of ['q', 'k', 'v', 'o', 'relative_attention_bias']) {
        out.push({ from: `${block}/${attn}/${p}`, to: `${key}.${attn}.${p}.weight`, transforms: TRANSPOSE });
      }
    }
    for (const norm of NORM_SCOPES) out.push({ from: `${block}/${norm.layer}/scale`, to: `${key}.layer_norm.weight` });
    for (const w of ['wi', 'wi_0', 'wi_1', 'wo']) {
      out.push({
        from: `${block}/DenseReluDense/${w}/kernel`,
        to: `${key}.DenseReluDense.${w}.weight`,
        transforms: TRANSPOSE,
      });
    }
    for (const norm of NORM_SCOPES) out.push({ from: `${s}/${norm.final}/scale`, to: `${s}.final_layer_norm.weight` });
  }
  out.push({
    from: 'decoder/logits/kernel',
    to: 'lm_head.weight',
    transforms: TRANSPOSE,
    note: 'untied output layer (v1.1, mT5)',
  });
  return out;
}

/** T5Attention's keys: q, k, v, o (no biases), and the relative position bias in a stack's first block only. */
function attentionKeys(p: string, config: ModelConfig, withBias: boolean): ExpectedKey[] {
  const D = dim(config, 'd_model');
  const inner = times(dim(config, 'num_heads'), dim(config, 'd_kv'));
  const buckets = dim(config, 'relative_attention_num_buckets');
  return [
    ...['q', 'k', 'v'].flatMap((m) => linearKeys(`${p}.${m}`, inner, D, { bias: false })),
    ...linearKeys(`${p}.o`, D, inner, { bias: false }),
    ...(withBias ? [tableKey(`${p}.relative_attention_bias.weight`, buckets, dim(config, 'num_heads'))] : []),
  ];
}

/** A T5Block's keys: self-attention, the decoder's cross-attention, the (gated) feed-forward; each with its norm. */
const blockKeys =
  (stack: (typeof STACKS)[number]): LayerKeys =>
  (prefix, config, index) => {
    const D = dim(config, 'd_model');
    const F = dim(config, 'd_ff');
    const p = `${prefix}.layer`;
    const keys = [
      ...attentionKeys(`${p}.0.SelfAttention`, config, index === 0),
      vectorKey(`${p}.0.layer_norm.weight`, D),
    ];
    if (stack === 'decoder')
      keys.push(...attentionKeys(`${p}.1.EncDecAttention`, config, false), vectorKey(`${p}.1.layer_norm.weight`, D));
    const ff = `${p}.${stack === 'encoder' ? 1 : 2}`;
    for (const w of config.is_gated_act ? ['wi_0', 'wi_1'] : ['wi'])
      keys.push(...linearKeys(`${ff}.DenseReluDense.${w}`, F, D, { bias: false }));
    keys.push(...linearKeys(`${ff}.DenseReluDense.wo`, D, F, { bias: false }), vectorKey(`${ff}.layer_norm.weight`, D));
    return keys;
  };

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const V = dim(config, 'vocab_size');
  const D = dim(config, 'd_model');
  const keys: ExpectedKey[] = [tableKey('shared.weight', V, D)];
  for (const s of STACKS) {
    keys.push(
      tiedKey(`${s}.embed_tokens.weight`, [V, D], 'shared.weight'),
      ...layersKeys(s, config, blockKeys(s), {
        count: s === 'encoder' ? 'num_layers' : 'num_decoder_layers',
        module: 'block',
      }),
      vectorKey(`${s}.final_layer_norm.weight`, D),
    );
  }
  const tied = config.tie_word_embeddings !== false;
  keys.push(tied ? tiedKey('lm_head.weight', [V, D], 'shared.weight') : tableKey('lm_head.weight', V, D));
  return keys;
}

/** generation_config.json as save_pretrained writes it (GenerationConfig.from_model_config). */
function generationConfig(config: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { _from_model_config: true, transformers_version: TRANSFORMERS_VERSION };
  for (const k of ['decoder_start_token_id', 'eos_token_id', 'pad_token_id']) {
    if (config[k] !== undefined && config[k] !== null) out[k] = config[k];
  }
  return out;
}

export const t5: Architecture = {
  modelType: 't5',
  summary: 'Mesh TensorFlow T5 (original release, v1.1, mT5, ByT5) → T5ForConditionalGeneration',
  detect: {
    names: ['^(encoder|decoder)/block_\\d+/layer_\\d+/'],
    sidecars: ['operative_config.gin'],
    baseClass: 'T5ForConditionalGeneration',
  },
  configFileNames: [],
  buildConfig,
  rules,
  expectedKeys,
  defaultDType: 'float32',
  extraFiles: (config) => [
    // GenerationConfig.to_json_string: json.dumps(indent=2, sort_keys=True) and a newline
    { name: 'generation_config.json', text: `${pythonJsonDumps(generationConfig(config), 2, true)}\n` },
  ],
  // the release's SentencePiece model (sentencepiece.model in T5's vocabs), under the name T5Tokenizer loads
  tokenizerFiles: [{ from: ['spiece.model', 'sentencepiece.model'], to: 'spiece.model' }],
  tokenizer: {
    className: 'T5Tokenizer',
    init: {
      additional_special_tokens: Array.from({ length: 100 }, (_, i) => `<extra_id_${i}>`),
      clean_up_tokenization_spaces: true,
      eos_token: '</s>',
      extra_ids: 100,
      pad_token: '<pad>',
      sp_model_kwargs: {},
      unk_token: '<unk>',
    },
    maxLength: { fixed: 512, why: "relative positions: as transformers' t5 tokenizers" },
  },
};
