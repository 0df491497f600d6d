/**
 * tapas: google-research/tapas checkpoints → the class transformers' convert_tapas_original_tf_checkpoint_to_pytorch.py
 * builds for `--task`: TapasForQuestionAnswering (SQA, WTQ, WIKISQL_SUPERVISED), TapasForSequenceClassification
 * (TABFACT), TapasForMaskedLM (MLM) or TapasModel (INTERMEDIATE_PRETRAINING), with the config settings the script
 * gives each task. BERT's scopes (`bert/…`, tapas/models/bert/modeling.py) but seven token-type tables
 * `bert/embeddings/token_type_embeddings_{0..6}` (segment, column, row, previous label, column rank, inverse rank,
 * numeric relation); the heads of tapas_classifier_model.py are created with tf.get_variable at the root: cell
 * selection `output_weights` [hidden] and `output_bias` [] (0-d, kept so), `column_output_weights`/`column_output_bias`,
 * the aggregation `output_weights_agg` [labels, hidden], the classification `output_weights_cls` [labels, hidden]
 * (stored [out, in]: no transpose); tapas_pretraining_model.py's MLM head is BERT's `cls/predictions`.
 * The release's bert_config.json is read as TapasConfig.from_json_file reads it: its `type_vocab_size` list is kept
 * as an unknown key and the tables follow TapasConfig's `type_vocab_sizes`.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { PyFloat } from '../io/py-float.js';
import { jsonPreview } from '../io/python-json.js';
import { AdviceCode, adviceError } from '../mapping/notices.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule, SkipRule } from '../mapping/types.js';
import {
  BERT_DIMENSIONS,
  BERT_HEADS,
  bertEmbeddingKeys,
  bertEmbeddingRules,
  bertLayerKeys,
  bertLayerRules,
  lmPredictionRules,
  tiedDecoderKeys,
} from './bert-family.js';
import { dense, dim, layersKeys, linearKeys, normKeys, shapedKey, tableKey, vectorKey } from './building-blocks.js';
import { checkDimensions } from './checkpoint-facts.js';
import { numLabelsOf } from './task-heads.js';

/** The script's tasks, its `--task` values. */
const TASKS = ['SQA', 'WTQ', 'WIKISQL_SUPERVISED', 'TABFACT', 'MLM', 'INTERMEDIATE_PRETRAINING'] as const;
type Task = (typeof TASKS)[number];

const CLASSES = {
  questionAnswering: 'TapasForQuestionAnswering',
  sequenceClassification: 'TapasForSequenceClassification',
  maskedLM: 'TapasForMaskedLM',
  base: 'TapasModel',
} as const;

const CLASS_OF: Readonly<Record<Task, string>> = {
  SQA: CLASSES.questionAnswering,
  WTQ: CLASSES.questionAnswering,
  WIKISQL_SUPERVISED: CLASSES.questionAnswering,
  TABFACT: CLASSES.sequenceClassification,
  MLM: CLASSES.maskedLM,
  INTERMEDIATE_PRETRAINING: CLASSES.base,
};

/** What the script sets on the config per task (run_task_main.py and hparam_utils.py hparams, as it cites them). */
const TASK_SETTINGS: Readonly<Record<Task, ModelConfig>> = {
  SQA: {},
  WTQ: {
    num_aggregation_labels: 4,
    use_answer_as_supervision: true,
    answer_loss_cutoff: 0.664694,
    cell_selection_preference: 0.207951,
    huber_loss_delta: 0.121194,
    init_cell_selection_weights_to_zero: true,
    select_one_column: true,
    allow_empty_column_selection: false,
    temperature: 0.0352513,
  },
  WIKISQL_SUPERVISED: {
    num_aggregation_labels: 4,
    use_answer_as_supervision: false,
    answer_loss_cutoff: 36.4519,
    cell_selection_preference: 0.903421,
    huber_loss_delta: 222.088,
    init_cell_selection_weights_to_zero: true,
    select_one_column: true,
    allow_empty_column_selection: true,
    temperature: 0.763141,
  },
  TABFACT: {},
  MLM: {},
  INTERMEDIATE_PRETRAINING: {},
};

/** TapasConfig() defaults (transformers configuration_tapas.py; whole floats as PyFloat, written `1.0`); extra keys of the user's file are kept. */
const TAPAS_DEFAULTS: ModelConfig = {
  aggregation_labels: null,
  aggregation_loss_weight: new PyFloat(1),
  aggregation_temperature: new PyFloat(1),
  allow_empty_column_selection: false,
  answer_loss_cutoff: null,
  answer_loss_importance: new PyFloat(1),
  attention_probs_dropout_prob: 0.1,
  average_approximation_function: 'ratio',
  average_logits_per_cell: false,
  cell_selection_preference: null,
  disable_per_token_loss: false,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  huber_loss_delta: null,
  init_cell_selection_weights_to_zero: false,
  initializer_range: 0.02,
  intermediate_size: 3072,
  layer_norm_eps: 1e-12,
  max_num_columns: 32,
  max_num_rows: 64,
  max_position_embeddings: 1024,
  no_aggregation_label_index: null,
  num_aggregation_labels: 0,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 0,
  positive_label_weight: new PyFloat(10),
  reset_position_index_per_cell: true,
  select_one_column: true,
  type_vocab_sizes: [3, 256, 256, 2, 256, 256, 10],
  use_answer_as_supervision: null,
  use_gumbel_for_aggregation: false,
  use_gumbel_for_cells: false,
  use_normalized_answer_loss: false,
  vocab_size: 30522,
};

const TASK_FLAG = 'task';
const RESET_FLAG = 'reset_position_index_per_cell';

/** Variables of the heads (root scope, tapas_classifier_model.py and tapas_classifier_model_utils.py). */
const CELL_SELECTION = '^(column_)?output_(weights|bias)$';
const AGGREGATION = '^output_(weights|bias)_agg$';
const CLASSIFICATION = '^output_(weights|bias)_cls$';

/**
 * The head variable that shows each kind of checkpoint, one per kind (every classifier run also has `output_weights`:
 * the column head tells question answering, which selects one column, from TabFact, which does not).
 */
const SHOWS = {
  classification: '^output_weights_cls$',
  aggregation: '^output_weights_agg$',
  columnSelection: '^column_output_weights$',
  maskedLM: '^cls/predictions/output_bias$',
} as const;

function has(input: ConfigInput, pattern: string): boolean {
  const re = new RegExp(pattern);
  return input.listing.some((t) => re.test(t.name));
}
const shapeOf = (input: ConfigInput, name: string) =>
  `${name} [${input.listing.find((t) => t.name === name)?.shape.join(', ') ?? ''}]`;

/** The task the heads show, when `--task` is not given; said in a note. WTQ and WikiSQL share a head: asked for. */
function taskFromHeads(input: ConfigInput): Task {
  const why = (task: Task, what: string): Task => {
    input.note?.(`no --task given: ${what}, so --task ${task} (${CLASS_OF[task]}); give --task to choose otherwise`);
    return task;
  };
  if (has(input, SHOWS.classification))
    return why('TABFACT', `the checkpoint has the classification head ${shapeOf(input, 'output_weights_cls')}`);
  if (has(input, SHOWS.aggregation))
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `the checkpoint has the aggregation head ${shapeOf(input, 'output_weights_agg')} of WTQ and WikiSQL, whose settings differ: give --task WTQ or --task WIKISQL_SUPERVISED`,
    );
  if (has(input, SHOWS.columnSelection))
    return why('SQA', 'the checkpoint has the cell and column selection heads and no aggregation head');
  if (has(input, SHOWS.maskedLM))
    return why('MLM', 'the checkpoint has the masked-LM head cls/predictions and no fine-tuned head');
  return why('INTERMEDIATE_PRETRAINING', 'the checkpoint has no head');
}

function chooseTask(input: ConfigInput): Task {
  const given = input.options?.[TASK_FLAG];
  if (given === undefined) return taskFromHeads(input);
  const task = TASKS.find((t) => t === given);
  if (task === undefined)
    throw new Tf2TorchError(ErrorCode.USAGE, `--task ${given}: expected one of ${TASKS.join(', ')}`);
  const aggregates = (TASK_SETTINGS[task].num_aggregation_labels ?? 0) !== 0;
  if (CLASS_OF[task] === CLASSES.questionAnswering && aggregates !== has(input, SHOWS.aggregation))
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      aggregates
        ? `--task ${task} predicts aggregations, but the checkpoint has no aggregation head output_weights_agg: give --task SQA`
        : `--task ${task} has no aggregation, but the checkpoint has the aggregation head ${shapeOf(input, 'output_weights_agg')}: give --task WTQ or --task WIKISQL_SUPERVISED`,
    );
  return task;
}

/** The tables follow `type_vocab_sizes`; an original `type_vocab_size` list that says otherwise cannot load. */
function checkTypeVocabSizes(config: ModelConfig, where: string): void {
  const sizes = config.type_vocab_sizes;
  if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((s) => Number.isSafeInteger(s) && s > 0))
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: type_vocab_sizes must be a list of positive integers (got ${jsonPreview(sizes)})`,
      { file: where },
    );
  const original = config.type_vocab_size;
  const list = (values: unknown[]) => `[${values.join(', ')}]`;
  if (Array.isArray(original) && list(original) !== list(sizes))
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${where}: type_vocab_size ${list(original)} differs from type_vocab_sizes ${list(sizes)}, which TapasConfig uses (it keeps type_vocab_size as an unknown key): add "type_vocab_sizes": ${list(original)} to the config`,
      { file: where },
    );
}

function buildConfig(input: ConfigInput): ModelConfig {
  if (input.user === undefined)
    throw adviceError(ErrorCode.CONFIG, {
      code: AdviceCode.CONFIG_NEEDED,
      option: 'config',
      template:
        'tapas needs its bert_config.json: pass {@config} <path>/bert_config.json (none found beside the checkpoint)',
      values: {},
    });
  const task = chooseTask(input);
  const where = input.userPath ?? 'the config';
  const config: ModelConfig = {
    ...TAPAS_DEFAULTS,
    ...input.user,
    [RESET_FLAG]: input.options?.[RESET_FLAG] === 'true',
    ...TASK_SETTINGS[task],
    architectures: [CLASS_OF[task]],
    model_type: 'tapas',
  };
  checkDimensions(
    config,
    BERT_DIMENSIONS.filter((f) => f !== 'type_vocab_size'),
    where,
    BERT_HEADS,
  );
  checkTypeVocabSizes(config, where);
  return config;
}

const modelClassOf = (config: ModelConfig): string => (config.architectures as string[])[0] as string;
/** TapasModel's own keys have no prefix; the head classes hold it as `tapas`. */
const encoderPrefix = (config: ModelConfig): string => (modelClassOf(config) === CLASSES.base ? '' : 'tapas.');

const SCALAR_NOTE = 'a 0-d variable (shape=()), kept 0-d as nn.Parameter(torch.zeros([]))';
const STORED_OUT_IN = 'tf.get_variable [num_labels, hidden], stored [out, in] already: no transpose';

function rules(config: ModelConfig): readonly Rule[] {
  const at = encoderPrefix(config);
  return [
    ...bertEmbeddingRules('bert/embeddings', `${at}embeddings`, ['word', 'position']),
    {
      from: 'bert/embeddings/token_type_embeddings_{type}',
      to: `${at}embeddings.token_type_embeddings_{type}.weight`,
    },
    ...bertLayerRules('bert/encoder', `${at}encoder`),
    ...dense('bert/pooler/dense', `${at}pooler.dense`),
    ...lmPredictionRules('cls/predictions', 'cls.predictions'),
    ...['output_weights', 'column_output_weights'].map((name) => ({ from: name, to: name })),
    ...['output_bias', 'column_output_bias'].map((name) => ({ from: name, to: name, note: SCALAR_NOTE })),
    { from: 'output_weights_agg', to: 'aggregation_classifier.weight', note: STORED_OUT_IN },
    { from: 'output_bias_agg', to: 'aggregation_classifier.bias' },
    { from: 'output_weights_cls', to: 'classifier.weight', note: STORED_OUT_IN },
    { from: 'output_bias_cls', to: 'classifier.bias' },
  ];
}

/** The heads the chosen class has no place for, skipped as transformers' loader skips them (and the rest of each). */
function configSkip(config: ModelConfig): readonly SkipRule[] {
  const cls = modelClassOf(config);
  const lacks = (pattern: string, what: string): SkipRule => ({ pattern, reason: `${what}: ${cls} has none` });
  if (cls === CLASSES.base)
    return [
      lacks('^cls/', 'pre-training head'),
      lacks(CELL_SELECTION, 'cell selection head'),
      lacks(AGGREGATION, 'aggregation head'),
      lacks(CLASSIFICATION, 'classification head'),
    ];
  if (cls === CLASSES.sequenceClassification) return [lacks(CELL_SELECTION, 'cell selection head')];
  if (cls === CLASSES.maskedLM)
    return [
      {
        pattern: '^bert/pooler/',
        reason: `pooler: ${cls} has none (transformers builds its TapasModel with add_pooling_layer=False)`,
      },
    ];
  return [];
}

/** TapasModel's keys: BertModel's, with a table per token type after the position table. */
function encoderKeys(config: ModelConfig, pooler: boolean): ExpectedKey[] {
  const at = encoderPrefix(config);
  const H = dim(config, 'hidden_size');
  const sizes = config.type_vocab_sizes as number[];
  const [word, position, norm, bias] = bertEmbeddingKeys(`${at}embeddings`, config, H, ['word', 'position']);
  const types = sizes.map((rows, i) =>
    tableKey(`${at}embeddings.token_type_embeddings_${i}.weight`, { size: rows, field: `type_vocab_sizes[${i}]` }, H),
  );
  return [
    ...[word, position, ...types, norm, bias].filter((k) => k !== undefined),
    ...layersKeys(`${at}encoder`, config, bertLayerKeys),
    ...(pooler ? linearKeys(`${at}pooler.dense`, H, H) : []),
  ];
}

/** Each class's state dict (a module's own parameters before its children's), in state_dict order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const V = dim(config, 'vocab_size');
  const cls = modelClassOf(config);
  if (cls === CLASSES.maskedLM)
    return [
      ...encoderKeys(config, false),
      vectorKey('cls.predictions.bias', V),
      ...linearKeys('cls.predictions.transform.dense', H, H),
      ...normKeys('cls.predictions.transform.LayerNorm', H),
      ...tiedDecoderKeys('cls.predictions', V, H, 'tapas.embeddings.word_embeddings.weight'),
    ];
  if (cls === CLASSES.sequenceClassification)
    return [
      ...encoderKeys(config, true),
      ...linearKeys('classifier', { size: numLabelsOf(config), field: 'num_labels' }, H),
    ];
  if (cls === CLASSES.questionAnswering) {
    const labels = dim(config, 'num_aggregation_labels');
    return [
      shapedKey('output_weights', [H]),
      shapedKey('column_output_weights', [H]),
      shapedKey('output_bias', []),
      shapedKey('column_output_bias', []),
      ...encoderKeys(config, true),
      ...(labels.size > 0 ? linearKeys('aggregation_classifier', labels, H) : []),
    ];
  }
  return encoderKeys(config, true);
}

export const tapas: Architecture = {
  modelType: 'tapas',
  summary: `google-research/tapas checkpoints → ${CLASSES.questionAnswering} (--task SQA, WTQ, WIKISQL_SUPERVISED), ${CLASSES.sequenceClassification} (TABFACT), ${CLASSES.maskedLM} (MLM) or ${CLASSES.base} (INTERMEDIATE_PRETRAINING)`,
  detect: {
    // BERT's scopes, but a token-type table per table feature: BERT has one, unnumbered
    names: ['^bert/embeddings/token_type_embeddings_\\d+$'],
    specialises: ['bert'],
    sidecars: ['bert_config.json'],
    baseClass: CLASSES.base,
    heads: [
      { variable: SHOWS.classification, modelClass: CLASSES.sequenceClassification, labelsAxis: 0 },
      { variable: SHOWS.columnSelection, modelClass: CLASSES.questionAnswering },
      { variable: SHOWS.maskedLM, modelClass: CLASSES.maskedLM },
    ],
  },
  configFileNames: ['bert_config.json', 'config.json'],
  options: [
    {
      name: TASK_FLAG,
      value: TASKS.join('|'),
      help: "the task of the checkpoint, as transformers' script takes it: chooses the class and the task's config settings; without it, the checkpoint's heads choose (WTQ and WIKISQL_SUPERVISED share theirs: give it)",
    },
    {
      name: RESET_FLAG,
      help: 'the checkpoint uses relative positions (position index reset per cell): sets reset_position_index_per_cell, false without the flag as in the script',
    },
  ],
  buildConfig,
  skip: [{ components: ['seq_relationship'], reason: "next-sentence head: transformers' TAPAS classes have none" }],
  configSkip,
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  tokenizer: {
    className: 'TapasTokenizer',
    init: {
      additional_special_tokens: ['[EMPTY]'],
      cell_trim_length: -1,
      clean_up_tokenization_spaces: true,
      cls_token: '[CLS]',
      do_basic_tokenize: true,
      do_lower_case: true,
      empty_token: '[EMPTY]',
      mask_token: '[MASK]',
      max_column_id: null,
      max_question_length: null,
      max_row_id: null,
      min_question_length: null,
      never_split: null,
      pad_token: '[PAD]',
      sep_token: '[SEP]',
      strip_accents: null,
      strip_column_names: false,
      tokenize_chinese_chars: true,
      unk_token: '[UNK]',
      update_answer_coordinates: false,
    },
    maxLength: { fixed: 512, why: "the script's TapasTokenizer(model_max_length=512)" },
  },
};
