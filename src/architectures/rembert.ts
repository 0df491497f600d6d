/**
 * rembert: the RemBERT checkpoint (google-research/google-research `rembert/`, released as a TF
 * checkpoint with BERT's scopes) → transformers `RemBertModel`, as convert_rembert_tf_checkpoint_to_pytorch.py
 * maps it: `bert/` becomes `rembert.`, the small input embedding (`input_embedding_size`) is projected by
 * `bert/encoder/embedding_hidden_mapping_in`, the layers are BERT's. The decoupled output embedding and
 * the MLM head (`cls/…`, `…output_embedding…`) are discarded after pre-training: RemBertModel has none.
 */
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  BERT_DIMENSIONS,
  BERT_HEADS,
  bertEmbeddingKeys,
  bertLayerKeys,
  bertModelRules,
  embeddingFacts,
} from './bert-family.js';
import { dense, dim, layersKeys, linearKeys } from './building-blocks.js';
import { checkDimensions, configFromFacts, countFact, shapeFact } from './checkpoint-facts.js';

const MODEL_CLASS = 'RemBertModel';

/** RemBertConfig() defaults (transformers configuration_rembert.py); it never ties the embeddings. */
const REMBERT_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0,
  bos_token_id: 312,
  classifier_dropout_prob: 0.1,
  eos_token_id: 313,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0,
  hidden_size: 1152,
  initializer_range: 0.02,
  input_embedding_size: 256,
  intermediate_size: 4608,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  num_attention_heads: 18,
  num_hidden_layers: 32,
  output_embedding_size: 1664,
  pad_token_id: 0,
  tie_word_embeddings: false,
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 250300,
};

function buildConfig(input: ConfigInput): ModelConfig {
  const fact = (field: string, name: string, axis: number) => shapeFact(input.listing, field, name, axis);
  const config = configFromFacts(input, {
    defaults: REMBERT_DEFAULTS,
    facts: [
      ...embeddingFacts(input.listing, 'bert/embeddings', 'input_embedding_size'),
      fact('hidden_size', 'bert/encoder/embedding_hidden_mapping_in/kernel', 1),
      fact('intermediate_size', 'bert/encoder/layer_0/intermediate/dense/kernel', 1),
      countFact(input.listing, 'num_hidden_layers', /^bert\/encoder\/layer_(\d+)\//, 'bert/encoder/layer_{n}/'),
    ],
    assumptions: [{ field: 'num_attention_heads', value: 18, why: "the released RemBERT's" }],
    fixed: { architectures: [MODEL_CLASS], model_type: 'rembert' },
    hint: "Pass this checkpoint's config.json (transformers' RemBertConfig) with --config, or leave --config out to derive it.",
  });
  checkDimensions(
    config,
    [...BERT_DIMENSIONS, 'input_embedding_size'],
    input.userPath ?? 'the derived config',
    BERT_HEADS,
  );
  return config;
}

function rules(): readonly Rule[] {
  return [
    ...bertModelRules('bert', 'rembert'),
    ...dense('bert/encoder/embedding_hidden_mapping_in', 'rembert.encoder.embedding_hidden_mapping_in'),
  ];
}

/** RemBertModel's state dict (with its pooler; no persistent buffers), in state_dict order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const E = dim(config, 'input_embedding_size');
  const H = dim(config, 'hidden_size');
  return [
    ...bertEmbeddingKeys('rembert.embeddings', config, E),
    ...linearKeys('rembert.encoder.embedding_hidden_mapping_in', H, E),
    ...layersKeys('rembert.encoder', config, bertLayerKeys),
    // fine-tuning exports may lack the pooler: left for from_pretrained, as transformers does
    ...linearKeys('rembert.pooler.dense', H, H, { optional: true }),
  ];
}

export const rembert: Architecture = {
  modelType: 'rembert',
  summary: `the RemBERT TF checkpoint (google-research rembert/) → ${MODEL_CLASS}`,
  detect: {
    // bert's layers with ALBERT's input projection, which no bert or albert checkpoint has together
    names: ['^bert/encoder/layer_\\d+/'],
    requires: ['^bert/encoder/embedding_hidden_mapping_in/', '^bert/embeddings/word_embeddings$'],
    specialises: ['bert', 'albert'],
    baseClass: MODEL_CLASS,
  },
  buildConfig,
  skip: [
    {
      pattern: '^cls/|output_embedding',
      reason: `output embedding / MLM head, discarded after pre-training (${MODEL_CLASS} has none)`,
    },
  ],
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'sentencepiece.model', to: 'sentencepiece.model' }],
  tokenizer: {
    className: 'RemBertTokenizer',
    init: {
      bos_token: '[CLS]',
      clean_up_tokenization_spaces: true,
      cls_token: '[CLS]',
      eos_token: '[SEP]',
      keep_accents: true,
      mask_token: '[MASK]',
      pad_token: '[PAD]',
      remove_space: true,
      sep_token: '[SEP]',
      unk_token: '[UNK]',
    },
    maxLength: 'max_position_embeddings',
    casing: { sentencepiece: false },
  },
};
