/**
 * canine: google-research/language `canine/` checkpoints (modeling.py's CanineModel) → transformers `CanineModel`,
 * as convert_canine_original_tf_checkpoint_to_pytorch.py (load_tf_weights_in_canine) fills it:
 * - `char_embeddings/embeddings/HashBucketCodepointEmbedder_{i}` (one shard of the width per hash function),
 *   `char_position_embeddings`, `segment_embeddings` (→ `token_type_embeddings`) and the LayerNorm;
 * - the shallow local-attention encoder `initial_char_encoder/layer_0` and the one over the upsampled
 *   characters, `final_char_encoder/layer_0`, and the deep stack `bert/layer_{n}` (→ `encoder`): BERT layers;
 * - the downsampling conv `initial_char_encoder/initial_char_encoder/chars_to_molecules/conv` (→
 *   `chars_to_molecules`) and the upsampling one `final_char_encoder/conv` (→ `projection`): tf.layers.conv1d
 *   kernels `[width, in, out]`, reversed to nn.Conv1d's `[out, in, width]` (the script's np.transpose);
 * - `pooler/dense`.
 */
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { BERT_HEADS, bertLayerKeys, bertLayerRules } from './bert-family.js';
import {
  dense,
  dim,
  layerNorm,
  layersKeys,
  linearKeys,
  normKeys,
  shapedKey,
  TRANSPOSE,
  tableKey,
  times,
} from './building-blocks.js';
import {
  checkDimensions,
  configFromFacts,
  countFact,
  resolveAliases,
  shapeFact,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';
import { addedToken } from './tokenizer.js';

const MODEL_CLASS = 'CanineModel';

/** CanineConfig() defaults (transformers configuration_canine.py): what the script converts with. */
const CANINE_DEFAULTS: ModelConfig = {
  attention_probs_dropout_prob: 0.1,
  bos_token_id: 57344,
  downsampling_rate: 4,
  eos_token_id: 57345,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  layer_norm_eps: 1e-12,
  local_transformer_stride: 128,
  max_position_embeddings: 16384,
  num_attention_heads: 12,
  num_hash_buckets: 16384,
  num_hash_functions: 8,
  num_hidden_layers: 12,
  pad_token_id: 0,
  type_vocab_size: 16,
  upsampling_kernel_size: 4,
};

/** The original CanineModelConfig's one field of another name. */
const ORIGINAL_FIELDS = { max_positions: 'max_position_embeddings' };

const EMBEDDER = 'char_embeddings/embeddings/HashBucketCodepointEmbedder_';
const DOWNSAMPLE = 'initial_char_encoder/initial_char_encoder/chars_to_molecules';
const UPSAMPLE = 'final_char_encoder';

const DIMENSIONS = [
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
  'type_vocab_size',
  'downsampling_rate',
  'upsampling_kernel_size',
  'num_hash_functions',
  'num_hash_buckets',
];

function buildConfig(input: ConfigInput): ModelConfig {
  const l = input.listing;
  const fact = (field: string, name: string, axis: number) => shapeFact(l, field, name, axis);
  const user = input.user === undefined ? undefined : resolveAliases(input.user, ORIGINAL_FIELDS);
  const config = configFromFacts(
    { ...input, ...(user === undefined ? {} : { user }) },
    {
      defaults: CANINE_DEFAULTS,
      facts: [
        fact('hidden_size', 'char_embeddings/char_position_embeddings', 1),
        fact('max_position_embeddings', 'char_embeddings/char_position_embeddings', 0),
        fact('type_vocab_size', 'char_embeddings/segment_embeddings', 0),
        fact('num_hash_buckets', `${EMBEDDER}0`, 0),
        countFact(
          l,
          'num_hash_functions',
          /^char_embeddings\/embeddings\/HashBucketCodepointEmbedder_(\d+)$/,
          `${EMBEDDER}{i}`,
        ),
        fact('intermediate_size', 'bert/layer_0/intermediate/dense/kernel', 1),
        countFact(l, 'num_hidden_layers', /^bert\/layer_(\d+)\//, 'bert/layer_{n}/'),
        fact('downsampling_rate', `${DOWNSAMPLE}/conv/kernel`, 0),
        fact('upsampling_kernel_size', `${UPSAMPLE}/conv/kernel`, 0),
      ],
      assumptions: [
        { field: 'num_attention_heads', value: 12, why: 'the released CANINE-S and CANINE-C have 12' },
        { field: 'local_transformer_stride', value: 128, why: "CanineModelConfig's default, which the releases use" },
      ],
      fixed: { architectures: [MODEL_CLASS], model_type: 'canine', transformers_version: TRANSFORMERS_VERSION },
      hint: "Pass the model's CanineConfig JSON (or the original CanineModelConfig JSON) with --config, or leave --config out to derive it.",
    },
  );
  checkDimensions(config, DIMENSIONS, input.userPath ?? 'the derived config', BERT_HEADS);
  return config;
}

/** A tf.layers.conv1d `{tf}/conv` → nn.Conv1d `{pt}.conv`, and its LayerNorm. */
const convAndNorm = (tf: string, pt: string): Rule[] => [
  {
    from: `${tf}/conv/kernel`,
    to: `${pt}.conv.weight`,
    transforms: TRANSPOSE,
    note: '[width, in, out] → [out, in, width]',
  },
  { from: `${tf}/conv/bias`, to: `${pt}.conv.bias` },
  ...layerNorm(tf, `${pt}.LayerNorm`),
];

function rules(): readonly Rule[] {
  return [
    { from: `${EMBEDDER}{i*}`, to: 'char_embeddings.HashBucketCodepointEmbedder_{i*}.weight' },
    { from: 'char_embeddings/char_position_embeddings', to: 'char_embeddings.char_position_embeddings.weight' },
    { from: 'char_embeddings/segment_embeddings', to: 'char_embeddings.token_type_embeddings.weight' },
    ...layerNorm('char_embeddings', 'char_embeddings.LayerNorm'),
    ...bertLayerRules('initial_char_encoder', 'initial_char_encoder'),
    ...convAndNorm(DOWNSAMPLE, 'chars_to_molecules'),
    ...bertLayerRules('bert', 'encoder'),
    ...convAndNorm(UPSAMPLE, 'projection'),
    ...bertLayerRules('final_char_encoder', 'final_char_encoder'),
    ...dense('pooler/dense', 'pooler.dense'),
  ];
}

/** nn.Conv1d(in, out, width): weight [out, in, width], bias [out]; then the LayerNorm over `out`. */
function convKeys(
  prefix: string,
  out: ReturnType<typeof dim>,
  inp: ReturnType<typeof dim>,
  width: ReturnType<typeof dim>,
) {
  return [
    shapedKey(`${prefix}.conv.weight`, [out, inp, width]),
    shapedKey(`${prefix}.conv.bias`, [out]),
    ...normKeys(`${prefix}.LayerNorm`, out),
  ];
}

/** CanineModel's state dict (transformers >= 4.31: no position_ids buffer), in state_dict order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const buckets = dim(config, 'num_hash_buckets');
  const hashes = config.num_hash_functions as number;
  const shard = { size: Math.floor(H.size / hashes), field: 'hidden_size / num_hash_functions' };
  const shallow = { ...config, num_hidden_layers: 1 };
  return [
    ...Array.from({ length: hashes }, (_, i) =>
      tableKey(`char_embeddings.HashBucketCodepointEmbedder_${i}.weight`, buckets, shard),
    ),
    // CanineEmbeddings sizes its position table by num_hash_buckets (the original by max_positions)
    tableKey('char_embeddings.char_position_embeddings.weight', buckets, H),
    tableKey('char_embeddings.token_type_embeddings.weight', dim(config, 'type_vocab_size'), H),
    ...normKeys('char_embeddings.LayerNorm', H),
    ...layersKeys('initial_char_encoder', shallow, bertLayerKeys),
    ...convKeys('chars_to_molecules', H, H, dim(config, 'downsampling_rate')),
    ...layersKeys('encoder', config, bertLayerKeys),
    ...convKeys('projection', H, times(2, H), dim(config, 'upsampling_kernel_size')),
    ...layersKeys('final_char_encoder', shallow, bertLayerKeys),
    ...linearKeys('pooler.dense', H, H),
  ];
}

export const canine: Architecture = {
  modelType: 'canine',
  summary: `google-research/language CANINE checkpoints (char_embeddings/…, bert/layer_{n}/…) → ${MODEL_CLASS}`,
  detect: { names: [`^${EMBEDDER}\\d+$`], baseClass: MODEL_CLASS },
  buildConfig,
  skip: [
    {
      components: ['cls', 'autoregressive_decoder', 'char_output_weights'],
      reason: `pre-training and fine-tuning heads: ${MODEL_CLASS} has none`,
    },
    { pattern: '^answer_type_output_', reason: `TyDi QA's answer-type head: ${MODEL_CLASS} has none` },
  ],
  rules,
  expectedKeys,
  // the script saves CanineTokenizer() beside the weights: no vocabulary, the special codepoints of its
  // tokenization_canine.py (CLS U+E000, SEP U+E001, MASK U+E003, PAD U+0000)
  tokenizer: {
    className: 'CanineTokenizer',
    init: {
      add_prefix_space: false,
      bos_token: addedToken('\uE000'),
      clean_up_tokenization_spaces: true,
      cls_token: addedToken('\uE000'),
      eos_token: addedToken('\uE001'),
      mask_token: addedToken('\uE003', { lstrip: true }),
      pad_token: addedToken('\u0000'),
      sep_token: addedToken('\uE001'),
    },
    maxLength: { fixed: 2048, why: "CanineTokenizer's default" },
  },
};
