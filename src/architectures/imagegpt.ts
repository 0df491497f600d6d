/**
 * imagegpt: openai/image-gpt's checkpoints (src/model.py under the `model` scope: `model/wte`, `model/wpe`,
 * `model/sos`, `model/wtet`, blocks `model/h{n}` with `ln_1/g`, `attn/q_proj|k_proj|v_proj|c_proj` stored
 * `[n_head, head_dim, n_embd]`, `ln_2/g`, `mlp/c_fc/w`, `mlp/c_proj/w`, and `model/ln_f/g`) → transformers
 * `ImageGPTForCausalImageModeling`, as convert_imagegpt_original_tf2_to_pytorch.py (load_tf_weights_in_imagegpt)
 * fills it: q/k/v flattened to `[n_embd, n_embd]`, transposed and fused into `c_attn` (q, k, v), `sos` as the
 * embedding's last row, `wtet` as the untied LM head. The original has no biases (its conv1d and attention
 * are bias-free): the script keeps the biases the model starts with, zeros.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { pythonJsonDumps } from '../io/python-json.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { dim, fixedDim, shapedKey, tableKey, times, vectorKey } from './building-blocks.js';
import {
  checkDimensions,
  configFromFacts,
  countFact,
  refuseUnlikeFacts,
  type ShapeFact,
  shapeFact,
  shapeOf,
  TRANSFORMERS_VERSION,
} from './checkpoint-facts.js';

const MODEL_CLASS = 'ImageGPTForCausalImageModeling';

/** ImageGPTConfig() defaults (transformers configuration_imagegpt.py): 512 color clusters + sos, 32×32 pixels. */
const IMAGEGPT_DEFAULTS: ModelConfig = {
  activation_function: 'quick_gelu',
  attn_pdrop: 0.1,
  embd_pdrop: 0.1,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  n_embd: 512,
  n_head: 8,
  n_inner: null,
  n_layer: 24,
  n_positions: 1024,
  reorder_and_upcast_attn: false,
  resid_pdrop: 0.1,
  scale_attn_by_inverse_layer_idx: false,
  scale_attn_weights: true,
  tie_word_embeddings: false,
  use_cache: true,
  vocab_size: 513,
};

/** The script's `MODELS` table: (n_embd, n_head, n_layer) of iGPT-S, -M and -L. */
const MODEL_SIZES: Readonly<Record<string, readonly [number, number, number]>> = {
  small: [512, 8, 24],
  medium: [1024, 8, 36],
  large: [1536, 16, 48],
};

const HINT = 'Pass --model_size small|medium|large (as the script takes it), or an ImageGPTConfig JSON with --config.';

/** What the shapes show: the head count is the first axis of the q/k/v blocks, the vocabulary wte's rows + sos. */
function facts(input: ConfigInput): ShapeFact[] {
  const l = input.listing;
  const wte = shapeOf(l, 'model/wte');
  const inner = shapeOf(l, 'model/h0/mlp/c_fc/w');
  const out: ShapeFact[] = [
    {
      field: 'vocab_size',
      value: wte === undefined ? undefined : (wte[0] as number) + 1,
      evidence: wte === undefined ? 'model/wte' : `model/wte [${wte.join(', ')}] and model/sos`,
    },
    shapeFact(l, 'n_embd', 'model/wte', 1),
    shapeFact(l, 'n_positions', 'model/wpe', 0),
    shapeFact(l, 'n_head', 'model/h0/attn/q_proj', 0),
    countFact(l, 'n_layer', /^model\/h(\d+)\//, 'model/h{n}/ blocks'),
  ];
  // n_inner null means 4 × n_embd; only another width is a fact about the field
  if (inner?.[1] !== undefined && inner[1] !== 4 * (inner[0] as number))
    out.push(shapeFact(l, 'n_inner', 'model/h0/mlp/c_fc/w', 1));
  return out;
}

/**
 * The BERT objective (`igpt-*-bert`, model.py with hparams.bert) creates no `sos`: the script would leave the
 * embedding's last row random, and ImageGPTForCausalImageModeling models the autoregressive objective only.
 */
function refuseBertObjective(input: ConfigInput): void {
  const names = new Set(input.listing.map((t) => t.name));
  if (names.has('model/wte') && !names.has('model/sos'))
    throw new Tf2TorchError(
      ErrorCode.UNSUPPORTED,
      `${input.checkpointPath ?? 'the checkpoint'}: model/wte without model/sos: an iGPT checkpoint of the BERT objective (igpt-*-bert), which ${MODEL_CLASS} does not model (it predicts the next pixel after sos)`,
    );
}

function buildConfig(input: ConfigInput): ModelConfig {
  refuseBertObjective(input);
  const fixed = { model_type: 'imagegpt', architectures: [MODEL_CLASS], transformers_version: TRANSFORMERS_VERSION };
  const size = input.options?.model_size;
  let config: ModelConfig;
  if (size !== undefined) {
    const sizes = MODEL_SIZES[size];
    if (sizes === undefined)
      throw new Tf2TorchError(
        ErrorCode.USAGE,
        `--model_size '${size}': the script knows ${Object.keys(MODEL_SIZES).join(', ')}`,
      );
    if (input.user !== undefined)
      throw new Tf2TorchError(ErrorCode.USAGE, '--model_size and --config both give the sizes: pass one of them');
    const [n_embd, n_head, n_layer] = sizes;
    config = { ...IMAGEGPT_DEFAULTS, n_embd, n_head, n_layer, ...fixed };
    refuseUnlikeFacts(config, facts(input), `--model_size ${size}`, HINT);
  } else {
    config = configFromFacts(input, {
      defaults: IMAGEGPT_DEFAULTS,
      facts: facts(input),
      assumptions: [],
      fixed,
      hint: HINT,
    });
  }
  const where = input.userPath ?? (size === undefined ? 'the derived config' : `--model_size ${size}`);
  checkDimensions(config, ['vocab_size', 'n_embd', 'n_head', 'n_layer', 'n_positions'], where, {
    width: 'n_embd',
    heads: 'n_head',
  });
  if (config.n_inner !== null && config.n_inner !== undefined) checkDimensions(config, ['n_inner'], where);
  return config;
}

/** The fused attention input projection: q, k, v blocks `[n_head, head_dim, n_embd]` → Conv1D `[n_embd, 3·n_embd]`. */
function attentionRules(config: ModelConfig): Rule[] {
  const E = config.n_embd as number;
  return [
    {
      from: ['model/h{layer}/attn/q_proj', 'model/h{layer}/attn/k_proj', 'model/h{layer}/attn/v_proj'],
      to: 'transformer.h.{layer}.attn.c_attn.weight',
      transforms: [{ op: 'concat', axis: 0 }, { op: 'reshape', shape: [3 * E, E] }, { op: 'transpose' }],
      note: 'q, k, v each [n_head·head_dim, n_embd], transposed side by side (c_attn is [in, 3·out])',
    },
    {
      from: 'model/h{layer}/attn/c_proj',
      to: 'transformer.h.{layer}.attn.c_proj.weight',
      transforms: [{ op: 'reshape', shape: [E, E] }],
      note: '[n_head, head_dim, n_embd] is already [in, out]: no transpose',
    },
  ];
}

function rules(config: ModelConfig): readonly Rule[] {
  return [
    {
      from: ['model/wte', 'model/sos'],
      to: 'transformer.wte.weight',
      transforms: [{ op: 'concat', axis: 0 }],
      note: 'the start-of-sequence vector is the last row',
    },
    { from: 'model/wpe', to: 'transformer.wpe.weight' },
    { from: 'model/h{layer}/ln_1/g', to: 'transformer.h.{layer}.ln_1.weight' },
    ...attentionRules(config),
    { from: 'model/h{layer}/ln_2/g', to: 'transformer.h.{layer}.ln_2.weight' },
    { from: 'model/h{layer}/mlp/c_fc/w', to: 'transformer.h.{layer}.mlp.c_fc.weight' },
    { from: 'model/h{layer}/mlp/c_proj/w', to: 'transformer.h.{layer}.mlp.c_proj.weight' },
    { from: 'model/ln_f/g', to: 'transformer.ln_f.weight' },
    { from: 'model/wtet', to: 'lm_head.weight', note: 'the untied output embedding (no sos row)' },
  ];
}

/** A bias the original never creates; ImageGPT's Conv1D starts it at zeros, which the script keeps. */
const zeroBias = (key: string, size: ReturnType<typeof dim>): ExpectedKey => ({
  ...vectorKey(key, size),
  zerosWhenAbsent: true,
});

function blockKeys(prefix: string, config: ModelConfig): ExpectedKey[] {
  const E = dim(config, 'n_embd');
  const inner = typeof config.n_inner === 'number' ? dim(config, 'n_inner') : times(4, E);
  const p = config.n_positions as number;
  return [
    vectorKey(`${prefix}.ln_1.weight`, E),
    // persistent buffers up to transformers 4.29 (state_dict order: the attention module's own, before its layers)
    { key: `${prefix}.attn.bias`, shape: [1, 1, p, p], dtype: 'bool', generate: { kind: 'causal-mask', size: p } },
    { key: `${prefix}.attn.masked_bias`, shape: [], generate: { kind: 'fill', value: -1e4 } },
    shapedKey(`${prefix}.attn.c_attn.weight`, [E, times(3, E)]),
    zeroBias(`${prefix}.attn.c_attn.bias`, times(3, E)),
    shapedKey(`${prefix}.attn.c_proj.weight`, [E, E]),
    zeroBias(`${prefix}.attn.c_proj.bias`, E),
    vectorKey(`${prefix}.ln_2.weight`, E),
    shapedKey(`${prefix}.mlp.c_fc.weight`, [E, inner]),
    zeroBias(`${prefix}.mlp.c_fc.bias`, inner),
    shapedKey(`${prefix}.mlp.c_proj.weight`, [inner, E]),
    zeroBias(`${prefix}.mlp.c_proj.bias`, E),
  ];
}

/** ImageGPTForCausalImageModeling's state dict, in state_dict order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const E = dim(config, 'n_embd');
  const V = dim(config, 'vocab_size');
  const layers = config.n_layer as number;
  return [
    tableKey('transformer.wte.weight', V, E),
    tableKey('transformer.wpe.weight', dim(config, 'n_positions'), E),
    ...Array.from({ length: layers }, (_, n) => blockKeys(`transformer.h.${n}`, config)).flat(),
    vectorKey('transformer.ln_f.weight', E),
    // nn.Linear(n_embd, vocab_size - 1): no logit for sos
    shapedKey('lm_head.weight', [fixedDim((V.size as number) - 1), E]),
  ];
}

/**
 * preprocessor_config.json as ImageGPTImageProcessor.save_pretrained writes it for this model's square image
 * (n_positions pixels). The 512 color clusters (image-gpt's kmeans_centers.npy) are not in the checkpoint:
 * `clusters` is null, and the user adds them (README).
 */
function extraFiles(config: ModelConfig): readonly { readonly name: string; readonly text: string }[] {
  const side = Math.round(Math.sqrt(config.n_positions as number));
  if (side * side !== config.n_positions) return [];
  const processor = {
    clusters: null,
    do_color_quantize: true,
    do_normalize: true,
    do_resize: true,
    image_processor_type: 'ImageGPTImageProcessor',
    resample: 2,
    size: { height: side, width: side },
  };
  return [{ name: 'preprocessor_config.json', text: `${pythonJsonDumps(processor, 2, true)}\n` }];
}

export const imagegpt: Architecture = {
  modelType: 'imagegpt',
  summary: `openai/image-gpt checkpoints (model/h{n}/attn/q_proj …) → ${MODEL_CLASS}`,
  detect: { names: ['^model/h\\d+/attn/q_proj$', '^model/wtet$'], baseClass: MODEL_CLASS },
  options: [
    {
      name: 'model_size',
      value: 'small|medium|large',
      help: "iGPT-S, -M or -L sizes, as transformers' script takes them (default: read from the shapes)",
    },
  ],
  buildConfig,
  skip: [
    {
      pattern: '^model/clf/',
      reason: `the classification head (run.py's Saver leaves it out): ${MODEL_CLASS} has none`,
    },
  ],
  rules,
  expectedKeys,
  extraFiles,
};
