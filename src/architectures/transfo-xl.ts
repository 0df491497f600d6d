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
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { configSource, refuseDisagreements, resolveAliases } from './checkpoint-facts.js';
import {
  deriveTransfoXlFields,
  ORIGINAL_LAYER_NORM_EPSILON,
  TRANSFO_XL_DEFAULTS,
  type TransfoXlShapeFields,
  transfoXlProjections,
} from './transfo-xl-config.js';

const T = 'transformer/';
const TRANSPOSE = [{ op: 'transpose' }] as const;

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
    SHAPE_FIELDS.filter((f) => f in user && JSON.stringify(user[f]) !== JSON.stringify(derived[f])).map((f) => ({
      field: f,
      config: user[f],
      checkpoint: derived[f],
      evidence: 'the tensor shapes',
    })),
    source,
    'Pass the config of this checkpoint, or none: the shapes determine these fields.',
  );
  const fromShapes = SHAPE_FIELDS.filter((f) => !(f in user)).map((f) => `${f}=${JSON.stringify(derived[f])}`);
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

/** TransfoXLLMHeadModel.state_dict(), in its order: own parameters, then children, then buffers' modules. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const c = fields(config);
  const proj = transfoXlProjections(c);
  const ends = clusterEnds(c);
  const n = c.cutoffs.length + 1;
  const keys: ExpectedKey[] = [];
  if (!c.untie_r) {
    keys.push({ key: 'transformer.r_w_bias', shape: [c.n_head, c.d_head], fromConfig: '[n_head, d_head]' });
    keys.push({ key: 'transformer.r_r_bias', shape: [c.n_head, c.d_head], fromConfig: '[n_head, d_head]' });
  }
  const identity = (size: number) => ({ kind: 'identity', size }) as const;
  if (c.div_val === 1) {
    keys.push({
      key: 'transformer.word_emb.emb_layers.0.weight',
      shape: [c.vocab_size, c.d_embed],
      fromConfig: '[vocab_size, d_embed]',
    });
    if (c.d_model !== c.d_embed)
      keys.push({
        key: 'transformer.word_emb.emb_projs.0',
        shape: [c.d_model, c.d_embed],
        fromConfig: '[d_model, d_embed]',
      });
  } else {
    for (let i = 0; i < n; i++) {
      keys.push({
        key: `transformer.word_emb.emb_layers.${i}.weight`,
        shape: [ends[i + 1]! - ends[i]!, clusterWidth(c, i)],
        fromConfig: `[cluster ${i} size, d_embed / div_val^${i}]`,
      });
    }
    for (let i = 0; i < n; i++) {
      const key = `transformer.word_emb.emb_projs.${i}`;
      const shape = [c.d_model, clusterWidth(c, i)];
      // The original leaves this cluster unprojected; the module multiplies by it anyway.
      keys.push(proj.embedding[i] ? { key, shape } : { key, shape, generate: identity(c.d_model) });
    }
  }
  for (let l = 0; l < c.n_layer; l++) {
    const k = `transformer.layers.${l}.`;
    const hd = c.n_head * c.d_head;
    if (c.untie_r) {
      keys.push(
        { key: `${k}dec_attn.r_r_bias`, shape: [c.n_head, c.d_head] },
        { key: `${k}dec_attn.r_w_bias`, shape: [c.n_head, c.d_head] },
      );
    } else {
      // the model's own Parameters, passed to every layer: 4.29.2 reports the layers' names missing without a copy
      const shared = { shape: [c.n_head, c.d_head], copyInSafetensors: true };
      keys.push(
        { key: `${k}dec_attn.r_r_bias`, aliasOf: 'transformer.r_r_bias', ...shared },
        { key: `${k}dec_attn.r_w_bias`, aliasOf: 'transformer.r_w_bias', ...shared },
      );
    }
    keys.push(
      { key: `${k}dec_attn.qkv_net.weight`, shape: [3 * hd, c.d_model], fromConfig: '[3 × n_head × d_head, d_model]' },
      { key: `${k}dec_attn.o_net.weight`, shape: [c.d_model, hd] },
      { key: `${k}dec_attn.layer_norm.weight`, shape: [c.d_model] },
      { key: `${k}dec_attn.layer_norm.bias`, shape: [c.d_model] },
      { key: `${k}dec_attn.r_net.weight`, shape: [hd, c.d_model] },
      { key: `${k}pos_ff.CoreNet.0.weight`, shape: [c.d_inner, c.d_model], fromConfig: '[d_inner, d_model]' },
      { key: `${k}pos_ff.CoreNet.0.bias`, shape: [c.d_inner] },
      { key: `${k}pos_ff.CoreNet.3.weight`, shape: [c.d_model, c.d_inner] },
      { key: `${k}pos_ff.CoreNet.3.bias`, shape: [c.d_model] },
      { key: `${k}pos_ff.layer_norm.weight`, shape: [c.d_model] },
      { key: `${k}pos_ff.layer_norm.bias`, shape: [c.d_model] },
    );
  }
  keys.push({
    key: 'transformer.pos_emb.inv_freq',
    shape: [c.d_model / 2],
    generate: { kind: 'inv-freq', dModel: c.d_model },
  });
  if (c.cutoffs.length > 0) {
    keys.push(
      { key: 'crit.cluster_weight', shape: [c.cutoffs.length, c.d_embed] },
      { key: 'crit.cluster_bias', shape: [c.cutoffs.length] },
    );
  }
  if (c.div_val === 1) {
    keys.push(
      {
        key: 'crit.out_layers.0.weight',
        shape: [c.vocab_size, c.d_embed],
        aliasOf: 'transformer.word_emb.emb_layers.0.weight',
      },
      { key: 'crit.out_layers.0.bias', shape: [c.vocab_size] },
    );
    if (c.d_model !== c.d_embed) {
      for (let i = 0; i < n; i++) {
        const key = `crit.out_projs.${i}`;
        const shape = [c.d_model, c.d_embed];
        keys.push(
          c.tie_projs[i] || c.cutoffs.length === 0
            ? { key, shape, aliasOf: 'transformer.word_emb.emb_projs.0' }
            : { key, shape },
        );
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      keys.push(
        {
          key: `crit.out_layers.${i}.weight`,
          shape: [ends[i + 1]! - ends[i]!, clusterWidth(c, i)],
          aliasOf: `transformer.word_emb.emb_layers.${i}.weight`,
        },
        { key: `crit.out_layers.${i}.bias`, shape: [ends[i + 1]! - ends[i]!] },
      );
    }
    for (let i = 0; i < n; i++) {
      const key = `crit.out_projs.${i}`;
      const shape = [c.d_model, clusterWidth(c, i)];
      if (c.tie_projs[i]) keys.push({ key, shape, aliasOf: `transformer.word_emb.emb_projs.${i}` });
      else keys.push(proj.softmax[i] ? { key, shape } : { key, shape, generate: identity(c.d_model) });
    }
  }
  return keys;
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
