/**
 * transfo_xl: a kimiyoung/transformer-xl TensorFlow checkpoint → TransfoXLLMHeadModel.
 *
 * Beyond transformers' own converter this handles what it crashes on or silently drops: tied
 * relative-position biases (untie_r false), a vocabulary without clusters (`adaptive_embed/lookup_table`,
 * `adaptive_softmax/bias`), div_val 1 with clusters (the softmax bias is the clusters' biases
 * concatenated), and clusters the original leaves unprojected, for which the PyTorch module still has
 * a projection: those get the identity, so the converted model computes the original's function.
 * Kernels and projections are stored [in, out] by TF and transposed; per-layer biases are split.
 */

import { jsonPreview } from '../io/python-json.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  type Dim,
  dim,
  layersKeys,
  linearKeys,
  normKeys,
  shapedKey,
  TRANSPOSE,
  tableKey,
  times,
  vectorKey,
} from './building-blocks.js';
import { configSource, refuseDisagreements, resolveAliases } from './checkpoint-facts.js';
import {
  deriveTransfoXlFields,
  ORIGINAL_LAYER_NORM_EPSILON,
  TRANSFO_XL_DEFAULTS,
  type TransfoXlShapeFields,
  transfoXlProjections,
} from './transfo-xl-config.js';

const T = 'transformer/';

/** TransfoXLConfig.attribute_map: names a user's config may use for the canonical fields. */
const ALIASES: Readonly<Record<string, string>> = {
  n_token: 'vocab_size',
  hidden_size: 'd_model',
  num_attention_heads: 'n_head',
  num_hidden_layers: 'n_layer',
};

/** The fields the weights determine; a config that says otherwise describes another model. */
const SHAPE_FIELDS = [
  'vocab_size',
  'cutoffs',
  'd_model',
  'd_embed',
  'n_head',
  'd_head',
  'd_inner',
  'div_val',
  'n_layer',
  'untie_r',
] as const;

function buildConfig(input: ConfigInput): ModelConfig {
  let user = resolveAliases(input.user ?? {}, ALIASES);
  const userDivVal = typeof user.div_val === 'number' ? user.div_val : undefined;
  const derived = deriveTransfoXlFields(input.listing, userDivVal);
  const cutoffs = user.cutoffs;
  if (Array.isArray(cutoffs) && cutoffs.length >= 2 && cutoffs[0] === 0 && cutoffs.at(-1) === derived.vocab_size) {
    // Some ports list the cluster ends with 0 and the vocabulary size; transformers lists the inner ones.
    user = { ...user, cutoffs: cutoffs.slice(1, -1) };
  }
  const source = configSource(input);
  refuseDisagreements(
    SHAPE_FIELDS.filter((f) => f in user && jsonPreview(user[f]) !== jsonPreview(derived[f])).map((f) => ({
      field: f,
      config: user[f],
      checkpoint: derived[f],
      evidence: 'the tensor shapes',
    })),
    source,
    'Pass the config of this checkpoint, or none: the shapes determine these fields.',
  );
  const fromShapes = SHAPE_FIELDS.filter((f) => !(f in user)).map((f) => `${f}=${jsonPreview(derived[f])}`);
  if (fromShapes.length > 0)
    input.note?.(
      `transfo_xl: derived from the tensor shapes: ${fromShapes.join(', ')}, tie_projs=${JSON.stringify(derived.tie_projs)}`,
    );
  if (!('layer_norm_epsilon' in user))
    input.note?.(
      `transfo_xl: layer_norm_epsilon=${ORIGINAL_LAYER_NORM_EPSILON} (the original's tf.contrib layer_norm; transformers' default is 1e-05)`,
    );
  return {
    ...TRANSFO_XL_DEFAULTS,
    layer_norm_epsilon: ORIGINAL_LAYER_NORM_EPSILON,
    ...user,
    ...derived,
    architectures: ['TransfoXLLMHeadModel'],
    model_type: 'transfo-xl',
  };
}

function fields(config: ModelConfig): TransfoXlShapeFields {
  return config as unknown as TransfoXlShapeFields;
}

function clusterWidth(c: TransfoXlShapeFields, i: number): number {
  return c.div_val === 1 ? c.d_embed : Math.floor(c.d_embed / c.div_val ** i);
}

function clusterEnds(c: TransfoXlShapeFields): number[] {
  return [0, ...c.cutoffs, c.vocab_size];
}

function rules(config: ModelConfig): readonly Rule[] {
  const c = fields(config);
  const proj = transfoXlProjections(c);
  const out: Rule[] = [];
  const n = c.cutoffs.length + 1;
  // Adaptive input embedding.
  if (c.div_val === 1) {
    out.push({ from: `${T}adaptive_embed/lookup_table`, to: 'transformer.word_emb.emb_layers.0.weight' });
    if (proj.embedding[0])
      out.push({ from: `${T}adaptive_embed/proj_W`, to: 'transformer.word_emb.emb_projs.0', transforms: TRANSPOSE });
  } else {
    for (let i = 0; i < n; i++) {
      out.push({
        from: `${T}adaptive_embed/cutoff_${i}/lookup_table`,
        to: `transformer.word_emb.emb_layers.${i}.weight`,
      });
      if (proj.embedding[i])
        out.push({
          from: `${T}adaptive_embed/cutoff_${i}/proj_W`,
          to: `transformer.word_emb.emb_projs.${i}`,
          transforms: TRANSPOSE,
        });
    }
  }
  // Layers.
  const L = `${T}layer_{layer}/`;
  const K = 'transformer.layers.{layer}.';
  out.push(
    {
      from: `${L}rel_attn/qkv/kernel`,
      to: `${K}dec_attn.qkv_net.weight`,
      transforms: TRANSPOSE,
      note: 'fused q, k, v (split by chunk(3) in both)',
    },
    { from: `${L}rel_attn/o/kernel`, to: `${K}dec_attn.o_net.weight`, transforms: TRANSPOSE },
    { from: `${L}rel_attn/LayerNorm/gamma`, to: `${K}dec_attn.layer_norm.weight` },
    { from: `${L}rel_attn/LayerNorm/beta`, to: `${K}dec_attn.layer_norm.bias` },
    { from: `${L}rel_attn/r/kernel`, to: `${K}dec_attn.r_net.weight`, transforms: TRANSPOSE },
    { from: `${L}ff/layer_1/kernel`, to: `${K}pos_ff.CoreNet.0.weight`, transforms: TRANSPOSE },
    { from: `${L}ff/layer_1/bias`, to: `${K}pos_ff.CoreNet.0.bias` },
    { from: `${L}ff/layer_2/kernel`, to: `${K}pos_ff.CoreNet.3.weight`, transforms: TRANSPOSE },
    { from: `${L}ff/layer_2/bias`, to: `${K}pos_ff.CoreNet.3.bias` },
    { from: `${L}ff/LayerNorm/gamma`, to: `${K}pos_ff.layer_norm.weight` },
    { from: `${L}ff/LayerNorm/beta`, to: `${K}pos_ff.layer_norm.bias` },
  );
  // Relative-position biases: one per layer (split along axis 0) or one shared by all layers.
  for (const b of ['r_r_bias', 'r_w_bias']) {
    if (c.untie_r)
      out.push({
        from: `${T}${b}`,
        to: `transformer.layers.{layer}.dec_attn.${b}`,
        split: { axis: 0, as: 'layer' },
        note: 'untied: one slice per layer',
      });
    else out.push({ from: `${T}${b}`, to: `transformer.${b}`, note: 'tied: shared by every layer' });
  }
  // Adaptive softmax (weights tied to the embedding tables).
  if (c.cutoffs.length === 0) {
    out.push({ from: `${T}adaptive_softmax/bias`, to: 'crit.out_layers.0.bias' });
  } else {
    out.push(
      { from: `${T}adaptive_softmax/cutoff_0/cluster_W`, to: 'crit.cluster_weight' },
      { from: `${T}adaptive_softmax/cutoff_0/cluster_b`, to: 'crit.cluster_bias' },
    );
    if (c.div_val === 1) {
      const biases = Array.from({ length: n }, (_, i) => `${T}adaptive_softmax/cutoff_${i}/b`);
      out.push({
        from: biases,
        to: 'crit.out_layers.0.bias',
        transforms: [{ op: 'concat', axis: 0 }],
        note: "one output layer: the clusters' biases concatenated",
      });
    } else {
      for (let i = 0; i < n; i++)
        out.push({ from: `${T}adaptive_softmax/cutoff_${i}/b`, to: `crit.out_layers.${i}.bias` });
    }
    for (let i = 0; i < n; i++) {
      if (proj.softmax[i])
        out.push({ from: `${T}adaptive_softmax/cutoff_${i}/proj`, to: `crit.out_projs.${i}`, transforms: TRANSPOSE });
    }
  }
  return out;
}

const identity = (size: number) => ({ kind: 'identity', size }) as const;

/** Cluster i's embedding table: its share of the vocabulary, d_embed / div_val^i wide. */
function clusterTable(c: TransfoXlShapeFields, i: number): Dim[] {
  const ends = clusterEnds(c);
  return [
    { size: ends[i + 1]! - ends[i]!, field: `cluster ${i} size` },
    { size: clusterWidth(c, i), field: c.div_val === 1 ? 'd_embed' : `d_embed / div_val^${i}` },
  ];
}

/** AdaptiveEmbedding: the tables, then the projections to d_model (the identity where the original has none). */
function embeddingKeys(config: ModelConfig, c: TransfoXlShapeFields): ExpectedKey[] {
  const D = dim(config, 'd_model');
  const E = dim(config, 'd_embed');
  if (c.div_val === 1)
    return [
      tableKey('transformer.word_emb.emb_layers.0.weight', dim(config, 'vocab_size'), E),
      ...(c.d_model !== c.d_embed ? [shapedKey('transformer.word_emb.emb_projs.0', [D, E])] : []),
    ];
  const clusters = Array.from({ length: c.cutoffs.length + 1 }, (_, i) => i);
  const embedding = transfoXlProjections(c).embedding;
  return [
    ...clusters.map((i) => shapedKey(`transformer.word_emb.emb_layers.${i}.weight`, clusterTable(c, i))),
    ...clusters.map((i) => {
      const key = { key: `transformer.word_emb.emb_projs.${i}`, shape: [c.d_model, clusterWidth(c, i)] };
      // The original leaves this cluster unprojected; the module multiplies by it anyway.
      return embedding[i] ? key : { ...key, generate: identity(c.d_model) };
    }),
  ];
}

/** RelPartialLearnableDecoderLayer: attention (its biases owned, or aliases of the shared ones), then the FF. */
function layerKeys(k: string, config: ModelConfig): ExpectedKey[] {
  const c = fields(config);
  const D = dim(config, 'd_model');
  const I = dim(config, 'd_inner');
  const heads = times(dim(config, 'n_head'), dim(config, 'd_head'));
  const bias = (b: string): ExpectedKey => ({
    key: `${k}.dec_attn.${b}`,
    shape: [c.n_head, c.d_head],
    // the model's own Parameters, passed to every layer: 4.29.2 reports the layers' names missing without a copy
    ...(c.untie_r ? {} : { aliasOf: `transformer.${b}`, copyInSafetensors: true }),
  });
  return [
    bias('r_r_bias'),
    bias('r_w_bias'),
    ...linearKeys(`${k}.dec_attn.qkv_net`, times(3, heads), D, { bias: false }),
    ...linearKeys(`${k}.dec_attn.o_net`, D, heads, { bias: false }),
    ...normKeys(`${k}.dec_attn.layer_norm`, D),
    ...linearKeys(`${k}.dec_attn.r_net`, heads, D, { bias: false }),
    ...linearKeys(`${k}.pos_ff.CoreNet.0`, I, D),
    ...linearKeys(`${k}.pos_ff.CoreNet.3`, D, I),
    ...normKeys(`${k}.pos_ff.layer_norm`, D),
  ];
}

/** ProjectedAdaptiveLogSoftmax: the cluster head, output layers tied to the tables, projections tied or own. */
function softmaxKeys(config: ModelConfig, c: TransfoXlShapeFields): ExpectedKey[] {
  const E = dim(config, 'd_embed');
  const C: Dim = { size: c.cutoffs.length, field: 'len(cutoffs)' };
  const clusters = Array.from({ length: c.cutoffs.length + 1 }, (_, i) => i);
  const keys =
    c.cutoffs.length > 0 ? [shapedKey('crit.cluster_weight', [C, E]), shapedKey('crit.cluster_bias', [C])] : [];
  /** Projection i: an alias of an embedding projection, its own, or the identity where the original has none. */
  const projection = (i: number, width: number, tiedTo: string | undefined, own: boolean): ExpectedKey => {
    const key = { key: `crit.out_projs.${i}`, shape: [c.d_model, width] };
    if (tiedTo !== undefined) return { ...key, aliasOf: tiedTo };
    return own ? key : { ...key, generate: identity(c.d_model) };
  };
  if (c.div_val === 1) {
    const table = 'transformer.word_emb.emb_layers.0.weight';
    keys.push(
      { key: 'crit.out_layers.0.weight', shape: [c.vocab_size, c.d_embed], aliasOf: table },
      vectorKey('crit.out_layers.0.bias', dim(config, 'vocab_size')),
    );
    if (c.d_model !== c.d_embed)
      for (const i of clusters) {
        const tied = c.tie_projs[i] || c.cutoffs.length === 0;
        keys.push(projection(i, c.d_embed, tied ? 'transformer.word_emb.emb_projs.0' : undefined, true));
      }
    return keys;
  }
  for (const i of clusters) {
    const [rows, width] = clusterTable(c, i) as [Dim, Dim];
    const table = `transformer.word_emb.emb_layers.${i}.weight`;
    keys.push(
      { key: `crit.out_layers.${i}.weight`, shape: [rows.size, width.size], aliasOf: table },
      vectorKey(`crit.out_layers.${i}.bias`, rows),
    );
  }
  const softmax = transfoXlProjections(c).softmax;
  for (const i of clusters) {
    const tiedTo = c.tie_projs[i] ? `transformer.word_emb.emb_projs.${i}` : undefined;
    keys.push(projection(i, clusterWidth(c, i), tiedTo, softmax[i] === true));
  }
  return keys;
}

/** TransfoXLLMHeadModel.state_dict(), in its order: own parameters, then children, then buffers' modules. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const c = fields(config);
  const shared = c.untie_r ? [] : ['r_w_bias', 'r_r_bias'];
  return [
    ...shared.map((b) => shapedKey(`transformer.${b}`, [dim(config, 'n_head'), dim(config, 'd_head')])),
    ...embeddingKeys(config, c),
    ...layersKeys('transformer', config, layerKeys, { count: 'n_layer', module: 'layers' }),
    { key: 'transformer.pos_emb.inv_freq', shape: [c.d_model / 2], generate: { kind: 'inv-freq', dModel: c.d_model } },
    ...softmaxKeys(config, c),
  ];
}

export const transfoXl: Architecture = {
  modelType: 'transfo_xl',
  summary: 'Transformer-XL (kimiyoung/transformer-xl TF checkpoint) → TransfoXLLMHeadModel',
  detect: {
    names: ['^transformer/layer_\\d+/rel_attn/qkv/kernel$', '^transformer/adaptive_embed/'],
    baseClass: 'TransfoXLLMHeadModel',
  },
  buildConfig,
  rules,
  expectedKeys,
};
