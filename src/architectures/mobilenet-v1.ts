/**
 * mobilenet_v1: tensorflow/models research/slim/nets/mobilenet_v1.py checkpoints (`MobilenetV1/Conv2d_0/weights`,
 * `Conv2d_{n}_depthwise/depthwise_weights`, `Conv2d_{n}_pointwise/weights`, each with a slim `BatchNorm`, and
 * `Logits/Conv2d_1c_1x1/weights|biases`) → MobileNetV1ForImageClassification, as transformers'
 * mobilenet_v1/convert_original_tf_checkpoint_to_pytorch.py writes it: load_tf_weights_in_mobilenet_v1 takes
 * every variable's own value (never its ExponentialMovingAverage shadow), conv kernels permuted to
 * [out, in, kh, kw], the logits conv squeezed into a linear layer, the BatchNorm statistics as buffers.
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

const MODEL_CLASS = 'MobileNetV1ForImageClassification';
/** get_mobilenet_v1_config's pattern. */
const NAME = /^mobilenet_v1_([^_]*)_([^_]*)$/;
/** The depthwise-separable blocks' strides (MobileNetV1Model; mobilenet_v1.py's _CONV_DEFS). */
const STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1];
const LOGITS = 'MobilenetV1/Logits/Conv2d_1c_1x1/weights';
const STEM = 'MobilenetV1/Conv2d_0/weights';

/** The channels of the stem and of each of the 13 pointwise convs: max(int(depth * multiplier), min_depth). */
function channels(config: ModelConfig): number[] {
  const multiplier = Number(config.depth_multiplier);
  const minDepth = config.min_depth as number;
  const of = (depth: number) => Math.max(Math.trunc(depth * multiplier), minDepth);
  let depth = 32;
  const out = [of(depth)];
  STRIDES.forEach((stride, i) => {
    if (stride === 2 || i === 0) depth *= 2;
    out.push(of(depth));
  });
  return out;
}

function buildConfig(input: ConfigInput): ModelConfig {
  refuseUserConfig(input, 'mobilenet_v1');
  const { name, depthMultiplier, imageSize } = modelName(input, NAME, 'mobilenet_v1_1.0_224');
  // MobileNetV1Config(layer_norm_eps=0.001) and its defaults, then the name's fields
  const config: ModelConfig = {
    classifier_dropout_prob: 0.999,
    depth_multiplier: pyFloat(depthMultiplier),
    hidden_act: 'relu6',
    image_size: imageSize,
    initializer_range: 0.02,
    layer_norm_eps: 0.001,
    min_depth: 8,
    num_channels: 3,
    tf_padding: true,
    ...labelMaps(input, shapeOf(input.listing, LOGITS)?.[3], LOGITS),
    architectures: [MODEL_CLASS],
    model_type: 'mobilenet_v1',
    transformers_version: TRANSFORMERS_VERSION,
  };
  const stem = shapeOf(input.listing, STEM)?.[3];
  const expected = channels(config)[0];
  if (stem !== undefined && stem !== expected)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `--model_name ${name}: depth multiplier ${depthMultiplier} gives ${expected} channels, but ${STEM} has ${stem}: give the checkpoint's own --model_name (mobilenet_v1_<depth multiplier>_<image size>)`,
    );
  return config;
}

function rules(): readonly Rule[] {
  const out: Rule[] = [...convLayerRules('MobilenetV1/Conv2d_0', 'mobilenet_v1.conv_stem', false)];
  for (let i = 0; i < STRIDES.length; i++) {
    out.push(
      ...convLayerRules(`MobilenetV1/Conv2d_${i + 1}_depthwise`, `mobilenet_v1.layer.${2 * i}`, true),
      ...convLayerRules(`MobilenetV1/Conv2d_${i + 1}_pointwise`, `mobilenet_v1.layer.${2 * i + 1}`, false),
    );
  }
  return [...out, ...classifierRules('MobilenetV1')];
}

function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const c = channels(config);
  const keys = convLayerKeys(
    'mobilenet_v1.conv_stem',
    c[0] as number,
    config.num_channels as number,
    3,
    'stem channels',
  );
  STRIDES.forEach((_, i) => {
    const [inC, outC] = [c[i] as number, c[i + 1] as number];
    keys.push(
      ...convLayerKeys(`mobilenet_v1.layer.${2 * i}`, inC, 1, 3, `block ${i} input channels`),
      ...convLayerKeys(`mobilenet_v1.layer.${2 * i + 1}`, outC, inC, 1, `block ${i} output channels`),
    );
  });
  return [...keys, ...classifierKeys(Object.keys(config.id2label as object).length, c[c.length - 1] as number)];
}

export const mobilenetV1: Architecture = {
  modelType: 'mobilenet_v1',
  summary: `tensorflow/models slim MobileNet V1 checkpoints (MobilenetV1/Conv2d_{n}_depthwise/…) → ${MODEL_CLASS}`,
  detect: { names: [`^${STEM}$`], baseClass: MODEL_CLASS },
  options: [MODEL_NAME_OPTION, ID2LABEL_OPTION],
  buildConfig,
  rules,
  expectedKeys,
  extraFiles: (config) => [
    {
      name: 'preprocessor_config.json',
      text: imageProcessorConfig('MobileNetV1ImageProcessor', config.image_size as number),
    },
  ],
};
