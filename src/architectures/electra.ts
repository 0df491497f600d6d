/**
 * electra: google-research/electra pre-training checkpoints → transformers `ElectraForPreTraining`
 * (the discriminator, default) or `ElectraForMaskedLM` (`--discriminator_or_generator generator`), as
 * transformers' convert_electra_original_tf_checkpoint_to_pytorch.py does it. One checkpoint holds both
 * networks: the discriminator under `electra/`, the generator under `generator/`; both read the word,
 * position and token-type tables of `electra/embeddings/`, each projecting them with its own
 * `{scope}/embeddings_project` when its width differs. The release ships no config: it is derived from
 * the shapes (heads by ELECTRA's own rule, hidden_size // 64) unless `--config` gives transformers' one.
 */
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import {
  BERT_DIMENSIONS,
  BERT_HEADS,
  bertEmbeddingKeys,
  bertEmbeddingRules,
  bertLayerKeys,
  bertLayerRules,
  embeddingFacts,
} from './bert-family.js';
import { dense, dim, layerNorm, layersKeys, linearKeys, normKeys, ONE, tiedKey, vectorKey } from './building-blocks.js';
import { checkDimensions, configFromFacts, countFact, shapeFact } from './checkpoint-facts.js';
import { wordPieceTokenizer } from './tokenizer.js';

/** ElectraConfig() defaults (transformers configuration_electra.py). */
const ELECTRA_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0.1,
  classifier_dropout: null,
  embedding_size: 128,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 256,
  initializer_range: 0.02,
  intermediate_size: 1024,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  num_attention_heads: 4,
  num_hidden_layers: 12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  summary_activation: 'gelu',
  summary_last_dropout: 0.1,
  summary_type: 'first',
  summary_use_proj: true,
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 30522,
};

const OPTION = 'discriminator_or_generator';
const CLASSES = { discriminator: 'ElectraForPreTraining', generator: 'ElectraForMaskedLM' } as const;
type Network = keyof typeof CLASSES;

const networkOf = (config: ModelConfig): Network =>
  (config.architectures as string[])[0] === CLASSES.generator ? 'generator' : 'discriminator';
/** The TF scope of the chosen network's encoder and projection. */
const scopeOf = (network: Network) => (network === 'generator' ? 'generator' : 'electra');

function buildConfig(input: ConfigInput): ModelConfig {
  const network: Network = input.options?.[OPTION] === 'generator' ? 'generator' : 'discriminator';
  const scope = scopeOf(network);
  const fact = (field: string, name: string, axis: number) => shapeFact(input.listing, field, name, axis);
  const facts = [
    ...embeddingFacts(input.listing, 'electra/embeddings', 'embedding_size'),
    fact('hidden_size', `${scope}/encoder/layer_0/attention/self/query/kernel`, 1),
    fact('intermediate_size', `${scope}/encoder/layer_0/intermediate/dense/kernel`, 1),
    countFact(
      input.listing,
      'num_hidden_layers',
      new RegExp(`^${scope}/encoder/layer_(\\d+)/`),
      `${scope}/encoder/layer_{n}/`,
    ),
  ];
  const hidden = facts.find((f) => f.field === 'hidden_size')?.value;
  const config = configFromFacts(input, {
    defaults: ELECTRA_DEFAULTS,
    facts,
    assumptions:
      typeof hidden === 'number'
        ? [
            {
              field: 'num_attention_heads',
              value: Math.max(1, Math.floor(hidden / 64)),
              why: "ELECTRA's rule: max(1, hidden_size // 64)",
            },
          ]
        : [],
    fixed: { architectures: [CLASSES[network]], model_type: 'electra' },
    hint: `Pass the config.json of the ${network} (transformers' ElectraConfig) with --config, or leave --config out to derive it.`,
  });
  checkDimensions(config, [...BERT_DIMENSIONS, 'embedding_size'], input.userPath ?? 'the derived config', BERT_HEADS);
  return config;
}

function rules(config: ModelConfig): readonly Rule[] {
  const network = networkOf(config);
  const scope = scopeOf(network);
  const heads: Rule[] =
    network === 'discriminator'
      ? [
          ...dense('discriminator_predictions/dense', 'discriminator_predictions.dense'),
          ...dense('discriminator_predictions/dense_1', 'discriminator_predictions.dense_prediction'),
        ]
      : [
          ...layerNorm('generator_predictions', 'generator_predictions.LayerNorm'),
          ...dense('generator_predictions/dense', 'generator_predictions.dense'),
          { from: 'generator_predictions/output_bias', to: 'generator_lm_head.bias' },
        ];
  return [
    ...bertEmbeddingRules('electra/embeddings', 'electra.embeddings'),
    ...dense(`${scope}/embeddings_project`, 'electra.embeddings_project'),
    ...bertLayerRules(`${scope}/encoder`, 'electra.encoder'),
    ...heads,
  ];
}

function configSkip(config: ModelConfig) {
  return networkOf(config) === 'discriminator'
    ? [
        {
          pattern: '^generator(_predictions)?/',
          reason: `the generator (${CLASSES.generator}: --${OPTION} generator)`,
        },
      ]
    : [
        {
          pattern: '^(electra/(encoder|embeddings_project)|discriminator_predictions)/',
          reason: `the discriminator (${CLASSES.discriminator}: --${OPTION} discriminator)`,
        },
      ];
}

/** ElectraForPreTraining / ElectraForMaskedLM state dicts (no persistent buffers but the generator's position_ids), in state_dict order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const E = dim(config, 'embedding_size');
  const H = dim(config, 'hidden_size');
  const keys: ExpectedKey[] = [
    ...bertEmbeddingKeys('electra.embeddings', config, E),
    ...(E.size !== H.size ? linearKeys('electra.embeddings_project', H, E) : []),
    ...layersKeys('electra.encoder', config, bertLayerKeys),
  ];
  if (networkOf(config) === 'discriminator')
    return [
      ...keys,
      ...linearKeys('discriminator_predictions.dense', H, H),
      ...linearKeys('discriminator_predictions.dense_prediction', ONE, H),
    ];
  // ElectraForMaskedLM's own ignore list leaves out position_ids, a persistent buffer up to transformers 4.30:
  // without it, 4.29 reports the key missing and "newly initialized"
  const P = config.max_position_embeddings as number;
  const positionIds = { key: 'electra.embeddings.position_ids', shape: [1, P], dtype: 'int64' } as const;
  return [
    { ...positionIds, generate: { kind: 'arange', count: P } },
    ...keys,
    ...normKeys('generator_predictions.LayerNorm', E),
    ...linearKeys('generator_predictions.dense', E, H),
    tiedKey('generator_lm_head.weight', [dim(config, 'vocab_size'), E], 'electra.embeddings.word_embeddings.weight'),
    vectorKey('generator_lm_head.bias', dim(config, 'vocab_size')),
  ];
}

export const electra: Architecture = {
  modelType: 'electra',
  summary: `google-research/electra pre-training checkpoints → ${CLASSES.discriminator} or ${CLASSES.generator}`,
  detect: { names: ['^(electra|generator)/encoder/layer_\\d+/'], baseClass: CLASSES.discriminator },
  options: [
    {
      name: OPTION,
      choices: ['discriminator', 'generator'],
      help: `${CLASSES.discriminator} (default) or ${CLASSES.generator}`,
    },
  ],
  buildConfig,
  skip: [],
  configSkip,
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  tokenizer: wordPieceTokenizer('ElectraTokenizer'),
};
