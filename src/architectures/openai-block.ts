/**
 * The transformer block of OpenAI's GPT and GPT-2 releases, once: each parameter's name under `model/h{n}/`,
 * its key under `h.{n}.` and its shape (Conv1D keeps [in, out]). The two model classes order the same four
 * sub-modules differently: GPT's Block (and the GPT release's arrays) attn, ln_1, mlp, ln_2; GPT2Block
 * ln_1, attn, ln_2, mlp.
 */
import type { ExpectedKey } from '../mapping/types.js';
import { type Dim, shapedKey, times } from './building-blocks.js';

/** One parameter of a block: `model/h{n}/{tf}` → `h.{n}.{key}`, shaped by the width and the MLP's inner width. */
export interface BlockParam {
  readonly tf: string;
  readonly key: string;
  readonly shape: (embd: Dim, inner: Dim) => readonly Dim[];
}

type Size = (embd: Dim, inner: Dim) => Dim;
const embdSize: Size = (embd) => embd;
const innerSize: Size = (_, inner) => inner;

/** Conv1D(nf, nx): `w` [nx, nf] and `b` [nf]. */
const conv1d = (scope: string, nx: Size, nf: Size): BlockParam[] => [
  { tf: `${scope}/w`, key: `${scope.replace('/', '.')}.weight`, shape: (e, i) => [nx(e, i), nf(e, i)] },
  { tf: `${scope}/b`, key: `${scope.replace('/', '.')}.bias`, shape: (e, i) => [nf(e, i)] },
];

/** LayerNorm(n_embd): `g` and `b`. */
const norm = (scope: string): BlockParam[] => [
  { tf: `${scope}/g`, key: `${scope}.weight`, shape: (e) => [e] },
  { tf: `${scope}/b`, key: `${scope}.bias`, shape: (e) => [e] },
];

const ATTN = [...conv1d('attn/c_attn', embdSize, (e) => times(3, e)), ...conv1d('attn/c_proj', embdSize, embdSize)];
const MLP = [...conv1d('mlp/c_fc', embdSize, innerSize), ...conv1d('mlp/c_proj', innerSize, embdSize)];

/** OpenAIGPTModel's Block, in state_dict order, which is also the order of the GPT release's arrays. */
export const GPT_BLOCK: readonly BlockParam[] = [...ATTN, ...norm('ln_1'), ...MLP, ...norm('ln_2')];
/** GPT2Block, in state_dict order. */
export const GPT2_BLOCK: readonly BlockParam[] = [...norm('ln_1'), ...ATTN, ...norm('ln_2'), ...MLP];

/** `h.{n}.…` of every block, in state_dict order. */
export function blockKeys(block: readonly BlockParam[], layers: number, embd: Dim, inner: Dim): ExpectedKey[] {
  const keys: ExpectedKey[] = [];
  for (let n = 0; n < layers; n++) for (const p of block) keys.push(shapedKey(`h.${n}.${p.key}`, p.shape(embd, inner)));
  return keys;
}

/**
 * Each block's causal mask `h.N.attn.bias`, a persistent buffer up to transformers 4.29 (which reports it missing
 * otherwise), in its state_dict place: the attention module's buffer, before its sub-layers. GPT-2 registers it as
 * bool, GPT as float (`torch.tril(torch.ones(…))`).
 */
export const withCausalMasks = (keys: readonly ExpectedKey[], positions: number, dtype: 'bool' | 'float32') =>
  keys.flatMap((k): ExpectedKey[] =>
    k.key.endsWith('.attn.c_attn.weight')
      ? [
          {
            key: k.key.replace(/c_attn\.weight$/, 'bias'),
            shape: [1, 1, positions, positions],
            dtype,
            generate: { kind: 'causal-mask', size: positions },
          },
          k,
        ]
      : [k],
  );

/** The release's BPE files (`encoder`, `merges`) under the names transformers' tokenizer loads. */
export const bpeTokenizerFiles = (encoder: string, merges: string) => [
  { from: encoder, to: 'vocab.json' },
  { from: merges, to: 'merges.txt' },
];
