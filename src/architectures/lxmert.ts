/**
 * lxmert: a TensorFlow checkpoint of LXMERT with the original's module scopes → transformers
 * `LxmertForPreTraining`, as convert_lxmert_original_tf_checkpoint_to_pytorch.py maps it with
 * load_tf_weights_in_lxmert. That walker follows `/`-separated scopes as attributes, splits only components
 * matching `[A-Za-z]+_\d+` (`layer_3` → `layer[3]`; `x_layers_3` does not split, so the ModuleList stacks are
 * `x_layers/3`, `r_layers/3`), reads `kernel` (transposed), `gamma`, `output_weights` as weight and `beta`,
 * `output_bias` as bias, `*_embeddings` as the table. The names accepted here are those it reads, in the
 * spelling google-research/bert's TF code gives them:
 * - backbone `lxmert/` (the walker) or `bert/` (the attribute airsplay/lxmert's LXRTPretraining gives it,
 *   which the walker cannot read; a note says when it is used): embeddings, `encoder/visn_fc/{visn_fc,box_fc,
 *   visn_layer_norm,box_layer_norm}`, the language layers `encoder/layer_{n}` (or `layer/{n}`), the
 *   cross-modality layers `encoder/x_layers/{n}/{visual_attention/att,lang_self_att/self,visn_self_att/self,
 *   …}`, the vision layers `encoder/r_layers/{n}`, `pooler/dense`;
 * - heads at the root: `cls/predictions/{output_bias,transform}`, `cls/seq_relationship/output_weights`
 *   ([2, hidden], no transpose), `obj_predict_head/{transform,decoder_dict/{obj,attr,feat}}`,
 *   `answer_head/logit_fc/{0,2,3}` (nn.Sequential indices; 1 is the GeLU).
 * The walker never checks that every parameter was loaded (a part the checkpoint lacks stays random) and skips a
 * component it cannot resolve, walking on from the same module; here every key of the config's heads is
 * required, and which heads exist (task_obj_predict, the visual losses, task_qa) is read from the checkpoint
 * and checked against the config.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { jsonPreview } from '../io/python-json.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule, TensorInfo } from '../mapping/types.js';
import {
  bertEmbeddingKeys,
  bertEmbeddingRules,
  bertLayerKeys,
  bertLayerRules,
  bertLayerRulesAt,
  denseAndNorm,
  embeddingFacts,
  lmPredictionRules,
  outputLayer,
} from './bert-family.js';
import { type Dim, dense, dim, layerNorm, linearKeys, normKeys, TWO, tiedKey, vectorKey } from './building-blocks.js';
import { checkDimensions, configFromFacts, presenceFact, type ShapeFact, shapeFact } from './checkpoint-facts.js';
import { wordPieceTokenizer } from './tokenizer.js';

const MODEL_CLASS = 'LxmertForPreTraining';

/** LxmertConfig() defaults (transformers configuration_lxmert.py). */
const LXMERT_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0.1,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  l_layers: 9,
  max_position_embeddings: 512,
  num_attention_heads: 12,
  num_attr_labels: 400,
  num_object_labels: 1600,
  num_qa_labels: 9500,
  r_layers: 5,
  task_mask_lm: true,
  task_matched: true,
  task_obj_predict: true,
  task_qa: true,
  type_vocab_size: 2,
  visual_attr_loss: true,
  visual_feat_dim: 2048,
  visual_feat_loss: true,
  visual_loss_normalizer: 6.67,
  visual_obj_loss: true,
  visual_pos_dim: 4,
  vocab_size: 30522,
  x_layers: 5,
};

/** The backbone's scope: transformers' walker reads `lxmert/`, the original module is named `bert`. */
const BACKBONES = ['lxmert', 'bert'] as const;
type Backbone = (typeof BACKBONES)[number];

/** The three stacks: config field, TF scope under `{backbone}/encoder/` (index pattern), module name. */
const STACKS = [
  { field: 'l_layers', tf: 'layer(?:_|/)', module: 'layer' },
  { field: 'x_layers', tf: 'x_layers/', module: 'x_layers' },
  { field: 'r_layers', tf: 'r_layers/', module: 'r_layers' },
] as const;

/** The three decoders of the visual object head, in LxmertVisualObjHead's order, with their switch and width. */
const VISUAL_DECODERS = [
  { name: 'obj', flag: 'visual_obj_loss', width: 'num_object_labels' },
  { name: 'attr', flag: 'visual_attr_loss', width: 'num_attr_labels' },
  { name: 'feat', flag: 'visual_feat_loss', width: 'visual_feat_dim' },
] as const;

const DIMENSIONS = [
  'vocab_size',
  'hidden_size',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
  'type_vocab_size',
  'visual_feat_dim',
  'visual_pos_dim',
  'num_qa_labels',
  'num_object_labels',
  'num_attr_labels',
];

const backboneOf = (listing: readonly TensorInfo[]): Backbone =>
  listing.some((t) => t.name.startsWith('lxmert/')) ? 'lxmert' : 'bert';

/** The number of distinct indices of a stack; none is a stack of zero layers (LxmertEncoder allows it). */
function stackFact(listing: readonly TensorInfo[], field: string, pattern: RegExp, evidence: string): ShapeFact {
  const seen = new Set(listing.map((t) => pattern.exec(t.name)?.[1]).filter((i) => i !== undefined));
  return { field, value: seen.size, evidence };
}

/** The first of `names` the checkpoint has, as a fact about `field` (an empty stack has no layer 0). */
function firstFact(listing: readonly TensorInfo[], field: string, names: readonly string[], axis: number): ShapeFact {
  const name = names.find((n) => listing.some((t) => t.name === n)) ?? names[0]!;
  return shapeFact(listing, field, name, axis);
}

function facts(listing: readonly TensorInfo[], b: Backbone): ShapeFact[] {
  const fact = (field: string, name: string, axis: number) => shapeFact(listing, field, name, axis);
  const has = (pattern: RegExp) => listing.some((t) => pattern.test(t.name));
  const out: ShapeFact[] = [
    ...embeddingFacts(listing, `${b}/embeddings`, 'hidden_size'),
    firstFact(
      listing,
      'intermediate_size',
      [
        `${b}/encoder/layer_0/intermediate/dense/kernel`,
        `${b}/encoder/layer/0/intermediate/dense/kernel`,
        `${b}/encoder/x_layers/0/lang_inter/dense/kernel`,
        `${b}/encoder/r_layers/0/intermediate/dense/kernel`,
      ],
      1,
    ),
    fact('visual_feat_dim', `${b}/encoder/visn_fc/visn_fc/kernel`, 0),
    fact('visual_pos_dim', `${b}/encoder/visn_fc/box_fc/kernel`, 0),
    ...STACKS.map((s) =>
      stackFact(
        listing,
        s.field,
        new RegExp(`^${b}/encoder/${s.tf}(\\d+)/`),
        `${b}/encoder/${s.tf.replace('(?:_|/)', '_')}{n}/`,
      ),
    ),
    presenceFact(listing, 'task_obj_predict', /^obj_predict_head\//, [true, false], 'obj_predict_head/'),
    presenceFact(listing, 'task_qa', /^answer_head\//, [true, false], 'answer_head/'),
  ];
  // the decoders' switches and widths mean something only when the object head is there
  if (has(/^obj_predict_head\//))
    for (const d of VISUAL_DECODERS) {
      const scope = `obj_predict_head/decoder_dict/${d.name}`;
      out.push(presenceFact(listing, d.flag, new RegExp(`^${scope}/`), [true, false], `${scope}/`));
      if (d.name !== 'feat') out.push(fact(d.width, `${scope}/kernel`, 1));
    }
  if (has(/^answer_head\//)) out.push(fact('num_qa_labels', 'answer_head/logit_fc/3/kernel', 1));
  return out;
}

function buildConfig(input: ConfigInput): ModelConfig {
  const backbone = backboneOf(input.listing);
  const shown = facts(input.listing, backbone);
  const hidden = shown.find((f) => f.field === 'hidden_size')?.value;
  const config = configFromFacts(input, {
    defaults: LXMERT_DEFAULTS,
    facts: shown,
    assumptions:
      typeof hidden === 'number'
        ? [
            {
              field: 'num_attention_heads',
              value: Math.max(1, Math.floor(hidden / 64)),
              why: "heads of 64, as the released lxmert-base's 768 / 12",
            },
          ]
        : [],
    fixed: { architectures: [MODEL_CLASS], model_type: 'lxmert' },
    hint: "Pass this checkpoint's config.json (transformers' LxmertConfig) with --config, or leave --config out to derive it.",
  });
  const where = input.userPath ?? 'the derived config';
  checkDimensions(config, DIMENSIONS, where, { width: 'hidden_size', heads: 'num_attention_heads' });
  const badStacks = STACKS.map((s) => s.field).filter(
    (f) => !Number.isSafeInteger(config[f]) || (config[f] as number) < 0,
  );
  if (badStacks.length > 0)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: ${badStacks.map((f) => `${f} must be a whole number of layers (got ${jsonPreview(config[f])})`).join('; ')}`,
      { file: where },
    );
  // as LxmertConfig.__init__ derives it from the three counts (save_pretrained writes it so)
  config.num_hidden_layers = { cross_encoder: config.x_layers, language: config.l_layers, vision: config.r_layers };
  if (backbone === 'bert' && input.listing.some((t) => t.name.startsWith('bert/')))
    input.note?.(
      "backbone scope bert/ (the original LXRTPretraining's name for it) mapped to lxmert.…, beyond transformers' walker, which reads only lxmert/",
    );
  return config;
}

const attentionRules = (tf: string, pt: string): Rule[] =>
  ['query', 'key', 'value'].flatMap((p) => dense(`${tf}/${p}`, `${pt}.${p}`));

/** LxmertXLayer: the cross-attention (shared by both directions), both self-attentions, both FFNs. */
function crossLayerRules(tf: string, pt: string): Rule[] {
  return [
    ...attentionRules(`${tf}/visual_attention/att`, `${pt}.visual_attention.att`),
    ...denseAndNorm(`${tf}/visual_attention/output`, `${pt}.visual_attention.output`),
    ...['lang', 'visn'].flatMap((m) => [
      ...attentionRules(`${tf}/${m}_self_att/self`, `${pt}.${m}_self_att.self`),
      ...denseAndNorm(`${tf}/${m}_self_att/output`, `${pt}.${m}_self_att.output`),
      ...dense(`${tf}/${m}_inter/dense`, `${pt}.${m}_inter.dense`),
      ...denseAndNorm(`${tf}/${m}_output`, `${pt}.${m}_output`),
    ]),
  ];
}

function backboneRules(b: Backbone): Rule[] {
  const enc = `${b}/encoder`;
  const key = 'lxmert.encoder';
  return [
    ...bertEmbeddingRules(`${b}/embeddings`, 'lxmert.embeddings'),
    ...dense(`${enc}/visn_fc/visn_fc`, `${key}.visn_fc.visn_fc`),
    ...layerNorm(`${enc}/visn_fc`, `${key}.visn_fc.visn_layer_norm`, 'visn_layer_norm'),
    ...dense(`${enc}/visn_fc/box_fc`, `${key}.visn_fc.box_fc`),
    ...layerNorm(`${enc}/visn_fc`, `${key}.visn_fc.box_layer_norm`, 'box_layer_norm'),
    ...bertLayerRules(enc, key),
    ...bertLayerRulesAt(`${enc}/layer/{layer}`, `${key}.layer.{layer}`),
    ...crossLayerRules(`${enc}/x_layers/{layer}`, `${key}.x_layers.{layer}`),
    ...bertLayerRulesAt(`${enc}/r_layers/{layer}`, `${key}.r_layers.{layer}`),
    ...dense(`${b}/pooler/dense`, 'lxmert.pooler.dense'),
  ];
}

function rules(): readonly Rule[] {
  return [
    ...BACKBONES.flatMap(backboneRules),
    ...lmPredictionRules('cls/predictions', 'cls.predictions'),
    ...outputLayer('cls/seq_relationship', 'cls.seq_relationship', 'stored [out, in] already: no transpose'),
    ...denseAndNorm('obj_predict_head/transform', 'obj_predict_head.transform'),
    ...VISUAL_DECODERS.flatMap((d) =>
      dense(`obj_predict_head/decoder_dict/${d.name}`, `obj_predict_head.decoder_dict.${d.name}`),
    ),
    ...dense('answer_head/logit_fc/0', 'answer_head.logit_fc.0'),
    { from: 'answer_head/logit_fc/2/gamma', to: 'answer_head.logit_fc.2.weight' },
    { from: 'answer_head/logit_fc/2/beta', to: 'answer_head.logit_fc.2.bias' },
    ...dense('answer_head/logit_fc/3', 'answer_head.logit_fc.3'),
  ];
}

/** LxmertXLayer's keys, in state_dict order. */
function crossLayerKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const I = dim(config, 'intermediate_size');
  const attention = (p: string) => ['query', 'key', 'value'].flatMap((q) => linearKeys(`${p}.${q}`, H, H));
  const output = (p: string) => [...linearKeys(`${p}.dense`, H, H), ...normKeys(`${p}.LayerNorm`, H)];
  return [
    ...attention(`${prefix}.visual_attention.att`),
    ...output(`${prefix}.visual_attention.output`),
    ...['lang', 'visn'].flatMap((m) => [
      ...attention(`${prefix}.${m}_self_att.self`),
      ...output(`${prefix}.${m}_self_att.output`),
    ]),
    ...['lang', 'visn'].flatMap((m) => [
      ...linearKeys(`${prefix}.${m}_inter.dense`, I, H),
      ...linearKeys(`${prefix}.${m}_output.dense`, H, I),
      ...normKeys(`${prefix}.${m}_output.LayerNorm`, H),
    ]),
  ];
}

/** LxmertForPreTraining's state dict (no persistent buffers), in state_dict order; the heads the config has. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const H2: Dim = { size: 2 * H.size, field: '2 * hidden_size' };
  const stack = (s: (typeof STACKS)[number], layer: (prefix: string, config: ModelConfig) => ExpectedKey[]) =>
    Array.from({ length: config[s.field] as number }, (_, l) =>
      layer(`lxmert.encoder.${s.module}.${l}`, config),
    ).flat();
  const keys: ExpectedKey[] = [
    ...bertEmbeddingKeys('lxmert.embeddings', config, H),
    ...linearKeys('lxmert.encoder.visn_fc.visn_fc', H, dim(config, 'visual_feat_dim')),
    ...normKeys('lxmert.encoder.visn_fc.visn_layer_norm', H),
    ...linearKeys('lxmert.encoder.visn_fc.box_fc', H, dim(config, 'visual_pos_dim')),
    ...normKeys('lxmert.encoder.visn_fc.box_layer_norm', H),
    ...stack(STACKS[0], bertLayerKeys),
    ...stack(STACKS[1], crossLayerKeys),
    ...stack(STACKS[2], bertLayerKeys),
    ...linearKeys('lxmert.pooler.dense', H, H),
    // LxmertLMPredictionHead: its own bias first, then the transform, then the decoder tied to the word table
    vectorKey('cls.predictions.bias', dim(config, 'vocab_size')),
    ...linearKeys('cls.predictions.transform.dense', H, H),
    ...normKeys('cls.predictions.transform.LayerNorm', H),
    tiedKey(
      'cls.predictions.decoder.weight',
      [dim(config, 'vocab_size'), H],
      'lxmert.embeddings.word_embeddings.weight',
    ),
    ...linearKeys('cls.seq_relationship', TWO, H),
  ];
  if (config.task_obj_predict === true)
    keys.push(
      ...linearKeys('obj_predict_head.transform.dense', H, H),
      ...normKeys('obj_predict_head.transform.LayerNorm', H),
      ...VISUAL_DECODERS.filter((d) => config[d.flag] === true).flatMap((d) =>
        linearKeys(`obj_predict_head.decoder_dict.${d.name}`, dim(config, d.width), H),
      ),
    );
  if (config.task_qa === true)
    keys.push(
      ...linearKeys('answer_head.logit_fc.0', H2, H),
      ...normKeys('answer_head.logit_fc.2', H2),
      ...linearKeys('answer_head.logit_fc.3', dim(config, 'num_qa_labels'), H2),
    );
  return keys;
}

export const lxmert: Architecture = {
  modelType: 'lxmert',
  summary: `LXMERT TF checkpoints with the original scopes (lxmert/ or bert/, cls/, …) → ${MODEL_CLASS}`,
  detect: {
    // the cross-modality stack and the visual feature encoder exist in no other BERT-like model
    names: ['^(lxmert|bert)/encoder/(x_layers/\\d+|visn_fc)/'],
    specialises: ['bert'],
    baseClass: MODEL_CLASS,
  },
  buildConfig,
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  tokenizer: wordPieceTokenizer('LxmertTokenizer'),
};
