/**
 * bert: google-research/bert checkpoints (`bert/encoder/layer_{n}/…`, `cls/…`) → transformers
 * `BertForPreTraining`, as `transformers-cli convert --model_type bert` does it (REFERENCE D.1):
 * dense kernels are stored [in, out] and transposed; `cls/seq_relationship/output_weights` is already
 * [out, in]; the decoder is tied to the word embeddings and its bias to `cls.predictions.bias`.
 * Fine-tuned heads choose the class: run_classifier.py's root `output_weights` → `BertForSequenceClassification`,
 * run_squad.py's `cls/squad/output_weights` → `BertForQuestionAnswering` (whose BertModel has no pooler).
 * Optimizer slots and the step counter are skipped; a leading `module/` scope is accepted.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { normalizeName } from '../mapping/plan.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  BERT_DEFAULTS,
  BERT_DIMENSIONS,
  BERT_HEADS,
  bertEmbeddingKeys,
  bertLayerKeys,
  bertModelRules,
  lmPredictionRules,
  outputLayer,
  tiedDecoderKeys,
} from './bert-family.js';
import {
  chooseFineTunedHead,
  FINETUNING_TASK_OPTION,
  type FineTunedHeads,
  fineTunedHeadKeys,
  fineTunedHeadRules,
  fineTunedHeadSignatures,
  fineTunedSkips,
} from './bert-finetuning-heads.js';
import { dim, layersKeys, linearKeys, normKeys, TWO, vectorKey } from './building-blocks.js';
import { checkDimensions } from './checkpoint-facts.js';
import { wordPieceTokenizer } from './tokenizer.js';

/** The classes, and the heads of run_classifier.py and run_squad.py that choose them. */
const HEADS: FineTunedHeads = {
  base: 'BertForPreTraining',
  sequenceClassification: 'BertForSequenceClassification',
  questionAnswering: 'BertForQuestionAnswering',
  scripts: { classifier: 'run_classifier.py', squad: 'run_squad.py' },
  preTrainingHeads: '^cls/(predictions|seq_relationship)/',
  pooler: '^bert/pooler/',
  encoder: 'BertModel',
};

function buildConfig(input: ConfigInput): ModelConfig {
  if (input.user === undefined) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      'bert needs its bert_config.json: pass --config <path>/bert_config.json (none found beside the checkpoint)',
    );
  }
  const chosen = chooseFineTunedHead(input, HEADS, (n) => normalizeName(bert, n));
  const config: ModelConfig = {
    ...BERT_DEFAULTS,
    ...input.user,
    ...chosen.fields,
    architectures: [chosen.modelClass],
    model_type: 'bert',
  };
  checkDimensions(config, BERT_DIMENSIONS, input.userPath ?? 'the config', BERT_HEADS);
  return config;
}

function rules(): readonly Rule[] {
  return [
    ...bertModelRules('bert', 'bert'),
    ...lmPredictionRules('cls/predictions', 'cls.predictions'),
    ...outputLayer('cls/seq_relationship', 'cls.seq_relationship', 'stored [out, in] already: no transpose'),
    ...fineTunedHeadRules(HEADS),
  ];
}

/**
 * BertForPreTraining's state dict (transformers >= 4.31: no position_ids buffer), in state_dict order.
 * The pooler and the pre-training heads are absent from encoder-only checkpoints. The LM bias starts at
 * zeros in run_pretraining.py (`output_bias`, zeros_initializer) as in transformers
 * (BertLMPredictionHead.bias = zeros): an absent one is written as zeros.
 */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const V = dim(config, 'vocab_size');
  const H = dim(config, 'hidden_size');
  const preTraining = (): ExpectedKey[] => [
    ...linearKeys('bert.pooler.dense', H, H, { optional: true }),
    { ...vectorKey('cls.predictions.bias', V), zerosWhenAbsent: true },
    ...linearKeys('cls.predictions.transform.dense', H, H, { optional: true }),
    ...normKeys('cls.predictions.transform.LayerNorm', H, true),
    ...tiedDecoderKeys('cls.predictions', V, H, 'bert.embeddings.word_embeddings.weight'),
    ...linearKeys('cls.seq_relationship', TWO, H, { optional: true }),
  ];
  return [
    ...bertEmbeddingKeys('bert.embeddings', config, H),
    ...layersKeys('bert.encoder', config, bertLayerKeys),
    ...fineTunedHeadKeys(config, HEADS, 'bert.pooler.dense', preTraining),
  ];
}

export const bert: Architecture = {
  modelType: 'bert',
  summary: `google-research/bert checkpoints → ${HEADS.base}, or ${HEADS.sequenceClassification} / ${HEADS.questionAnswering} when fine-tuned`,
  detect: {
    names: ['^(module/)?bert/encoder/layer_\\d+/'],
    sidecars: ['bert_config.json'],
    baseClass: HEADS.base,
    heads: fineTunedHeadSignatures(HEADS),
  },
  configFileNames: ['bert_config.json', 'config.json'],
  options: [FINETUNING_TASK_OPTION],
  buildConfig,
  stripPrefixes: ['module/'],
  configSkip: (config) => fineTunedSkips(config, HEADS),
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  tokenizer: wordPieceTokenizer('BertTokenizer'),
};
