/**
 * mobilenet_v2: tensorflow/models research/slim/nets/mobilenet/mobilenet_v2.py checkpoints (V2_DEF through
 * mobilenet.py and conv_blocks.py's expanded_conv: `MobilenetV2/Conv`, `expanded_conv/{depthwise,project}`,
 * `expanded_conv_{n}/{expand,depthwise,project}`, `Conv_1`, each with a slim `BatchNorm`, and
 * `Logits/Conv2d_1c_1x1`) → MobileNetV2ForImageClassification, as transformers'
 * mobilenet_v2/convert_original_tf_checkpoint_to_pytorch.py writes it: load_tf_weights_in_mobilenet_v2 takes the
 * ExponentialMovingAverage shadow of the weights, biases, `gamma` and `beta` where the checkpoint has one, and the
 * BatchNorm statistics' own values; kernels permuted as for V1.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import { shapeOf, TRANSFORMERS_VERSION } from './checkpoint-facts.js';
import {
  classifierKeys,
  classifierRules,
  convLayerKeys,
  convLayerRules,
  ID2LABEL_OPTION,
  imageProcessorConfig,
  labelMaps,
  MODEL_NAME_OPTION,
  modelName,
  pyFloat,
  refuseUserConfig,
} from './mobilenet-common.js';

const MODEL_CLASS = 'MobileNetV2ForImageClassification';
/** get_mobilenet_v2_config's pattern. */
const NAME = /^.*mobilenet_v2_([^_]*)_([^_]*)$/;
/** The projections' channels before the multiplier (MobileNetV2Model; mobilenet_v2.py's V2_DEF). */
const CHANNELS = [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320];
/** The inverted residual blocks after the stem's (`expanded_conv_1` … `expanded_conv_16` → `layer.0` … `layer.15`). */
const BLOCKS = CHANNELS.length - 1;
const SHADOW = '/ExponentialMovingAverage';
const LOGITS = 'MobilenetV2/Logits/Conv2d_1c_1x1/weights';
const STEM = 'MobilenetV2/Conv/weights';

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** make_divisible (modeling_mobilenet_v2.py, after slim's mobilenet.py). */
function makeDivisible(value: number, divisor: number, minValue: number): number {
  let out = Math.max(minValue, Math.floor(Math.trunc(value + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * value) out += divisor;
  return out;
}

interface Widths {
  readonly stem: number;
  readonly channels: readonly number[];
  readonly expanded: readonly number[];
  readonly last: number;
}

/** The widths MobileNetV2Model builds from the config. */
function widths(config: ModelConfig): Widths {
  const multiplier = Number(config.depth_multiplier);
  const [divisor, minDepth] = [config.depth_divisible_by as number, config.min_depth as number];
  const apply = (c: number) => makeDivisible(roundHalfEven(c * multiplier), divisor, minDepth);
  const channels = CHANNELS.map(apply);
  const expanded = channels
    .slice(0, BLOCKS)
    .map((c) => makeDivisible(roundHalfEven(c * (config.expand_ratio as number)), divisor, minDepth));
  const last = config.finegrained_output === true && multiplier < 1 ? 1280 : apply(1280);
  return { stem: apply(32), channels, expanded, last };
}

function buildConfig(input: ConfigInput): ModelConfig {
  refuseUserConfig(input, 'mobilenet_v2');
  const { name, depthMultiplier, imageSize } = modelName(input, NAME, 'mobilenet_v2_1.0_224');
  if (name.startsWith('deeplabv3_'))
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      `--model_name ${name}: DeepLabV3 (MobileNetV2ForSemanticSegmentation) is not converted; mobilenet_v2 converts the classification models`,
    );
  // MobileNetV2Config(layer_norm_eps=0.001) and its defaults, then the name's fields
  const config: ModelConfig = {
    classifier_dropout_prob: 0.8,
    depth_divisible_by: 8,
    depth_multiplier: pyFloat(depthMultiplier),
    expand_ratio: 6,
    finegrained_output: true,
    first_layer_is_expansion: true,
    hidden_act: 'relu6',
    image_size: imageSize,
    initializer_range: 0.02,
    layer_norm_eps: 0.001,
    min_depth: 8,
    num_channels: 3,
    output_stride: 32,
    semantic_loss_ignore_index: 255,
    tf_padding: true,
    ...labelMaps(input, shapeOf(input.listing, LOGITS)?.[3], LOGITS),
    architectures: [MODEL_CLASS],
    model_type: 'mobilenet_v2',
    transformers_version: TRANSFORMERS_VERSION,
  };
  const stem = shapeOf(input.listing, STEM)?.[3];
  const expected = widths(config).stem;
  if (stem !== undefined && stem !== expected)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `--model_name ${name}: depth multiplier ${depthMultiplier} gives ${expected} channels, but ${STEM} has ${stem}: give the checkpoint's own --model_name (mobilenet_v2_<depth multiplier>_<image size>)`,
    );
  return config;
}

function rules(): readonly Rule[] {
  const out: Rule[] = [
    ...convLayerRules('MobilenetV2/Conv', 'mobilenet_v2.conv_stem.first_conv', false, SHADOW),
    ...convLayerRules('MobilenetV2/expanded_conv/depthwise', 'mobilenet_v2.conv_stem.conv_3x3', true, SHADOW),
    ...convLayerRules('MobilenetV2/expanded_conv/project', 'mobilenet_v2.conv_stem.reduce_1x1', false, SHADOW),
  ];
  for (let i = 0; i < BLOCKS; i++) {
    const [tf, pt] = [`MobilenetV2/expanded_conv_${i + 1}`, `mobilenet_v2.layer.${i}`];
    out.push(
      ...convLayerRules(`${tf}/expand`, `${pt}.expand_1x1`, false, SHADOW),
      ...convLayerRules(`${tf}/depthwise`, `${pt}.conv_3x3`, true, SHADOW),
      ...convLayerRules(`${tf}/project`, `${pt}.reduce_1x1`, false, SHADOW),
    );
  }
  return [
    ...out,
    ...convLayerRules('MobilenetV2/Conv_1', 'mobilenet_v2.conv_1x1', false, SHADOW),
    ...classifierRules('MobilenetV2', SHADOW),
  ];
}

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const { stem, channels, expanded, last } = widths(config);
  const c = (i: number) => channels[i] as number;
  const e = (i: number) => expanded[i] as number;
  const keys = [
    ...convLayerKeys('mobilenet_v2.conv_stem.first_conv', stem, config.num_channels as number, 3, 'stem channels'),
    ...convLayerKeys('mobilenet_v2.conv_stem.conv_3x3', stem, 1, 3, 'stem channels'),
    ...convLayerKeys('mobilenet_v2.conv_stem.reduce_1x1', c(0), stem, 1, 'block 0 output channels'),
  ];
  for (let i = 0; i < BLOCKS; i++) {
    const pt = `mobilenet_v2.layer.${i}`;
    keys.push(
      ...convLayerKeys(`${pt}.expand_1x1`, e(i), c(i), 1, `block ${i} expanded channels`),
      ...convLayerKeys(`${pt}.conv_3x3`, e(i), 1, 3, `block ${i} expanded channels`),
      ...convLayerKeys(`${pt}.reduce_1x1`, c(i + 1), e(i), 1, `block ${i} output channels`),
    );
  }
  keys.push(...convLayerKeys('mobilenet_v2.conv_1x1', last, c(BLOCKS), 1, 'last channels'));
  return [...keys, ...classifierKeys(Object.keys(config.id2label as object).length, last)];
}

export const mobilenetV2: Architecture = {
  modelType: 'mobilenet_v2',
  summary: `tensorflow/models slim MobileNet V2 checkpoints (MobilenetV2/expanded_conv_{n}/…) → ${MODEL_CLASS} (weights from their moving averages where present)`,
  detect: { names: [`^${STEM}$`], baseClass: MODEL_CLASS },
  options: [MODEL_NAME_OPTION, ID2LABEL_OPTION],
  buildConfig,
  rules,
  expectedKeys,
  extraFiles: (config) => [
    {
      name: 'preprocessor_config.json',
      text: imageProcessorConfig('MobileNetV2ImageProcessor', config.image_size as number),
    },
  ],
};
