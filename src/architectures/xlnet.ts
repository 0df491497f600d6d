/**
 * xlnet: zihangdai/xlnet release checkpoints (`model/transformer/layer_{l}/rel_attn/q/kernel`, per-layer
 * relative biases stacked in one [n_layer, …] variable) → transformers `XLNetLMHeadModel`. A checkpoint
 * fine-tuned by run_classifier.py (`model/classification_{task}/logit`, `model/regression_{task}/logit`,
 * `model/sequnece_summary/summary`) becomes `XLNetForSequenceClassification` with its trained head, which
 * transformers' converter would leave random. Without a head, --finetuning_task_name chooses the class
 * exactly as transformers does (GLUE tasks / squad); heads the checkpoint lacks are reported as left for
 * `from_pretrained` to initialise, never written.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { jsonPreview } from '../io/python-json.js';
import type { HeadSignature } from '../mapping/detection-rules.js';
import { AdviceCode, adviceError } from '../mapping/notices.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule, SkipRule } from '../mapping/types.js';
import {
  dense,
  dim,
  layerNorm,
  layersKeys,
  linearKeys,
  normKeys,
  ONE,
  shapedKey,
  shapeText,
  TRANSPOSE,
  TWO,
  tableKey,
  tiedKey,
  times,
  vectorKey,
} from './building-blocks.js';
import {
  configSource,
  countFact,
  intField,
  refuseDisagreements,
  resolveAliases,
  shapeFact,
  shapeOf,
  TRANSFORMERS_VERSION,
  unlikeFacts,
} from './checkpoint-facts.js';
import { chooseHead, FINETUNING_TASK, findHeads, finetuningTaskOption, numLabelsOf } from './task-heads.js';
import { addedToken } from './tokenizer.js';

/** XLNetConfig() defaults (transformers configuration_xlnet.py). */
const XLNET_DEFAULTS: ModelConfig = {
  attn_type: 'bi',
  bi_data: false,
  bos_token_id: 1,
  clamp_len: -1,
  d_inner: 4096,
  d_model: 1024,
  dropout: 0.1,
  end_n_top: 5,
  eos_token_id: 2,
  ff_activation: 'gelu',
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  mem_len: 512,
  n_head: 16,
  n_layer: 24,
  pad_token_id: 5,
  reuse_len: null,
  same_length: false,
  start_n_top: 5,
  summary_activation: 'tanh',
  summary_last_dropout: 0.1,
  summary_type: 'last',
  summary_use_proj: true,
  untie_r: true,
  use_mems_eval: true,
  use_mems_train: false,
  vocab_size: 32000,
};

const ALIASES = {
  n_token: 'vocab_size',
  hidden_size: 'd_model',
  num_attention_heads: 'n_head',
  num_hidden_layers: 'n_layer',
};
const BIASES = ['r_r_bias', 'r_s_bias', 'r_w_bias'];

/** The classes: the pre-trained LM head's, or a fine-tuned head's. */
const CLASSES = {
  lmHead: 'XLNetLMHeadModel',
  sequenceClassification: 'XLNetForSequenceClassification',
  questionAnswering: 'XLNetForQuestionAnswering',
} as const;
type HeadClass = (typeof CLASSES)[keyof typeof CLASSES];

/** The original's scope of the sequence summary, misspelling included (modeling.py summarize_sequence). */
const SUMMARY = 'model/sequnece_summary/summary';

/** run_classifier.py's heads (function_builder.py: classification_loss / regression_loss, dense 'logit'). */
const HEADS: readonly HeadSignature[] = [
  // scope "classification_{cls_scope or task_name.lower()}", kernel [d_model, n_class]
  {
    variable: '^model/classification_([^/]+)/logit/kernel$',
    modelClass: CLASSES.sequenceClassification,
    labelsAxis: 1,
  },
  // scope "regression_{task_name.lower()}" (sts-b), kernel [d_model, 1]
  { variable: '^model/regression_([^/]+)/logit/kernel$', modelClass: CLASSES.sequenceClassification, labelsAxis: 1 },
];

function headClass(config: ModelConfig): HeadClass {
  const a = (config.architectures as string[] | undefined)?.[0];
  return a === CLASSES.sequenceClassification || a === CLASSES.questionAnswering ? a : CLASSES.lmHead;
}

function buildConfig(input: ConfigInput): ModelConfig {
  const source = configSource(input);
  if (!input.user) {
    throw adviceError(ErrorCode.CONFIG, {
      code: AdviceCode.CONFIG_NEEDED,
      option: 'config',
      template: 'xlnet needs {@config} (the xlnet_config.json released with the checkpoint)',
      values: {},
    });
  }
  const given = resolveAliases(input.user, ALIASES);
  let config: ModelConfig = {
    ...XLNET_DEFAULTS,
    ...given,
    model_type: 'xlnet',
    transformers_version: TRANSFORMERS_VERSION,
  };
  const dModel = intField(config, 'd_model', source);
  const nHead = intField(config, 'n_head', source);
  if (nHead === 0 || dModel % nHead !== 0)
    throw new Tf2TorchError(ErrorCode.CONFIG, `${source}: d_model ${dModel} is not divisible by n_head ${nHead}`, {
      file: source,
    });
  if ('d_head' in given && given.d_head !== dModel / nHead) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source}: d_head ${jsonPreview(given.d_head)} must equal d_model / n_head = ${dModel / nHead}`,
      { file: source },
    );
  }
  config.d_head = dModel / nHead;
  const chosen = chooseHead({
    found: findHeads(input.listing, HEADS),
    task: input.options?.[FINETUNING_TASK],
    baseClass: CLASSES.lmHead,
    byTask: { sequence: CLASSES.sequenceClassification, questionAnswering: CLASSES.questionAnswering },
    note: input.note,
  });
  config = { ...config, ...chosen.fields, architectures: [chosen.modelClass] };
  if (chosen.head) {
    const scope = chosen.head.variable.split('/')[1] as string;
    input.note?.(
      `xlnet: the trained ${scope} head is kept as logits_proj (transformers' converter leaves a random one there)`,
    );
    if (shapeOf(input.listing, `${SUMMARY}/kernel`) === undefined && config.summary_use_proj !== false) {
      // run_classifier.py --use_summ_proj=False: the summary is the last hidden state itself.
      config.summary_use_proj = false;
      input.note?.(`xlnet: no ${SUMMARY}/kernel in the checkpoint: summary_use_proj false, as it was trained`);
    }
  }
  checkAgainstCheckpoint(config, input, source);
  return config;
}

function checkAgainstCheckpoint(config: ModelConfig, input: ConfigInput, source: string): void {
  const fact = (field: string, name: string, axis: number) =>
    shapeFact(input.listing, field, `model/transformer/${name}`, axis);
  const out = unlikeFacts(config, [
    fact('vocab_size', 'word_embedding/lookup_table', 0),
    fact('d_model', 'word_embedding/lookup_table', 1),
    fact('n_head', 'layer_0/rel_attn/q/kernel', 1),
    fact('d_inner', 'layer_0/ff/layer_1/kernel', 1),
    countFact(input.listing, 'n_layer', /^model\/transformer\/layer_(\d+)\//, 'model/transformer/layer_{l}/'),
  ]);
  const rw = shapeOf(input.listing, 'model/transformer/r_w_bias');
  if (rw) {
    const untied = rw.length === 3;
    if (untied !== (config.untie_r !== false))
      out.push({
        field: 'untie_r',
        config: config.untie_r,
        checkpoint: untied,
        evidence: `model/transformer/r_w_bias ${shapeText(rw)}`,
      });
  }
  refuseDisagreements(out, source, 'Pass the xlnet_config.json of this checkpoint with --config.');
}

function rules(config: ModelConfig): readonly Rule[] {
  const layer = 'model/transformer/layer_{layer}';
  const key = 'transformer.layer.{layer}';
  const out: Rule[] = [
    { from: 'model/transformer/word_embedding/lookup_table', to: 'transformer.word_embedding.weight' },
    { from: 'model/transformer/mask_emb/mask_emb', to: 'transformer.mask_emb' },
  ];
  for (const p of ['q', 'k', 'v', 'o', 'r'])
    out.push({
      from: `${layer}/rel_attn/${p}/kernel`,
      to: `${key}.rel_attn.${p}`,
      note: '3-D [d_model, n_head, d_head], not transposed',
    });
  out.push(
    ...layerNorm(`${layer}/rel_attn`, `${key}.rel_attn.layer_norm`),
    ...layerNorm(`${layer}/ff`, `${key}.ff.layer_norm`),
    ...['layer_1', 'layer_2'].flatMap((ff) => dense(`${layer}/ff/${ff}`, `${key}.ff.${ff}`)),
  );
  if (config.untie_r !== false) {
    for (const b of BIASES)
      out.push({
        from: `model/transformer/${b}`,
        to: `transformer.layer.{layer}.rel_attn.${b}`,
        split: { axis: 0, as: 'layer' },
      });
  } else {
    // Tied biases ([n_head, d_head], one for all layers): every layer of the PyTorch model gets the same values.
    const repeat = { count: config.n_layer as number, as: 'layer' };
    for (const b of BIASES)
      out.push({
        from: `model/transformer/${b}`,
        to: `transformer.layer.{layer}.rel_attn.${b}`,
        repeat,
        note: 'untie_r false: one tensor for all layers',
      });
  }
  out.push({
    from: 'model/transformer/seg_embed',
    to: 'transformer.layer.{layer}.rel_attn.seg_embed',
    split: { axis: 0, as: 'layer' },
  });
  const head = headClass(config);
  if (head === CLASSES.lmHead) out.push({ from: 'model/lm_loss/bias', to: 'lm_loss.bias' });
  if (head === CLASSES.sequenceClassification) {
    out.push({ from: `${SUMMARY}/kernel`, to: 'sequence_summary.summary.weight', transforms: TRANSPOSE });
    out.push({ from: `${SUMMARY}/bias`, to: 'sequence_summary.summary.bias' });
    // One head reaches here: several are refused unless --finetuning_task_name picks one (the others are skipped).
    const note = "the trained head (transformers' converter leaves logits_proj random)";
    for (const kind of ['classification', 'regression']) {
      out.push({ from: `model/${kind}_{task*}/logit/kernel`, to: 'logits_proj.weight', transforms: TRANSPOSE, note });
      out.push({ from: `model/${kind}_{task*}/logit/bias`, to: 'logits_proj.bias' });
    }
  }
  return out;
}

/** Variables of heads the chosen class does not have: transformers ignores them, the plan says so. */
function configSkip(config: ModelConfig): readonly SkipRule[] {
  const head = headClass(config);
  const out: SkipRule[] = [];
  if (head !== CLASSES.lmHead) out.push({ pattern: '^model/lm_loss/', reason: `LM head: ${head} has none` });
  if (head !== CLASSES.sequenceClassification) {
    out.push({
      pattern: '^model/(sequnece_summary|classification_[^/]+|regression_[^/]+)/',
      reason: `classification head: ${head} has none`,
    });
  } else if (typeof config.finetuning_task === 'string') {
    // A head's scope is its task's name (function_builder.py), so the task picks its head.
    const task = config.finetuning_task.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out.push({ pattern: `^model/(classification|regression)_(?!${task}/)[^/]+/`, reason: 'head of another task' });
  }
  return out;
}

/** XLNetLayer's keys: relative attention (3-D projections, biases, segment embedding), its norm, the FF. */
function layerKeys(p: string, config: ModelConfig): ExpectedKey[] {
  const D = dim(config, 'd_model');
  const N = dim(config, 'n_head');
  const DH = dim(config, 'd_head');
  const I = dim(config, 'd_inner');
  return [
    ...['q', 'k', 'v', 'o', 'r'].map((m) => shapedKey(`${p}.rel_attn.${m}`, [D, N, DH])),
    ...BIASES.map((b) => shapedKey(`${p}.rel_attn.${b}`, [N, DH])),
    shapedKey(`${p}.rel_attn.seg_embed`, [TWO, N, DH]),
    ...normKeys(`${p}.rel_attn.layer_norm`, D),
    ...normKeys(`${p}.ff.layer_norm`, D),
    ...linearKeys(`${p}.ff.layer_1`, I, D),
    ...linearKeys(`${p}.ff.layer_2`, D, I),
  ];
}

/** The keys of the chosen class's head, after the transformer. */
function headKeys(config: ModelConfig): ExpectedKey[] {
  const V = dim(config, 'vocab_size');
  const D = dim(config, 'd_model');
  const head = headClass(config);
  if (head === CLASSES.lmHead)
    return [
      tiedKey('lm_loss.weight', [V, D], 'transformer.word_embedding.weight'),
      // modeling.py lm_loss: bias zeros_initializer, as transformers' Linear bias: absent → zeros.
      { ...vectorKey('lm_loss.bias', V), zerosWhenAbsent: true },
    ];
  const optional = true;
  if (head === CLASSES.sequenceClassification)
    // Absent when a task is given to a checkpoint without its head: from_pretrained initialises them.
    return [
      ...(config.summary_use_proj !== false ? linearKeys('sequence_summary.summary', D, D, { optional }) : []),
      ...linearKeys('logits_proj', { size: numLabelsOf(config), field: 'num_labels' }, D, { optional }),
    ];
  // transformers never maps these from a TF checkpoint: from_pretrained initialises them.
  return [
    ...linearKeys('start_logits.dense', ONE, D, { optional }),
    ...linearKeys('end_logits.dense_0', D, times(2, D), { optional }),
    ...normKeys('end_logits.LayerNorm', D, optional),
    ...linearKeys('end_logits.dense_1', ONE, D, { optional }),
    ...linearKeys('answer_class.dense_0', D, times(2, D), { optional }),
    ...linearKeys('answer_class.dense_1', ONE, D, { optional, bias: false }),
  ];
}

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const D = dim(config, 'd_model');
  return [
    // Only the pre-training graph creates mask_emb (modeling.py: inside `if inp_q is not None`): any other
    // lacks it, and transformers initialises it randomly (normal, initializer_range), not as the original.
    { ...shapedKey('transformer.mask_emb', [ONE, ONE, D]), optional: true },
    tableKey('transformer.word_embedding.weight', dim(config, 'vocab_size'), D),
    ...layersKeys('transformer', config, layerKeys, { count: 'n_layer' }),
    ...headKeys(config),
  ];
}

export const xlnet: Architecture = {
  modelType: 'xlnet',
  summary: `zihangdai/xlnet checkpoints → ${CLASSES.lmHead}, ${CLASSES.sequenceClassification} when fine-tuned (trained head kept), or a GLUE/SQuAD class by --finetuning_task_name`,
  detect: {
    names: ['^model/transformer/layer_\\d+/rel_attn/'],
    sidecars: ['xlnet_config.json'],
    baseClass: CLASSES.lmHead,
    heads: HEADS,
  },
  configFileNames: ['xlnet_config.json'],
  options: [
    finetuningTaskOption(
      "the task: sets finetuning_task and the labels, and must agree with the checkpoint's head; without a head, a GLUE task or one containing 'squad' chooses the class, as transformers does",
    ),
  ],
  buildConfig,
  configSkip,
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'spiece.model', to: 'spiece.model' }],
  // relative positions: no model_max_length, as transformers' xlnet-*-cased tokenizers
  tokenizer: {
    className: 'XLNetTokenizer',
    init: {
      additional_special_tokens: ['<eop>', '<eod>'],
      bos_token: '<s>',
      clean_up_tokenization_spaces: true,
      cls_token: '<cls>',
      eos_token: '</s>',
      keep_accents: false,
      mask_token: addedToken('<mask>', { lstrip: true }),
      pad_token: '<pad>',
      remove_space: true,
      sep_token: '<sep>',
      sp_model_kwargs: {},
      unk_token: '<unk>',
    },
    casing: { sentencepiece: false },
  },
};
