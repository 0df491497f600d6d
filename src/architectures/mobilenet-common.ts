/**
 * What mobilenet_v1 and mobilenet_v2 share, as transformers' two convert_original_tf_checkpoint_to_pytorch.py
 * scripts do it: `--model_name` (`mobilenet_v2_1.0_224`) → depth multiplier and image size; the labels
 * (a Hugging Face `{index: name}` file, ImageNet's by default) shifted by one behind a "background" class;
 * the image processor config the scripts save; the slim conv layers' kernels and BatchNorm variables.
 *
 * The ImageNet names shipped (imagenet-labels.json) are the 1,000 ILSVRC-2012 classes in class-index order
 * (sorted WordNet ids, as tensorflow/models' imagenet_lsvrc_2015_synsets.txt lists them), from the widely
 * copied imagenet1000_clsidx_to_labels.txt (Caffe's synset_words.txt names; e.g. github.com/ayberkydn/stadv-torch
 * at 8a18673), which Hugging Face's `huggingface/label-files` imagenet-1k-id2label.json holds as JSON.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { parseJsonObject } from '../io/json.js';
import { PyFloat } from '../io/py-float.js';
import { pythonJsonDumps } from '../io/python-json.js';
import type { ArchitectureOption, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';
import IMAGENET_LABELS from './imagenet-labels.json' with { type: 'json' };

/** Label files are small; more classes than this is not a label file. */
const MAX_LABELS = 100_000;
/** Image sizes a model name may give. */
const MAX_IMAGE_SIZE = 65_536;

/** TF conv kernel [kh, kw, in, out] → torch [out, in, kh, kw] (the scripts' `np.transpose(array, (3, 2, 0, 1))`). */
export const CONV_KERNEL = [{ op: 'transpose', axes: [3, 2, 0, 1] }] as const;
/** TF depthwise kernel [kh, kw, in, 1] → torch [in, 1, kh, kw] (`np.transpose(array, (2, 3, 0, 1))`). */
export const DEPTHWISE_KERNEL = [{ op: 'transpose', axes: [2, 3, 0, 1] }] as const;
/** The 1×1 logits conv [1, 1, in, classes] → nn.Linear [classes, in] (`array.squeeze().transpose()`). */
export const LOGITS_KERNEL = [{ op: 'squeeze' }, { op: 'transpose' }] as const;

export const MODEL_NAME_OPTION: ArchitectureOption = {
  name: 'model_name',
  value: 'NAME',
  help: "the release's name, <depth multiplier>_<image size> as transformers' script parses it (default: the checkpoint file's name, else the script's default)",
};
export const ID2LABEL_OPTION: ArchitectureOption = {
  name: 'id2label',
  value: 'FILE',
  help: 'the class names, a JSON {index: name} file as huggingface/label-files holds them (default: ImageNet-1k, shipped); a "background" class is put first',
};

export interface MobileNetName {
  readonly depthMultiplier: number;
  readonly imageSize: number;
}

/**
 * `--model_name` as the script reads it: `pattern` (the script's regular expression) gives the depth
 * multiplier (Python's float) and the image size (int); a name it does not match keeps the config's
 * defaults, as the script does. A name with `quant` is refused, as the script refuses it. Without the flag,
 * the checkpoint's own name (`mobilenet_v1_0.25_128.ckpt`) when it matches, else the script's default.
 */
export function modelName(
  input: ConfigInput,
  pattern: RegExp,
  scriptDefault: string,
): MobileNetName & { name: string } {
  const given = input.options?.model_name;
  const fileName = (input.checkpointPath ?? '')
    .split(/[\\/]/)
    .pop()
    ?.replace(/\.ckpt$/, '');
  const fromFile = given === undefined && fileName !== undefined && pattern.test(fileName) ? fileName : undefined;
  const name = given ?? fromFile ?? scriptDefault;
  if (given === undefined)
    input.note?.(
      `--model_name ${name} (${fromFile !== undefined ? "the checkpoint's file name" : "transformers' script's default"}; --model_name to give another)`,
    );
  if (name.includes('quant'))
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      `--model_name ${name}: quantized models are not supported (as in transformers' script)`,
    );
  const m = pattern.exec(name);
  if (m === null) {
    input.note?.(
      `--model_name ${name} is not <name>_<depth multiplier>_<image size>: depth multiplier 1.0 and image size 224, as transformers' script keeps them`,
    );
    return { name, depthMultiplier: 1, imageSize: 224 };
  }
  const [depth, size] = [m[1] as string, m[2] as string];
  const depthMultiplier = /^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(depth) ? Number(depth) : Number.NaN;
  if (!(depthMultiplier > 0) || !Number.isFinite(depthMultiplier))
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      `--model_name ${name}: the depth multiplier '${depth}' is not a number greater than zero`,
    );
  const imageSize = /^\+?\d{1,9}$/.test(size) ? Number(size) : Number.NaN;
  if (!(imageSize > 0 && imageSize <= MAX_IMAGE_SIZE))
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      `--model_name ${name}: the image size '${size}' is not a whole number from 1 to ${MAX_IMAGE_SIZE}`,
    );
  return { name, depthMultiplier, imageSize };
}

/** The depth multiplier as config.json has it: a Python float (`1.0`, not `1`). */
export const pyFloat = (x: number): PyFloat => new PyFloat(x);

/**
 * id2label and label2id as the scripts build them: the file's `{index: name}` shifted by one, "background"
 * at 0, and `{name: index}` by a dict comprehension (a name given twice keeps its last index: ImageNet's
 * two "crane" classes map to 518). The class count is checked against the checkpoint's logits.
 */
export function labelMaps(input: ConfigInput, classes: number | undefined, logits: string): ModelConfig {
  const path = input.options?.id2label;
  if (path !== undefined && input.readFile === undefined)
    throw new Tf2TorchError(ErrorCode.USAGE, `--id2label ${path}: this caller reads no files`);
  const file: Record<string, unknown> =
    path === undefined ? IMAGENET_LABELS : parseJsonObject(input.readFile!(path, 'label file'), path, ErrorCode.CONFIG);
  const where = path ?? 'the shipped ImageNet labels';
  const entries = Object.entries(file);
  if (entries.length > MAX_LABELS)
    throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: ${entries.length} labels (limit ${MAX_LABELS})`, {
      file: where,
    });
  const names: string[] = [];
  for (const [key, name] of entries) {
    const index = /^\d{1,9}$/.test(key) ? Number(key) : Number.NaN;
    if (!(index < entries.length) || names[index] !== undefined)
      throw new Tf2TorchError(
        ErrorCode.CONFIG,
        `${where}: key '${key}': the keys must be the class indices 0 to ${entries.length - 1}, each once`,
        { file: where },
      );
    if (typeof name !== 'string')
      throw new Tf2TorchError(ErrorCode.CONFIG, `${where}: the name of class ${key} is not a string`, { file: where });
    names[index] = name;
  }
  if (classes !== undefined && classes !== names.length + 1)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${logits} has ${classes} classes, but ${where} gives ${names.length} names and "background" ${names.length + 1}: pass the checkpoint's labels with --id2label FILE`,
      { file: where },
    );
  const id2label: Record<string, string> = Object.create(null);
  id2label['0'] = 'background';
  names.forEach((name, i) => {
    id2label[String(i + 1)] = name;
  });
  const label2id: Record<string, number> = Object.create(null);
  // the script's insertion order: 1 … n, then 0
  for (let i = 1; i <= names.length; i++) label2id[names[i - 1] as string] = i;
  label2id.background = 0;
  return { id2label, label2id };
}

/**
 * preprocessor_config.json as the script's image processor saves it (`crop_size` the image size, `size`
 * its shortest edge 32 more; the rest MobileNetV{1,2}ImageProcessor's defaults: bilinear resampling,
 * rescale by 1/255, normalize with mean and std 0.5).
 */
export function imageProcessorConfig(className: string, imageSize: number): string {
  const config = {
    crop_size: { height: imageSize, width: imageSize },
    do_center_crop: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: className,
    image_std: [0.5, 0.5, 0.5],
    resample: 2, // PIL.Image.Resampling.BILINEAR
    rescale_factor: 1 / 255,
    size: { shortest_edge: imageSize + 32 },
  };
  return `${pythonJsonDumps(config, 2, true)}\n`;
}

/** A slim BatchNorm (`{tf}/BatchNorm/gamma|beta|moving_mean|moving_variance`) → nn.BatchNorm2d. */
export const batchNormRules = (tf: string, pt: string, shadow?: string): Rule[] => [
  { from: `${tf}/BatchNorm/gamma`, to: `${pt}.weight`, ...(shadow ? { preferShadow: shadow } : {}) },
  { from: `${tf}/BatchNorm/beta`, to: `${pt}.bias`, ...(shadow ? { preferShadow: shadow } : {}) },
  { from: `${tf}/BatchNorm/moving_mean`, to: `${pt}.running_mean` },
  { from: `${tf}/BatchNorm/moving_variance`, to: `${pt}.running_var` },
];

/** A slim conv layer with its BatchNorm (transformers' MobileNetV{1,2}ConvLayer: `convolution`, `normalization`). */
export function convLayerRules(tf: string, pt: string, depthwise: boolean, shadow?: string): Rule[] {
  return [
    {
      from: `${tf}/${depthwise ? 'depthwise_weights' : 'weights'}`,
      to: `${pt}.convolution.weight`,
      transforms: depthwise ? DEPTHWISE_KERNEL : CONV_KERNEL,
      ...(shadow ? { preferShadow: shadow } : {}),
    },
    ...batchNormRules(tf, `${pt}.normalization`, shadow),
  ];
}

/** The keys of a MobileNetV{1,2}ConvLayer: a bias-free conv [out, in / groups, k, k] and its BatchNorm2d. */
export function convLayerKeys(pt: string, out: number, inPerGroup: number, kernel: number, why: string): ExpectedKey[] {
  const vector = (key: string): ExpectedKey => ({ key, shape: [out], fromConfig: `[${why}]` });
  return [
    {
      key: `${pt}.convolution.weight`,
      shape: [out, inPerGroup, kernel, kernel],
      fromConfig: `[${why}, …] (depth_multiplier)`,
    },
    vector(`${pt}.normalization.weight`),
    vector(`${pt}.normalization.bias`),
    vector(`${pt}.normalization.running_mean`),
    vector(`${pt}.normalization.running_var`),
    // a buffer TF has no counterpart of: 0, as the scripts' freshly built model holds it
    { key: `${pt}.normalization.num_batches_tracked`, shape: [], generate: { kind: 'fill', value: 0 }, dtype: 'int64' },
  ];
}

/** The classifier nn.Linear(hidden, classes) from the logits conv (`{scope}/Logits/Conv2d_1c_1x1`). */
export const classifierRules = (scope: string, shadow?: string): Rule[] => [
  {
    from: `${scope}/Logits/Conv2d_1c_1x1/weights`,
    to: 'classifier.weight',
    transforms: LOGITS_KERNEL,
    ...(shadow ? { preferShadow: shadow } : {}),
  },
  { from: `${scope}/Logits/Conv2d_1c_1x1/biases`, to: 'classifier.bias', ...(shadow ? { preferShadow: shadow } : {}) },
];

export const classifierKeys = (classes: number, hidden: number): ExpectedKey[] => [
  { key: 'classifier.weight', shape: [classes, hidden], fromConfig: '[len(id2label), last channels]' },
  { key: 'classifier.bias', shape: [classes], fromConfig: '[len(id2label)]' },
];

/** Refuses --config: these types' configs come from --model_name and --id2label, as the scripts' do. */
export function refuseUserConfig(input: ConfigInput, type: string): void {
  if (input.user !== undefined)
    throw new Tf2TorchError(
      ErrorCode.USAGE,
      `${input.userPath ?? '--config'}: ${type} takes no config file: --model_name sets the depth multiplier and image size, --id2label the class names (as transformers' script)`,
    );
}
