/**
 * funnel: laiguokun/Funnel-Transformer TF checkpoints (`model/input/…`, `model/encoder/layer_{i}/…`,
 * `model/decoder/layer_{i}/…`) → transformers `FunnelModel`, or `FunnelBaseModel` (`--base_model`, no
 * decoder: the released "core-only" checkpoints), as convert_funnel_original_tf_checkpoint_to_pytorch.py
 * maps them. TF numbers layers across blocks; the block sizes (config) place layer i in
 * `encoder.blocks.{b}.{j}`, decoder layers continue the count. Attention kernels are stored 3-D and are
 * reshaped to the PyTorch shape, then transposed, exactly as transformers does (so they must be square,
 * d_model = n_head × d_head, as in every released model). The config: `--config` (transformers'
 * FunnelConfig JSON or the original net_config.json), else net_config.json beside the checkpoint.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { parseJsonObject } from '../io/json.js';
import { jsonPreview } from '../io/python-json.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { dense, dim, layerNorm, linearKeys, normKeys, shapedKey, TWO, tableKey, times } from './building-blocks.js';
import { checkDimensions, configFromFacts, countIndexed, shapeFact } from './checkpoint-facts.js';
import { wordPieceTokenizer } from './tokenizer.js';

/** FunnelConfig() defaults (transformers configuration_funnel.py). */
const FUNNEL_DEFAULTS: ModelConfig = {
  activation_dropout: 0,
  attention_dropout: 0.1,
  attention_type: 'relative_shift',
  block_repeats: null,
  block_sizes: [4, 4, 4],
  d_head: 64,
  d_inner: 3072,
  d_model: 768,
  hidden_act: 'gelu_new',
  hidden_dropout: 0.1,
  initializer_range: 0.1,
  initializer_std: null,
  layer_norm_eps: 1e-9,
  n_head: 12,
  num_decoder_layers: 2,
  pool_q_only: true,
  pooling_type: 'mean',
  separate_cls: true,
  truncate_seq: true,
  vocab_size: 30522,
};

const NET_CONFIG = 'net_config.json';

/** The classes: the whole model, or the encoder alone (`--base_model`). */
const CLASSES = { full: 'FunnelModel', base: 'FunnelBaseModel' } as const;

/** "6x2" → [6, 2] (layers with parameters, repeats), as the original's parse_depth_string. */
function depth(text: string, field: string, where: string): [number, number] {
  const parts = text.split('x').map(Number);
  if (parts.length > 2 || parts.some((p) => !Number.isSafeInteger(p) || p < 0))
    throw new Tf2TorchError(ErrorCode.CONFIG, `${where}: ${field} '${text}' is not N or NxR`, { file: where });
  return [parts[0] as number, parts[1] ?? 1];
}

/** The original net_config.json as FunnelConfig fields. */
function fromNetConfig(net: ModelConfig, where: string): ModelConfig {
  if (net.d_embed !== undefined && net.d_embed !== net.d_model)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: d_embed ${String(net.d_embed)} differs from d_model ${String(net.d_model)}: transformers' Funnel has no input projection`,
      { file: where },
    );
  const blocks = String(net.block_size)
    .split('_')
    .map((b) => depth(b, 'block_size', where));
  const [decoderLayers, decoderRepeats] = depth(String(net.decoder_size ?? '0'), 'decoder_size', where);
  if (decoderRepeats !== 1)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: decoder_size '${String(net.decoder_size)}' repeats decoder layers, which transformers' Funnel does not`,
      { file: where },
    );
  const out: ModelConfig = {
    block_sizes: blocks.map((b) => b[0]),
    block_repeats: blocks.map((b) => b[1]),
    num_decoder_layers: decoderLayers,
    // the original's gelu is the tanh approximation
    hidden_act: net.ff_activation === 'gelu' ? 'gelu_new' : net.ff_activation,
    attention_type: net.rel_attn_type === 'rel_shift' ? 'relative_shift' : net.rel_attn_type,
    hidden_dropout: net.dropout,
    attention_dropout: net.dropatt,
    activation_dropout: net.dropact,
    initializer_range: net.init_range,
    initializer_std: net.init_std,
  };
  for (const k of [
    'vocab_size',
    'd_model',
    'n_head',
    'd_head',
    'd_inner',
    'separate_cls',
    'pooling_type',
    'pool_q_only',
  ])
    out[k] = net[k];
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

const isBase = (config: ModelConfig) => (config.architectures as string[])[0] === CLASSES.base;
const blockSizes = (config: ModelConfig) => config.block_sizes as number[];

function buildConfig(input: ConfigInput): ModelConfig {
  let user = input.user;
  let where = input.userPath ?? '--config';
  if (user === undefined) {
    const text = input.sidecar(NET_CONFIG);
    if (text === undefined)
      throw new Tf2TorchError(
        ErrorCode.CONFIG,
        `funnel needs the block sizes, which no tensor shows: pass --config (transformers' FunnelConfig JSON or the original ${NET_CONFIG}), or put ${NET_CONFIG} beside the checkpoint`,
      );
    user = parseJsonObject(text, NET_CONFIG, ErrorCode.CONFIG);
    where = NET_CONFIG;
    input.note?.(`config: ${NET_CONFIG} beside the checkpoint (the original project's)`);
  }
  const hf = 'block_size' in user ? fromNetConfig(user, where) : user;
  const base = input.options?.base_model === 'true';
  const fact = (field: string, name: string, axis: number) => shapeFact(input.listing, field, name, axis);
  const attention = 'model/encoder/layer_0/rel_attn/k/kernel';
  const config = configFromFacts(
    { ...input, user: hf, userPath: where },
    {
      defaults: FUNNEL_DEFAULTS,
      facts: [
        fact('vocab_size', 'model/input/word_embedding/lookup_table', 0),
        fact('d_model', 'model/input/word_embedding/lookup_table', 1),
        fact('n_head', attention, 1),
        fact('d_head', attention, 2),
        fact('d_inner', 'model/encoder/layer_0/ff/layer_1/kernel', 1),
        ...(base
          ? []
          : [
              {
                field: 'num_decoder_layers',
                value: countIndexed(input.listing, /^model\/decoder\/layer_(\d+)\//),
                evidence: 'model/decoder/layer_{i}/',
              },
            ]),
      ],
      assumptions: [],
      fixed: { architectures: [base ? CLASSES.base : CLASSES.full], model_type: 'funnel' },
      hint: base
        ? 'Pass the config of this checkpoint with --config.'
        : 'Pass the config of this checkpoint with --config; a checkpoint without a decoder converts with --base_model.',
    },
  );
  config.block_repeats ??= blockSizes(config).map(() => 1);
  const sizes = config.block_sizes;
  if (!Array.isArray(sizes) || sizes.length === 0 || sizes.some((s) => !Number.isSafeInteger(s) || s < 1))
    throw new Tf2TorchError(ErrorCode.CONFIG, `${where}: block_sizes must be a list of positive integers`, {
      file: where,
    });
  checkDimensions(config, ['vocab_size', 'd_model', 'n_head', 'd_head', 'd_inner'], where);
  const layers = countIndexed(input.listing, /^model\/encoder\/layer_(\d+)\//);
  const total = blockSizes(config).reduce((a, b) => a + b, 0);
  if (layers > 0 && layers !== total)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `the config (${where}) does not describe this checkpoint: block_sizes ${jsonPreview(sizes)} make ${total} encoder layers, the checkpoint has ${layers} (model/encoder/layer_{i}/)`,
      { file: where },
    );
  return config;
}

/** One Funnel layer's rules, TF scope → module: 3-D attention kernels reshaped then transposed, as transformers. */
function layerRules(tf: string, pt: string, config: ModelConfig): Rule[] {
  const d = config.d_model as number;
  const heads = (config.n_head as number) * (config.d_head as number);
  const reshapeT = (shape: number[]) => [{ op: 'reshape', shape }, { op: 'transpose' }] as const;
  const a = `${tf}/rel_attn`;
  const p = `${pt}.attention`;
  return [
    ...['r_w_bias', 'r_r_bias', 'r_s_bias', 'seg_embed'].map((v) => ({ from: `${a}/${v}`, to: `${p}.${v}` })),
    { from: `${a}/r/kernel`, to: `${p}.r_kernel`, note: 'kept 3-D [d_model, n_head, d_head]' },
    ...['q', 'k', 'v'].map((h) => ({
      from: `${a}/${h}/kernel`,
      to: `${p}.${h}_head.weight`,
      transforms: reshapeT([heads, d]),
      note: '[d_model, n_head, d_head] reshaped to the weight shape, then transposed (transformers)',
    })),
    ...['k', 'v'].map((h) => ({
      from: `${a}/${h}/bias`,
      to: `${p}.${h}_head.bias`,
      transforms: [{ op: 'reshape', shape: [heads] }] as const,
    })),
    {
      from: `${a}/o/kernel`,
      to: `${p}.post_proj.weight`,
      transforms: reshapeT([d, heads]),
      note: '[n_head, d_head, d_model] reshaped to the weight shape, then transposed (transformers)',
    },
    { from: `${a}/o/bias`, to: `${p}.post_proj.bias` },
    ...layerNorm(a, `${p}.layer_norm`, 'layer_norm'),
    ...dense(`${tf}/ff/layer_1`, `${pt}.ffn.linear_1`),
    ...dense(`${tf}/ff/layer_2`, `${pt}.ffn.linear_2`),
    ...layerNorm(`${tf}/ff`, `${pt}.ffn.layer_norm`, 'layer_norm'),
  ] as Rule[];
}

/** Encoder layer i of the TF count → (block, index in block), by the block sizes; decoder layers continue the count. */
function rules(config: ModelConfig): readonly Rule[] {
  const out: Rule[] = [
    { from: 'model/input/word_embedding/lookup_table', to: 'embeddings.word_embeddings.weight' },
    ...layerNorm('model/input', 'embeddings.layer_norm', 'layer_norm'),
  ];
  let i = 0;
  blockSizes(config).forEach((size, b) => {
    for (let j = 0; j < size; j++, i++)
      out.push(...layerRules(`model/encoder/layer_${i}`, `encoder.blocks.${b}.${j}`, config));
  });
  if (!isBase(config))
    for (let j = 0; j < (config.num_decoder_layers as number); j++)
      out.push(...layerRules(`model/decoder/layer_${i + j}`, `decoder.layers.${j}`, config));
  return out;
}

function configSkip(config: ModelConfig) {
  return isBase(config)
    ? [{ pattern: '^model/decoder/', reason: `decoder: ${CLASSES.base} has none (--base_model)` }]
    : [];
}

/** FunnelRelMultiheadAttention's own parameters come first in state_dict, then its modules. */
function layerKeys(p: string, config: ModelConfig): ExpectedKey[] {
  const D = dim(config, 'd_model');
  const N = dim(config, 'n_head');
  const H = dim(config, 'd_head');
  const NH = times(N, H);
  const I = dim(config, 'd_inner');
  const perHead = (key: string): ExpectedKey => shapedKey(key, [N, H]);
  const a = `${p}.attention`;
  return [
    perHead(`${a}.r_w_bias`),
    perHead(`${a}.r_r_bias`),
    shapedKey(`${a}.r_kernel`, [D, N, H]),
    perHead(`${a}.r_s_bias`),
    shapedKey(`${a}.seg_embed`, [TWO, N, H]),
    ...linearKeys(`${a}.q_head`, NH, D, { bias: false }),
    ...linearKeys(`${a}.k_head`, NH, D),
    ...linearKeys(`${a}.v_head`, NH, D),
    ...linearKeys(`${a}.post_proj`, D, NH),
    ...normKeys(`${a}.layer_norm`, D),
    ...linearKeys(`${p}.ffn.linear_1`, I, D),
    ...linearKeys(`${p}.ffn.linear_2`, D, I),
    ...normKeys(`${p}.ffn.layer_norm`, D),
  ];
}

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const D = dim(config, 'd_model');
  const keys: ExpectedKey[] = [
    tableKey('embeddings.word_embeddings.weight', dim(config, 'vocab_size'), D),
    ...normKeys('embeddings.layer_norm', D),
  ];
  blockSizes(config).forEach((size, b) => {
    for (let j = 0; j < size; j++) keys.push(...layerKeys(`encoder.blocks.${b}.${j}`, config));
  });
  if (!isBase(config))
    for (let j = 0; j < (config.num_decoder_layers as number); j++)
      keys.push(...layerKeys(`decoder.layers.${j}`, config));
  return keys;
}

export const funnel: Architecture = {
  modelType: 'funnel',
  summary: `laiguokun/Funnel-Transformer TF checkpoints → ${CLASSES.full}, or ${CLASSES.base} with --base_model`,
  detect: {
    names: ['^model/(encoder|decoder)/layer_\\d+/rel_attn/'],
    sidecars: [NET_CONFIG],
    baseClass: CLASSES.full,
  },
  options: [{ name: 'base_model', help: `encoder only (${CLASSES.base}): the released checkpoints without a decoder` }],
  buildConfig,
  skip: [
    { pattern: '^generator/', reason: 'ELECTRA-style generator, not part of the model (transformers skips it too)' },
    { pattern: '^model/(lm|binary)_(proj|loss)/', reason: `pre-training head: ${CLASSES.full} has none` },
  ],
  configSkip,
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  // relative attention: model_max_length as transformers' released funnel-transformer tokenizers have it
  tokenizer: wordPieceTokenizer('FunnelTokenizer', {
    special: {
      bos_token: '<s>',
      cls_token: '<cls>',
      eos_token: '</s>',
      mask_token: '<mask>',
      pad_token: '<pad>',
      sep_token: '<sep>',
      unk_token: '<unk>',
    },
    maxLength: { fixed: 512, why: "as transformers' funnel-transformer tokenizers" },
  }),
};
