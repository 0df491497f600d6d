/**
 * convbert: yitu-opensource/ConvBert pre-training checkpoints → transformers `ConvBertModel` (the discriminator
 * under `electra/`), as convert_convbert_original_tf1_checkpoint_to_pytorch_and_tf2.py maps them (keys without a
 * prefix: the script converts the bare model). ConvBERT is ELECTRA's code with mixed attention (model/modeling.py):
 * beside query/key/value each layer has the span-based dynamic convolution — `conv_attn_key`
 * (tf.layers.separable_conv1d: depthwise [k, hidden, 1] → Conv1d [hidden, 1, k], pointwise [1, hidden, all_head]
 * → [all_head, hidden, 1], bias [all_head] → [all_head, 1]), `conv_attn_kernel` and `conv_attn_point` (dense) —
 * and with `linear_groups > 1` grouped feed-forward layers (`GDense`, scope `g_dense`, kernel [groups, in / groups,
 * out / groups], kept as it is: GroupedLinearLayer multiplies by it untransposed). The generator and both heads
 * are skipped. No config ships with the release: transformers' `ConvBertConfig` JSON, or every size read off the
 * shapes (heads and head ratio included).
 */
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule, TensorInfo } from '../mapping/types.js';
import { BERT_DIMENSIONS, BERT_HEADS, bertEmbeddingKeys, bertEmbeddingRules, embeddingFacts } from './bert-family.js';
import {
  type Dim,
  dense,
  dim,
  layerNorm,
  layersKeys,
  linearKeys,
  normKeys,
  ONE,
  shapedKey,
  shapeText,
  vectorKey,
} from './building-blocks.js';
import { checkDimensions, configFromFacts, countFact, type ShapeFact, shapeFact, shapeOf } from './checkpoint-facts.js';
import { wordPieceTokenizer } from './tokenizer.js';

const MODEL_CLASS = 'ConvBertModel';
const LAYER = 'electra/encoder/layer_{layer}';
const LAYER_0 = 'electra/encoder/layer_0';

/** ConvBertConfig() defaults (transformers configuration_convbert.py). */
const CONVBERT_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0.1,
  bos_token_id: 0,
  classifier_dropout: null,
  conv_kernel_size: 9,
  embedding_size: 768,
  eos_token_id: 2,
  head_ratio: 2,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  num_attention_heads: 12,
  num_groups: 1,
  num_hidden_layers: 12,
  pad_token_id: 1,
  type_vocab_size: 2,
};

/** A fact computed from shapes (`value` undefined when a tensor is missing or the sizes do not divide). */
const derived = (field: string, value: number | undefined, evidence: string): ShapeFact => ({
  field,
  value: value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : undefined,
  evidence,
});

/**
 * What the shapes show. The original reduces the heads by `head_ratio` (all_head = hidden / head_ratio, the query's
 * width) and gives the convolution one kernel of `conv_kernel_size` per reduced head (`conv_attn_kernel`'s width).
 */
function facts(listing: readonly TensorInfo[]): ShapeFact[] {
  const shape = (name: string) => shapeOf(listing, `${LAYER_0}/${name}`);
  const evidence = (name: string) => `${LAYER_0}/${name} ${shapeText(shape(name) ?? [])}`;
  const hidden = shape('attention/output/dense/kernel')?.[1];
  const allHead = shape('attention/self/query/kernel')?.[1];
  const kernel = shape('attention/self/conv_attn_key/depthwise_kernel')?.[0];
  const convOut = shape('attention/self/conv_attn_kernel/kernel')?.[1];
  const grouped = shape('intermediate/g_dense/kernel');
  const headRatio = hidden !== undefined && allHead !== undefined ? hidden / allHead : undefined;
  const reducedHeads = convOut !== undefined && kernel !== undefined ? convOut / kernel : undefined;
  return [
    ...embeddingFacts(listing, 'electra/embeddings', 'embedding_size'),
    shapeFact(listing, 'hidden_size', `${LAYER_0}/attention/output/dense/kernel`, 1),
    grouped
      ? derived('intermediate_size', (grouped[0] ?? 0) * (grouped[2] ?? 0), evidence('intermediate/g_dense/kernel'))
      : shapeFact(listing, 'intermediate_size', `${LAYER_0}/intermediate/dense/kernel`, 1),
    grouped
      ? derived('num_groups', grouped[0], evidence('intermediate/g_dense/kernel'))
      : derived(
          'num_groups',
          shape('intermediate/dense/kernel') ? 1 : undefined,
          evidence('intermediate/dense/kernel'),
        ),
    shapeFact(listing, 'conv_kernel_size', `${LAYER_0}/attention/self/conv_attn_key/depthwise_kernel`, 0),
    derived(
      'head_ratio',
      headRatio,
      `${evidence('attention/output/dense/kernel')} / ${evidence('attention/self/query/kernel')}`,
    ),
    derived(
      'num_attention_heads',
      reducedHeads !== undefined && headRatio !== undefined ? reducedHeads * headRatio : undefined,
      `${evidence('attention/self/conv_attn_kernel/kernel')} / conv_kernel_size * head_ratio`,
    ),
    countFact(listing, 'num_hidden_layers', /^electra\/encoder\/layer_(\d+)\//, 'electra/encoder/layer_{n}/'),
  ];
}

function buildConfig(input: ConfigInput): ModelConfig {
  const config = configFromFacts(input, {
    defaults: CONVBERT_DEFAULTS,
    facts: facts(input.listing),
    assumptions: [],
    fixed: { architectures: [MODEL_CLASS], model_type: 'convbert' },
    hint: "Pass this checkpoint's config.json (transformers' ConvBertConfig) with --config, or leave --config out to derive it.",
  });
  checkDimensions(
    config,
    [...BERT_DIMENSIONS, 'embedding_size', 'head_ratio', 'conv_kernel_size', 'num_groups'],
    input.userPath ?? 'the derived config',
    BERT_HEADS,
  );
  return config;
}

const grouped = (config: ModelConfig) => (config.num_groups as number) > 1;

/** A feed-forward dense: tf.layers.dense (`dense`, transposed) or GDense (`g_dense`, [G, in/G, out/G] as is). */
const feedForward = (tf: string, pt: string, config: ModelConfig): Rule[] =>
  grouped(config)
    ? [
        { from: `${tf}/g_dense/kernel`, to: `${pt}.weight`, note: 'grouped [groups, in / groups, out / groups]: kept' },
        { from: `${tf}/g_dense/bias`, to: `${pt}.bias` },
      ]
    : dense(`${tf}/dense`, pt);

function rules(config: ModelConfig): readonly Rule[] {
  const self = `${LAYER}/attention/self`;
  const pt = 'encoder.layer.{layer}';
  return [
    ...bertEmbeddingRules('electra/embeddings', 'embeddings'),
    ...dense('electra/embeddings_project', 'embeddings_project'),
    ...['query', 'key', 'value'].flatMap((p) => dense(`${self}/${p}`, `${pt}.attention.self.${p}`)),
    {
      from: `${self}/conv_attn_key/depthwise_kernel`,
      to: `${pt}.attention.self.key_conv_attn_layer.depthwise.weight`,
      transforms: [{ op: 'transpose', axes: [1, 2, 0] }],
      note: 'separable_conv1d [kernel, in, 1] → Conv1d [in, 1, kernel]',
    },
    {
      from: `${self}/conv_attn_key/pointwise_kernel`,
      to: `${pt}.attention.self.key_conv_attn_layer.pointwise.weight`,
      transforms: [{ op: 'transpose', axes: [2, 1, 0] }],
      note: 'separable_conv1d [1, in, out] → Conv1d [out, in, 1]',
    },
    {
      from: `${self}/conv_attn_key/bias`,
      to: `${pt}.attention.self.key_conv_attn_layer.bias`,
      transforms: [{ op: 'reshape', shape: [-1, 1] }],
    },
    ...dense(`${self}/conv_attn_kernel`, `${pt}.attention.self.conv_kernel_layer`),
    ...dense(`${self}/conv_attn_point`, `${pt}.attention.self.conv_out_layer`),
    ...dense(`${LAYER}/attention/output/dense`, `${pt}.attention.output.dense`),
    ...layerNorm(`${LAYER}/attention/output`, `${pt}.attention.output.LayerNorm`),
    ...feedForward(`${LAYER}/intermediate`, `${pt}.intermediate.dense`, config),
    ...feedForward(`${LAYER}/output`, `${pt}.output.dense`, config),
    ...layerNorm(`${LAYER}/output`, `${pt}.output.LayerNorm`),
  ];
}

/** ConvBertSelfAttention's widths: heads reduced by head_ratio (at least one), each of hidden // heads // 2. */
function attentionDims(config: ModelConfig): { allHead: Dim; convKernels: Dim } {
  const [hidden, heads, ratio] = [config.hidden_size, config.num_attention_heads, config.head_ratio] as number[];
  const reduced = Math.max(1, Math.floor((heads as number) / (ratio as number)));
  return {
    allHead: {
      size: reduced * Math.floor(Math.floor((hidden as number) / reduced) / 2),
      field: 'num_attention_heads // head_ratio * (hidden_size // (num_attention_heads // head_ratio) // 2)',
    },
    convKernels: {
      size: reduced * (config.conv_kernel_size as number),
      field: 'num_attention_heads // head_ratio * conv_kernel_size',
    },
  };
}

/** nn.Linear, or GroupedLinearLayer's weight [groups, in / groups, out / groups] and bias [out]. */
function feedForwardKeys(key: string, out: Dim, inp: Dim, config: ModelConfig): ExpectedKey[] {
  if (!grouped(config)) return linearKeys(key, out, inp);
  const G = dim(config, 'num_groups');
  const per = (d: Dim): Dim => ({ size: Math.floor(d.size / G.size), field: `${d.field} // num_groups` });
  return [shapedKey(`${key}.weight`, [G, per(inp), per(out)]), vectorKey(`${key}.bias`, out)];
}

function layerKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const I = dim(config, 'intermediate_size');
  const K = dim(config, 'conv_kernel_size');
  const { allHead: A, convKernels } = attentionDims(config);
  const self = `${prefix}.attention.self`;
  return [
    ...['query', 'key', 'value'].flatMap((p) => linearKeys(`${self}.${p}`, A, H)),
    // SeparableConv1D's own bias before its depthwise and pointwise children
    shapedKey(`${self}.key_conv_attn_layer.bias`, [A, ONE]),
    shapedKey(`${self}.key_conv_attn_layer.depthwise.weight`, [H, ONE, K]),
    shapedKey(`${self}.key_conv_attn_layer.pointwise.weight`, [A, H, ONE]),
    ...linearKeys(`${self}.conv_kernel_layer`, convKernels, A),
    ...linearKeys(`${self}.conv_out_layer`, A, H),
    ...linearKeys(`${prefix}.attention.output.dense`, H, H),
    ...normKeys(`${prefix}.attention.output.LayerNorm`, H),
    ...feedForwardKeys(`${prefix}.intermediate.dense`, I, H, config),
    ...feedForwardKeys(`${prefix}.output.dense`, H, I, config),
    ...normKeys(`${prefix}.output.LayerNorm`, H),
  ];
}

/** ConvBertModel's state dict (no position_ids: the class ignores its absence), in state_dict order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const E = dim(config, 'embedding_size');
  const H = dim(config, 'hidden_size');
  return [
    ...bertEmbeddingKeys('embeddings', config, E),
    ...(E.size !== H.size ? linearKeys('embeddings_project', H, E) : []),
    ...layersKeys('encoder', config, layerKeys),
  ];
}

export const convbert: Architecture = {
  modelType: 'convbert',
  summary: `yitu-opensource/ConvBert pre-training checkpoints → ${MODEL_CLASS} (the discriminator)`,
  detect: {
    // ELECTRA's scopes plus the span-based dynamic convolution only ConvBERT's modeling.py creates
    names: ['^electra/encoder/layer_\\d+/attention/self/conv_attn_key/'],
    specialises: ['electra'],
    baseClass: MODEL_CLASS,
  },
  buildConfig,
  skip: [
    { pattern: '^generator/', reason: `the generator: ${MODEL_CLASS} is the discriminator's encoder` },
    { pattern: '^(generator|discriminator)_predictions/', reason: `pre-training heads: ${MODEL_CLASS} has none` },
  ],
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  tokenizer: wordPieceTokenizer('ConvBertTokenizer'),
};
