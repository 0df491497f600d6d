/**
 * Transformer-XL hyper-parameters read off a kimiyoung/transformer-xl TF checkpoint's shapes, so a
 * checkpoint converts without its training flags, and a `--config` that disagrees with the weights
 * is refused before any byte moves. Pure functions of the listing; no bytes.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { ModelConfig, TensorInfo } from '../mapping/types.js';
import { shapeText } from './building-blocks.js';

const P = 'transformer/';

/** The fields of TransfoXLConfig that the weights determine, plus the original's `proj_same_dim` flag. */
export interface TransfoXlShapeFields {
  vocab_size: number;
  cutoffs: number[];
  d_model: number;
  d_embed: number;
  n_head: number;
  d_head: number;
  d_inner: number;
  div_val: number;
  n_layer: number;
  untie_r: boolean;
  /** Per softmax cluster (cutoffs + 1 entries): whether it reuses the embedding projection. */
  tie_projs: boolean[];
  /** Original flag: whether clusters whose width equals d_model still get a projection. */
  proj_same_dim: boolean;
}

/** TransfoXLConfig() defaults for what the weights cannot tell (transformers' configuration_transfo_xl). */
export const TRANSFO_XL_DEFAULTS: Readonly<ModelConfig> = {
  adaptive: true,
  attn_type: 0,
  clamp_len: 1000,
  dropatt: 0.0,
  dropout: 0.1,
  eos_token_id: 0,
  init: 'normal',
  init_range: 0.01,
  init_std: 0.02,
  mem_len: 1600,
  pre_lnorm: false,
  proj_init_std: 0.01,
  same_length: true,
  sample_softmax: -1,
};

/**
 * The original computes layer norms with tf.contrib.layers.layer_norm, whose variance epsilon is
 * 1e-12; transformers' default (1e-5) would compute a slightly different function.
 */
export const ORIGINAL_LAYER_NORM_EPSILON = 1e-12;

function configError(message: string): Tf2TorchError {
  return new Tf2TorchError(ErrorCode.CONFIG, message);
}

function shapeOf(byName: ReadonlyMap<string, TensorInfo>, name: string): readonly number[] {
  const t = byName.get(P + name);
  if (!t) throw configError(`not a Transformer-XL checkpoint: '${P + name}' is missing`);
  return t.shape;
}

function dim(shape: readonly number[], axis: number, name: string): number {
  const d = shape[axis];
  if (d === undefined)
    throw configError(`'${P + name}' has shape ${shapeText(shape)}, expected at least ${axis + 1} axes`);
  return d;
}

/** Indices i for which `${prefix}${i}${suffix}` exists, checked to be 0..n-1 without gaps. */
function indices(byName: ReadonlyMap<string, TensorInfo>, prefix: string, suffix: string): number[] {
  const found = new Set<number>();
  for (const name of byName.keys()) {
    if (!name.startsWith(P + prefix) || !name.endsWith(suffix)) continue;
    const middle = name.slice((P + prefix).length, name.length - suffix.length);
    if (/^\d+$/.test(middle)) found.add(Number.parseInt(middle, 10));
  }
  const list = [...found].sort((a, b) => a - b);
  list.forEach((v, i) => {
    if (v !== i) throw configError(`'${P}${prefix}${i}${suffix}' is missing (found index ${v})`);
  });
  return list;
}

function cumulative(sizes: readonly number[]): number[] {
  const out: number[] = [];
  let sum = 0;
  for (const s of sizes) {
    sum += s;
    out.push(sum);
  }
  return out;
}

type LayerFields = Pick<TransfoXlShapeFields, 'd_model' | 'n_head' | 'd_head' | 'd_inner' | 'n_layer' | 'untie_r'>;

/** The layers' sizes: from layer 0's kernels and the relative-position biases (one per layer when untied). */
function layerFields(byName: ReadonlyMap<string, TensorInfo>): LayerFields {
  const layers = indices(byName, 'layer_', '/rel_attn/qkv/kernel');
  if (layers.length === 0) throw configError(`not a Transformer-XL checkpoint: no '${P}layer_0/rel_attn/qkv/kernel'`);
  const qkv = shapeOf(byName, 'layer_0/rel_attn/qkv/kernel');
  const d_model = dim(qkv, 0, 'layer_0/rel_attn/qkv/kernel');
  const rw = shapeOf(byName, 'r_w_bias');
  const untie_r = rw.length === 3;
  if (rw.length !== 2 && rw.length !== 3)
    throw configError(
      `'${P}r_w_bias' has shape ${shapeText(rw)}: expected [n_head, d_head] or [n_layer, n_head, d_head]`,
    );
  if (untie_r && rw[0] !== layers.length)
    throw configError(`'${P}r_w_bias' has ${rw[0]} layers but the checkpoint has ${layers.length}`);
  const n_head = dim(rw, rw.length - 2, 'r_w_bias');
  const d_head = dim(rw, rw.length - 1, 'r_w_bias');
  if (dim(qkv, 1, 'layer_0/rel_attn/qkv/kernel') !== 3 * n_head * d_head) {
    throw configError(
      `'${P}layer_0/rel_attn/qkv/kernel' has ${qkv[1]} columns; 3 × n_head × d_head = ${3 * n_head * d_head}`,
    );
  }
  const d_inner = dim(shapeOf(byName, 'layer_0/ff/layer_1/kernel'), 1, 'layer_0/ff/layer_1/kernel');
  return { d_model, n_head, d_head, d_inner, n_layer: layers.length, untie_r };
}

/** The adaptive embedding's fields, and whether each cluster's table has its own projection. */
interface EmbeddingFields extends Pick<TransfoXlShapeFields, 'vocab_size' | 'd_embed' | 'div_val' | 'cutoffs'> {
  readonly embProj: boolean[];
}

/** div_val 1: one table for the whole vocabulary; clusters exist only in the softmax. */
function singleTableFields(byName: ReadonlyMap<string, TensorInfo>): EmbeddingFields {
  const table = shapeOf(byName, 'adaptive_embed/lookup_table');
  const vocab_size = dim(table, 0, 'adaptive_embed/lookup_table');
  const d_embed = dim(table, 1, 'adaptive_embed/lookup_table');
  const clusters = indices(byName, 'adaptive_softmax/cutoff_', '/b');
  let cutoffs: number[] = [];
  if (clusters.length === 0) {
    shapeOf(byName, 'adaptive_softmax/bias');
  } else {
    const ends = cumulative(
      clusters.map((i) => dim(shapeOf(byName, `adaptive_softmax/cutoff_${i}/b`), 0, `adaptive_softmax/cutoff_${i}/b`)),
    );
    if (ends.at(-1) !== vocab_size)
      throw configError(
        `the softmax clusters cover ${ends.at(-1)} tokens but '${P}adaptive_embed/lookup_table' has ${vocab_size}`,
      );
    cutoffs = ends.slice(0, -1);
  }
  const proj = byName.has(`${P}adaptive_embed/proj_W`);
  return { vocab_size, d_embed, div_val: 1, cutoffs, embProj: Array.from({ length: cutoffs.length + 1 }, () => proj) };
}

/** div_val > 1: one table per cluster, each div_val times narrower than the one before. */
function clusterTableFields(byName: ReadonlyMap<string, TensorInfo>, userDivVal?: number): EmbeddingFields {
  const clusters = indices(byName, 'adaptive_embed/cutoff_', '/lookup_table');
  if (clusters.length === 0)
    throw configError(
      `not a Transformer-XL checkpoint: neither '${P}adaptive_embed/lookup_table' nor '${P}adaptive_embed/cutoff_0/lookup_table'`,
    );
  const tables = clusters.map((i) => shapeOf(byName, `adaptive_embed/cutoff_${i}/lookup_table`));
  const widths = tables.map((s, i) => dim(s, 1, `adaptive_embed/cutoff_${i}/lookup_table`));
  const ends = cumulative(tables.map((s, i) => dim(s, 0, `adaptive_embed/cutoff_${i}/lookup_table`)));
  const d_embed = widths[0]!;
  const div_val =
    widths.length > 1 ? Math.round(d_embed / widths[1]!) : userDivVal !== undefined && userDivVal > 1 ? userDivVal : 2;
  widths.forEach((w, i) => {
    if (w !== Math.floor(d_embed / div_val ** i)) {
      throw configError(
        `'${P}adaptive_embed/cutoff_${i}/lookup_table' is ${w} wide; with d_embed ${d_embed} and div_val ${div_val} it should be ${Math.floor(d_embed / div_val ** i)}`,
      );
    }
  });
  return {
    vocab_size: ends.at(-1)!,
    d_embed,
    div_val,
    cutoffs: ends.slice(0, -1),
    embProj: clusters.map((i) => byName.has(`${P}adaptive_embed/cutoff_${i}/proj_W`)),
  };
}

/** The original's projection flags: which softmax clusters reuse the embedding's, and `proj_same_dim`. */
function projectionFields(
  byName: ReadonlyMap<string, TensorInfo>,
  e: EmbeddingFields,
  d_model: number,
): Pick<TransfoXlShapeFields, 'tie_projs' | 'proj_same_dim'> {
  const tie_projs: boolean[] = [];
  for (let i = 0; i <= e.cutoffs.length; i++) {
    const own = byName.has(`${P}adaptive_softmax/cutoff_${i}/proj`);
    // Without its own projection a cluster reuses the embedding's (the original's tie_projs), if any.
    tie_projs.push(!own && e.embProj[i] === true);
  }
  let proj_same_dim = true;
  if (e.div_val > 1) {
    const sameWidth = e.embProj
      .map((p, i) => ({ p, w: Math.floor(e.d_embed / e.div_val ** i) }))
      .filter((c) => c.w === d_model);
    if (sameWidth.length > 0) proj_same_dim = sameWidth.every((c) => c.p);
  }
  return { tie_projs, proj_same_dim };
}

/** Reads every shape-determined field; `userDivVal` only breaks the tie of a single `cutoff_0` cluster. */
export function deriveTransfoXlFields(listing: readonly TensorInfo[], userDivVal?: number): TransfoXlShapeFields {
  const byName = new Map(listing.map((t) => [t.name, t]));
  const layer = layerFields(byName);
  const e = byName.has(`${P}adaptive_embed/lookup_table`)
    ? singleTableFields(byName)
    : clusterTableFields(byName, userDivVal);
  const { tie_projs, proj_same_dim } = projectionFields(byName, e, layer.d_model);
  return {
    vocab_size: e.vocab_size,
    cutoffs: e.cutoffs,
    d_model: layer.d_model,
    d_embed: e.d_embed,
    n_head: layer.n_head,
    d_head: layer.d_head,
    d_inner: layer.d_inner,
    div_val: e.div_val,
    n_layer: layer.n_layer,
    untie_r: layer.untie_r,
    tie_projs,
    proj_same_dim,
  };
}

/** Which projections the original model has, from the config, exactly as its TF code decides. */
export function transfoXlProjections(c: TransfoXlShapeFields): { embedding: boolean[]; softmax: boolean[] } {
  const n = c.cutoffs.length + 1;
  const embedding: boolean[] = [];
  const softmax: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const width = c.div_val === 1 ? c.d_embed : Math.floor(c.d_embed / c.div_val ** i);
    embedding.push(c.div_val === 1 ? c.d_model !== c.d_embed : !(width === c.d_model && !c.proj_same_dim));
    const ownSkipped = (c.div_val === 1 || !c.proj_same_dim) && c.d_embed === c.d_model;
    // Without clusters the original always reuses the embedding projection.
    softmax.push(c.cutoffs.length > 0 && c.tie_projs[i] !== true && !ownSkipped);
  }
  return { embedding, softmax };
}
