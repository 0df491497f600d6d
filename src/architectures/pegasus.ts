/**
 * pegasus: google-research/pegasus checkpoints (pegasus/models/transformer.py, layers/transformer_block.py,
 * attention.py, embedding.py: `embeddings/weights`, `{encoder,decoder}/layer_{n}/{self_attention,
 * memory_attention}/{q,k,v,output}_proj/kernel`, `…/ffn/dense{,_1}/…`, a pre-norm `LayerNorm` in each
 * sublayer's scope and `{encoder,decoder}/LayerNorm`) → PegasusForConditionalGeneration, as transformers'
 * convert_pegasus_tf_to_pytorch.py writes it: every kernel transposed, the padding row of the shared
 * embedding zeroed, the attention biases Pegasus lacks written as zeros, `final_logits_bias` zeros, the
 * sinusoidal position tables left out. The checkpoint's folder name is the dataset that chooses the
 * generation settings (pegasus-settings.ts).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { dense, dim, linearKeys, normKeys, TRANSPOSE, tableKey } from './building-blocks.js';
import {
  configSource,
  countIndexed,
  type Disagreement,
  intField,
  MAX_CONFIG_HEADS,
  MAX_CONFIG_LAYERS,
  refuseDisagreements,
  resolveAliases,
  shapeOf,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';
import {
  DATASET_SETTINGS,
  type DatasetSettings,
  PEGASUS_CONFIG_DEFAULTS,
  PEGASUS_LARGE,
  taskSpecificParams,
} from './pegasus-settings.js';

const MODEL_CLASS = 'PegasusForConditionalGeneration';
const STACKS = ['encoder', 'decoder'] as const;
/** PegasusConfig.attribute_map. */
const ALIASES = { hidden_size: 'd_model', num_attention_heads: 'encoder_attention_heads' };
const SETTINGS_FIELDS = ['length_penalty', 'max_length', 'max_position_embeddings'] as const;

/** The folder the checkpoint is in, as the converter read it (`Path(ckpt_path).parent.name`). */
function datasetOf(checkpointPath: string | undefined): string | undefined {
  const parts = (checkpointPath ?? '').split(/[\\/]/);
  parts.pop();
  const name = parts.pop();
  return name === undefined || name === '' ? undefined : name;
}

/** The dataset's generation settings over `config`; fields the user's --config sets are kept (and noted). */
function applyDataset(config: ModelConfig, input: ConfigInput): void {
  const dataset = datasetOf(input.checkpointPath);
  const settings: DatasetSettings | undefined =
    dataset !== undefined && Object.hasOwn(DATASET_SETTINGS, dataset) ? DATASET_SETTINGS[dataset] : undefined;
  if (settings === undefined) {
    const known = Object.keys(DATASET_SETTINGS).join(', ');
    input.note?.(
      `the checkpoint's folder ${dataset === undefined ? '(none)' : `'${dataset}'`} is none of Pegasus's datasets (${known}): no dataset generation settings applied`,
    );
    return;
  }
  const applied: string[] = [];
  for (const field of SETTINGS_FIELDS) {
    const own = input.user?.[field];
    if (own !== undefined && own !== settings[field]) {
      input.note?.(
        `${field} ${JSON.stringify(own)} kept from ${input.userPath ?? '--config'} ('${dataset}' has ${settings[field]})`,
      );
      continue;
    }
    config[field] = settings[field];
    applied.push(`${field} ${settings[field]}`);
  }
  if (dataset === 'large' && input.user?.task_specific_params === undefined)
    config.task_specific_params = taskSpecificParams();
  input.note?.(`dataset '${dataset}' (the checkpoint's folder): ${applied.join(', ')}`);
}

function checkSizes(config: ModelConfig, source: string): void {
  for (const field of ['vocab_size', 'd_model', 'encoder_ffn_dim', 'decoder_ffn_dim', 'pad_token_id'])
    intField(config, field, source);
  for (const [field, limit] of [
    ['encoder_layers', MAX_CONFIG_LAYERS],
    ['decoder_layers', MAX_CONFIG_LAYERS],
    ['encoder_attention_heads', MAX_CONFIG_HEADS],
    ['decoder_attention_heads', MAX_CONFIG_HEADS],
  ] as const) {
    const n = intField(config, field, source);
    if (n > limit)
      throw new Tf2TorchError(ErrorCode.CONFIG, `${source}: '${field}' is ${n}, above ${limit}`, { file: source });
    if (field.endsWith('_heads') && (n === 0 || (config.d_model as number) % n !== 0))
      throw new Tf2TorchError(
        ErrorCode.CONFIG,
        `${source}: '${field}' (${n}) does not divide 'd_model' (${config.d_model as number})`,
        { file: source },
      );
  }
  if ((config.pad_token_id as number) >= (config.vocab_size as number))
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source}: 'pad_token_id' ${config.pad_token_id as number} is not a row of the embedding (vocab_size ${config.vocab_size as number})`,
      { file: source },
    );
}

/** Every size the tensors show, against the config: one error naming each disagreeing field. */
function checkAgainstShapes(config: ModelConfig, input: ConfigInput, source: string): void {
  const l = input.listing;
  const out: Disagreement[] = [];
  const check = (field: string, actual: number | undefined, evidence: string) => {
    if (actual !== undefined && actual !== config[field])
      out.push({ field, config: config[field], checkpoint: actual, evidence });
  };
  const embedding = shapeOf(l, 'embeddings/weights');
  check('vocab_size', embedding?.[0], `embeddings/weights [${embedding?.join(', ')}]`);
  check('d_model', embedding?.[1], `embeddings/weights [${embedding?.join(', ')}]`);
  for (const s of STACKS) {
    const ffn = shapeOf(l, `${s}/layer_0/ffn/dense/kernel`);
    check(`${s}_ffn_dim`, ffn?.[1], `${s}/layer_0/ffn/dense/kernel [${ffn?.join(', ')}]`);
    const layers = countIndexed(l, new RegExp(`^${s}/layer_(\\d+)/`));
    if (layers > 0) check(`${s}_layers`, layers, `${s}/layer_{n}/`);
  }
  refuseDisagreements(
    out,
    source,
    input.user
      ? 'Pass the PegasusConfig (config.json) of this checkpoint with --config, or leave --config out for pegasus-large.'
      : "These are pegasus-large's sizes: pass the PegasusConfig (config.json) of this model with --config.",
  );
}

function buildConfig(input: ConfigInput): ModelConfig {
  const source = configSource(input, "pegasus-large's sizes (transformers' configuration_pegasus.py DEFAULTS)");
  const given = input.user ? resolveAliases(input.user, ALIASES) : PEGASUS_LARGE;
  const config: ModelConfig = { ...PEGASUS_CONFIG_DEFAULTS, ...given };
  applyDataset(config, input);
  checkSizes(config, source);
  checkAgainstShapes(config, input, source);
  return {
    ...config,
    num_hidden_layers: config.encoder_layers, // PegasusConfig sets it from encoder_layers
    model_type: 'pegasus',
    architectures: [MODEL_CLASS],
    transformers_version: TRANSFORMERS_VERSION,
  };
}

/** One attention block: `{q,k,v,output}_proj/kernel` (no biases: attention.py's Dense(use_bias=False)) and its pre-norm. */
function attentionRules(tf: string, pt: string, norm: string): Rule[] {
  return [
    ...(['q', 'k', 'v'] as const).map((p) => ({
      from: `${tf}/${p}_proj/kernel`,
      to: `${pt}.${p}_proj.weight`,
      transforms: TRANSPOSE,
    })),
    { from: `${tf}/output_proj/kernel`, to: `${pt}.out_proj.weight`, transforms: TRANSPOSE },
    { from: `${tf}/LayerNorm/gamma`, to: `${norm}.weight` },
    { from: `${tf}/LayerNorm/beta`, to: `${norm}.bias` },
  ];
}

function rules(config: ModelConfig): readonly Rule[] {
  const pad = config.pad_token_id as number;
  const out: Rule[] = [
    {
      from: 'embeddings/weights',
      to: 'model.shared.weight',
      transforms: [{ op: 'zero', axis: 0, index: pad }],
      note: "padding row zeroed, as transformers' converter respects padding_idx; not transposed",
    },
  ];
  for (const s of STACKS) {
    const [tf, pt] = [`${s}/layer_{layer}`, `model.${s}.layers.{layer}`];
    out.push(...attentionRules(`${tf}/self_attention`, `${pt}.self_attn`, `${pt}.self_attn_layer_norm`));
    if (s === 'decoder')
      out.push(...attentionRules(`${tf}/memory_attention`, `${pt}.encoder_attn`, `${pt}.encoder_attn_layer_norm`));
    out.push(
      ...dense(`${tf}/ffn/dense`, `${pt}.fc1`),
      ...dense(`${tf}/ffn/dense_1`, `${pt}.fc2`),
      { from: `${tf}/ffn/LayerNorm/gamma`, to: `${pt}.final_layer_norm.weight` },
      { from: `${tf}/ffn/LayerNorm/beta`, to: `${pt}.final_layer_norm.bias` },
      { from: `${s}/LayerNorm/gamma`, to: `model.${s}.layer_norm.weight` },
      { from: `${s}/LayerNorm/beta`, to: `model.${s}.layer_norm.bias` },
    );
  }
  return out;
}

const ZEROS = { kind: 'fill', value: 0 } as const;

/** PegasusAttention (k, v, q, out in its order): weights from the checkpoint, biases zeros as the converter writes them. */
function attentionKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const D = dim(config, 'd_model');
  return ['k_proj', 'v_proj', 'q_proj', 'out_proj'].flatMap((p) => [
    ...linearKeys(`${prefix}.${p}`, D, D, { bias: false }),
    { key: `${prefix}.${p}.bias`, shape: [D.size], fromConfig: '[d_model]', generate: ZEROS },
  ]);
}

function layerKeys(s: 'encoder' | 'decoder', prefix: string, config: ModelConfig): ExpectedKey[] {
  const D = dim(config, 'd_model');
  const F = dim(config, `${s}_ffn_dim`);
  return [
    ...attentionKeys(`${prefix}.self_attn`, config),
    ...normKeys(`${prefix}.self_attn_layer_norm`, D),
    ...(s === 'decoder'
      ? [...attentionKeys(`${prefix}.encoder_attn`, config), ...normKeys(`${prefix}.encoder_attn_layer_norm`, D)]
      : []),
    ...linearKeys(`${prefix}.fc1`, F, D),
    ...linearKeys(`${prefix}.fc2`, D, F),
    ...normKeys(`${prefix}.final_layer_norm`, D),
  ];
}

/**
 * PegasusForConditionalGeneration.state_dict() as the converter saved it: its own buffer first, then
 * the model, then lm_head; `embed_positions` (sinusoidal, computed at load) popped before saving.
 */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const V = dim(config, 'vocab_size');
  const D = dim(config, 'd_model');
  const keys: ExpectedKey[] = [
    { key: 'final_logits_bias', shape: [1, V.size], fromConfig: '[1, vocab_size]', generate: ZEROS },
    tableKey('model.shared.weight', V, D),
  ];
  for (const s of STACKS) {
    keys.push({ key: `model.${s}.embed_tokens.weight`, shape: [V.size, D.size], aliasOf: 'model.shared.weight' });
    const layers = config[`${s}_layers`] as number;
    for (let l = 0; l < layers; l++) keys.push(...layerKeys(s, `model.${s}.layers.${l}`, config));
    keys.push(...normKeys(`model.${s}.layer_norm`, D));
  }
  keys.push({ key: 'lm_head.weight', shape: [V.size, D.size], aliasOf: 'model.shared.weight' });
  return keys;
}

export const pegasus: Architecture = {
  modelType: 'pegasus',
  summary: `google-research/pegasus checkpoints → ${MODEL_CLASS} (the folder name picks the dataset's generation settings)`,
  detect: {
    names: ['^encoder/layer_\\d+/self_attention/q_proj/kernel$', '^decoder/layer_\\d+/memory_attention/q_proj/kernel$'],
    baseClass: MODEL_CLASS,
  },
  configFileNames: [],
  buildConfig,
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: ['spiece.model', 'c4.unigram.newline.10pct.96000.model'], to: 'spiece.model' }],
  tokenizer: {
    className: 'PegasusTokenizer',
    // PegasusTokenizer's defaults: <mask_1> and <unk_2> … <unk_102> fill the `offset` ids before the pieces
    init: {
      additional_special_tokens: ['<mask_1>', ...Array.from({ length: 101 }, (_, i) => `<unk_${i + 2}>`)],
      clean_up_tokenization_spaces: true,
      eos_token: '</s>',
      mask_token: '<mask_2>',
      mask_token_sent: '<mask_1>',
      offset: 103,
      pad_token: '<pad>',
      sp_model_kwargs: {},
      unk_token: '<unk>',
    },
    maxLength: 'max_position_embeddings',
  },
};
