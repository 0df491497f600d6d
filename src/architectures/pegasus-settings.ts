/**
 * Pegasus's config values as transformers defined them in 2020 (configuration_pegasus.py, which
 * convert_pegasus_tf_to_pytorch.py still imports: `DEFAULTS` and `task_specific_params` were removed
 * from it later, so that script no longer imports in current transformers), and PegasusConfig's own
 * defaults, which a modern `config.json` is completed with.
 */
import type { ModelConfig } from '../mapping/types.js';

/** PegasusConfig.__init__'s defaults (configuration_pegasus.py), as to_dict writes them. */
export const PEGASUS_CONFIG_DEFAULTS: ModelConfig = {
  activation_dropout: 0,
  activation_function: 'gelu',
  attention_dropout: 0,
  classifier_dropout: 0,
  d_model: 1024,
  decoder_attention_heads: 16,
  decoder_ffn_dim: 4096,
  decoder_layerdrop: 0,
  decoder_layers: 12,
  decoder_start_token_id: 0,
  dropout: 0.1,
  encoder_attention_heads: 16,
  encoder_ffn_dim: 4096,
  encoder_layerdrop: 0,
  encoder_layers: 12,
  eos_token_id: 1,
  forced_eos_token_id: 1,
  init_std: 0.02,
  is_encoder_decoder: true,
  max_position_embeddings: 1024,
  pad_token_id: 0,
  scale_embedding: false,
  use_cache: true,
  vocab_size: 50265,
};

/**
 * `DEFAULTS` of the 2020 configuration_pegasus.py ("these config values do not vary between
 * checkpoints"): pegasus-large, the base of every released checkpoint. The converter built its config
 * from these, then the dataset's settings.
 */
export const PEGASUS_LARGE: ModelConfig = {
  vocab_size: 96103,
  max_position_embeddings: 512,
  d_model: 1024,
  encoder_ffn_dim: 4096,
  decoder_ffn_dim: 4096,
  encoder_attention_heads: 16,
  decoder_attention_heads: 16,
  encoder_layers: 16,
  decoder_layers: 16,
  dropout: 0.1,
  attention_dropout: 0.1,
  activation_dropout: 0.1,
  pad_token_id: 0,
  eos_token_id: 1,
  is_encoder_decoder: true,
  normalize_before: true,
  scale_embedding: true,
  normalize_embedding: false,
  add_final_layer_norm: true,
  static_position_embeddings: true,
  num_beams: 8,
  activation_function: 'relu',
};

export interface DatasetSettings {
  readonly length_penalty: number;
  readonly max_length: number;
  readonly max_position_embeddings: number;
}

/**
 * `task_specific_params` of the 2020 configuration_pegasus.py, by the folder name the converter read
 * (`Path(ckpt_path).parent.name`, looked up as `summarization_{dataset}`): the generation settings of
 * each fine-tuned release, and pegasus-large's own (`large`).
 */
export const DATASET_SETTINGS: Readonly<Record<string, DatasetSettings>> = {
  xsum: { length_penalty: 0.6, max_length: 64, max_position_embeddings: 512 },
  cnn_dailymail: { length_penalty: 0.8, max_length: 128, max_position_embeddings: 1024 },
  newsroom: { length_penalty: 0.8, max_length: 128, max_position_embeddings: 512 },
  wikihow: { length_penalty: 0.6, max_length: 256, max_position_embeddings: 512 },
  multi_news: { length_penalty: 0.8, max_length: 256, max_position_embeddings: 1024 },
  reddit_tifu: { length_penalty: 0.6, max_length: 128, max_position_embeddings: 512 },
  big_patent: { length_penalty: 0.7, max_length: 256, max_position_embeddings: 1024 },
  arxiv: { length_penalty: 0.8, max_length: 256, max_position_embeddings: 1024 },
  pubmed: { length_penalty: 0.8, max_length: 256, max_position_embeddings: 1024 },
  gigaword: { length_penalty: 0.6, max_length: 32, max_position_embeddings: 128 },
  aeslc: { length_penalty: 0.6, max_length: 32, max_position_embeddings: 512 },
  billsum: { length_penalty: 0.6, max_length: 256, max_position_embeddings: 1024 },
  large: { length_penalty: 0.8, max_length: 256, max_position_embeddings: 1024 },
};

/** pegasus-large's `task_specific_params`: the whole table, keyed `summarization_{dataset}` as the converter wrote it. */
export function taskSpecificParams(): Record<string, DatasetSettings> {
  return Object.fromEntries(Object.entries(DATASET_SETTINGS).map(([d, s]) => [`summarization_${d}`, { ...s }]));
}
