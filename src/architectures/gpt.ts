/**
 * gpt: the original OpenAI GPT release (openai/finetune-transformer-lm `model/` folder: params_shapes.json,
 * params_0.npy … params_N.npy, optional parameters_names.json) → transformers `OpenAIGPTModel`
 * (REFERENCE D.3). The source lists array i as `params/<i>` with the shape as released; as transformers
 * does, every array is squeezed (`[1, in, out]` Conv1D weights → `[in, out]`, no transpose), array 0
 * becomes the position embeddings, array 1 the token embeddings, and arrays 2… follow the release's
 * per-block order. When parameters_names.json is present it must agree with that order.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { parseJson } from '../io/json.js';
import { jsonPreview } from '../io/python-json.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { dim, SQUEEZE, shapeText, tableKey, times } from './building-blocks.js';
import { configSource, type Disagreement, refuseDisagreements, resolveAliases } from './checkpoint-facts.js';
import { blockKeys, bpeTokenizerFiles, GPT_BLOCK, withCausalMasks } from './openai-block.js';

/** OpenAIGPTConfig() defaults (transformers configuration_openai.py); extra keys of the user's file are kept. */
const GPT_DEFAULTS: ModelConfig = {
  afn: 'gelu',
  attn_pdrop: 0.1,
  embd_pdrop: 0.1,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 512,
  resid_pdrop: 0.1,
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  vocab_size: 40478,
};

/** OpenAIGPTConfig.attribute_map. */
const ALIASES = {
  max_position_embeddings: 'n_positions',
  hidden_size: 'n_embd',
  num_attention_heads: 'n_head',
  num_hidden_layers: 'n_layer',
};

const EMBEDDING_ARRAYS = 2;

const squeezed = (shape: readonly number[]) => shape.filter((d) => d !== 1);

/** The release names array i ≥ 2 by `names[i - 1]` (names[0], 'model/we:0', covers arrays 0 and 1). */
function checkNames(namesText: string, layers: number): void {
  const where = 'parameters_names.json';
  const names = parseJson(namesText, where, ErrorCode.MALFORMED);
  if (!Array.isArray(names))
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: expected a list of names`, { file: where });
  for (let n = 0; n < layers; n++) {
    GPT_BLOCK.forEach(({ tf }, k) => {
      const index = 1 + n * GPT_BLOCK.length + k;
      const expected = `model/h${n}/${tf}:0`;
      if (names[index] !== expected) {
        throw new Tf2TorchError(
          ErrorCode.CONFIG,
          `${where}: entry ${index} (array params/${index + 1}) is ${jsonPreview(names[index])}, expected '${expected}': arrays are not in the release's order`,
          { file: where, tensor: `params/${index + 1}` },
        );
      }
    });
  }
}

function buildConfig(input: ConfigInput): ModelConfig {
  const source = configSource(input);
  const given = resolveAliases(input.user ?? {}, ALIASES);
  const shapes = input.listing.map((t) => squeezed(t.shape));
  const positions = shapes[0];
  const tokens = shapes[1];
  if (!positions || !tokens || positions.length !== 2 || tokens.length !== 2) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `not an OpenAI GPT release: arrays 0 and 1 must be the position and token embeddings (2-D), got ${JSON.stringify(positions)} and ${JSON.stringify(tokens)}`,
    );
  }
  const blockArrays = input.listing.length - EMBEDDING_ARRAYS;
  if (blockArrays % GPT_BLOCK.length !== 0) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `not an OpenAI GPT release: ${blockArrays} arrays after the embeddings, not a multiple of ${GPT_BLOCK.length} per block`,
    );
  }
  const [vocab, embd] = tokens as [number, number];
  const derived = {
    vocab_size: vocab,
    n_positions: positions[0] as number,
    n_embd: embd,
    n_layer: blockArrays / GPT_BLOCK.length,
  };
  const evidence: Record<keyof typeof derived, string> = {
    vocab_size: `params/1 ${shapeText(tokens)}`,
    n_positions: `params/0 ${shapeText(positions)}`,
    n_embd: `params/1 ${shapeText(tokens)}`,
    n_layer: `${blockArrays} arrays after the embeddings`,
  };
  const out: Disagreement[] = [];
  for (const [field, value] of Object.entries(derived) as [keyof typeof derived, number][]) {
    if (field in given && given[field] !== value)
      out.push({ field, config: given[field], checkpoint: value, evidence: evidence[field] });
  }
  refuseDisagreements(
    out,
    source,
    'Pass the config of this checkpoint with --config, or none (the sizes are read off the arrays).',
  );
  const fromShapes = Object.keys(derived).filter((f) => !(f in given));
  if (fromShapes.length > 0)
    input.note?.(
      `gpt: derived from the array shapes: ${fromShapes.map((f) => `${f}=${derived[f as keyof typeof derived]}`).join(', ')}`,
    );
  const config: ModelConfig = {
    ...GPT_DEFAULTS,
    ...given,
    ...derived,
    architectures: ['OpenAIGPTModel'],
    model_type: 'openai-gpt',
  };
  const nHead = config.n_head;
  if (typeof nHead !== 'number' || !Number.isInteger(nHead) || nHead < 1 || derived.n_embd % nHead !== 0) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source}: n_embd ${derived.n_embd} is not a multiple of n_head ${jsonPreview(nHead)}`,
      { file: source },
    );
  }
  const names = input.sidecar('parameters_names.json');
  if (names !== undefined) checkNames(names, derived.n_layer);
  return config;
}

function rules(config: ModelConfig): readonly Rule[] {
  const out: Rule[] = [
    {
      from: 'params/0',
      to: 'positions_embed.weight',
      transforms: SQUEEZE,
      note: "first array: positions (names[0] 'model/we:0')",
    },
    { from: 'params/1', to: 'tokens_embed.weight', transforms: SQUEEZE, note: 'second array: tokens' },
  ];
  for (let n = 0; n < (config.n_layer as number); n++) {
    GPT_BLOCK.forEach(({ tf, key }, k) => {
      out.push({
        from: `params/${EMBEDDING_ARRAYS + n * GPT_BLOCK.length + k}`,
        to: `h.${n}.${key}`,
        transforms: SQUEEZE,
        note: `model/h${n}/${tf}:0`,
      });
    });
  }
  return out;
}

/**
 * OpenAIGPTModel's state dict as the converter saves it (the MLP is 4 × n_embd wide), in state_dict order: its own
 * buffer `position_ids` first, then the embeddings and the blocks with their causal masks.
 */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const E = dim(config, 'n_embd');
  const positions = config.n_positions as number;
  return [
    {
      key: 'position_ids',
      shape: [positions],
      fromConfig: '[n_positions]',
      generate: { kind: 'arange', count: positions },
    },
    tableKey('tokens_embed.weight', dim(config, 'vocab_size'), E),
    tableKey('positions_embed.weight', dim(config, 'n_positions'), E),
    ...withCausalMasks(blockKeys(GPT_BLOCK, config.n_layer as number, E, times(4, E)), positions, 'float32'),
  ];
}

export const gpt: Architecture = {
  modelType: 'gpt',
  summary: 'OpenAI GPT release (params_shapes.json + params_N.npy) → OpenAIGPTModel',
  detect: { formats: ['openai-npy'], sidecars: ['params_shapes.json'], baseClass: 'OpenAIGPTModel' },
  buildConfig,
  rules,
  expectedKeys,
  tokenizerFiles: bpeTokenizerFiles('encoder_bpe_40000.json', 'vocab_40000.bpe'),
  // OpenAIGPTTokenizer always lowercases: no casing to decide
  tokenizer: {
    className: 'OpenAIGPTTokenizer',
    init: { clean_up_tokenization_spaces: true, unk_token: '<unk>' },
    maxLength: 'n_positions',
  },
};
