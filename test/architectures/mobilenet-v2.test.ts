/**
 * MobileNet V2: a training checkpoint with the names tensorflow/models research/slim/nets/mobilenet/mobilenet_v2.py
 * creates through mobilenet.py and conv_blocks.py (V2_DEF: `MobilenetV2/Conv`, `expanded_conv` without an
 * expansion (expand_input(1)), `expanded_conv_{n}/{expand,depthwise,project}`, `Conv_1`, each with batch_norm;
 * `Logits/Conv2d_1c_1x1` with biases), widths from mobilenet.py's `_make_divisible` and conv_blocks.py's
 * `expand_input_by_factor(6)`, finegrain_classification_mode keeping 1280 channels, and the state
 * research/slim/train_image_classifier.py leaves (RMSProp slots, ExponentialMovingAverage shadows of every model
 * variable, global_step; test/support/slim-checkpoint.ts). Expected as transformers' load_tf_weights_in_mobilenet_v2
 * loads it into MobileNetV2ForImageClassification: the shadows of weights, biases, gamma and beta where present (the
 * raw values where not), the BatchNorm statistics' raw values; config.json and the image processor as its
 * convert_original_tf_checkpoint_to_pytorch.py saves them (computed by the real transformers).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { scriptOutputs, withoutVersion, writeTensorsForPython } from '../support/mobilenet-scripts.js';
import { assertExactly } from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { type RawTensor, readTfTensors } from '../support/reference-transforms.js';
import {
  permute,
  type SlimVariable,
  slimConvLayer,
  squeezed,
  writeSlimCheckpoint,
  ZERO_COUNTER,
} from '../support/slim-checkpoint.js';
import { loadAllWithTorch } from '../support/torch-load.js';
import { transformersPython } from '../support/transformers.js';
import { loadInTransformers } from '../support/transformers-load.js';

const NAME = 'mobilenet_v2_0.35_96';
const MULTIPLIER = 0.35;
const SHIPPED_LABELS = fileURLToPath(new URL('../../src/architectures/imagenet-labels.json', import.meta.url));

/** slim mobilenet.py's _make_divisible. */
function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let out = Math.max(minValue, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}
/** V2_DEF's num_outputs through mobilenet.py's depth_multiplier op. */
const thin = (d: number) => makeDivisible(d * MULTIPLIER);
const PROJECTIONS = [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320].map(thin);
const STEM = thin(32);
/** finegrain_classification_mode: num_outputs 1280 / multiplier, then thinned back. */
const LAST = thin(1280 / MULTIPLIER);

function variables(classes: number): SlimVariable[] {
  const out = [
    ...slimConvLayer('MobilenetV2/Conv', 3, 3, STEM),
    ...slimConvLayer('MobilenetV2/expanded_conv/depthwise', 3, STEM, STEM, true),
    ...slimConvLayer('MobilenetV2/expanded_conv/project', 1, STEM, PROJECTIONS[0] as number),
  ];
  for (let n = 1; n < PROJECTIONS.length; n++) {
    const [inC, outC] = [PROJECTIONS[n - 1] as number, PROJECTIONS[n] as number];
    const inner = makeDivisible(inC * 6); // expand_input_by_factor(6)
    out.push(
      ...slimConvLayer(`MobilenetV2/expanded_conv_${n}/expand`, 1, inC, inner),
      ...slimConvLayer(`MobilenetV2/expanded_conv_${n}/depthwise`, 3, inner, inner, true),
      ...slimConvLayer(`MobilenetV2/expanded_conv_${n}/project`, 1, inner, outC),
    );
  }
  out.push(
    ...slimConvLayer('MobilenetV2/Conv_1', 1, PROJECTIONS[PROJECTIONS.length - 1] as number, LAST),
    { name: 'MobilenetV2/Logits/Conv2d_1c_1x1/weights', shape: [1, 1, LAST, classes], trainable: true },
    { name: 'MobilenetV2/Logits/Conv2d_1c_1x1/biases', shape: [classes], trainable: true },
  );
  return out;
}

/** The state dict load_tf_weights_in_mobilenet_v2 gives: `ema(x)` for weights, biases, gamma, beta; raw statistics. */
function expectedStateDict(tf: ReadonlyMap<string, RawTensor>): Map<string, RawTensor> {
  const get = (name: string) => {
    const t = tf.get(name);
    assert.ok(t, `${name} missing from the test checkpoint`);
    return t;
  };
  const ema = (name: string) =>
    get(tf.has(`${name}/ExponentialMovingAverage`) ? `${name}/ExponentialMovingAverage` : name);
  const out = new Map<string, RawTensor>();
  const layer = (scope: string, pt: string, depthwise: boolean) => {
    const kernel = ema(`${scope}/${depthwise ? 'depthwise_weights' : 'weights'}`);
    out.set(`${pt}.convolution.weight`, permute(kernel, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]));
    out.set(`${pt}.normalization.weight`, ema(`${scope}/BatchNorm/gamma`));
    out.set(`${pt}.normalization.bias`, ema(`${scope}/BatchNorm/beta`));
    out.set(`${pt}.normalization.running_mean`, get(`${scope}/BatchNorm/moving_mean`));
    out.set(`${pt}.normalization.running_var`, get(`${scope}/BatchNorm/moving_variance`));
    out.set(`${pt}.normalization.num_batches_tracked`, ZERO_COUNTER);
  };
  layer('MobilenetV2/Conv', 'mobilenet_v2.conv_stem.first_conv', false);
  layer('MobilenetV2/expanded_conv/depthwise', 'mobilenet_v2.conv_stem.conv_3x3', true);
  layer('MobilenetV2/expanded_conv/project', 'mobilenet_v2.conv_stem.reduce_1x1', false);
  for (let n = 1; n < PROJECTIONS.length; n++) {
    layer(`MobilenetV2/expanded_conv_${n}/expand`, `mobilenet_v2.layer.${n - 1}.expand_1x1`, false);
    layer(`MobilenetV2/expanded_conv_${n}/depthwise`, `mobilenet_v2.layer.${n - 1}.conv_3x3`, true);
    layer(`MobilenetV2/expanded_conv_${n}/project`, `mobilenet_v2.layer.${n - 1}.reduce_1x1`, false);
  }
  layer('MobilenetV2/Conv_1', 'mobilenet_v2.conv_1x1', false);
  out.set('classifier.weight', permute(squeezed(ema('MobilenetV2/Logits/Conv2d_1c_1x1/weights')), [1, 0]));
  out.set('classifier.bias', ema('MobilenetV2/Logits/Conv2d_1c_1x1/biases'));
  return out;
}

let tmp: string;
let prefix: string;
let withoutShadows: string;
let labels: string;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-mobilenet-v2-'));
  prefix = join(tmp, `${NAME}.ckpt`);
  await writeSlimCheckpoint(prefix, variables(1001), { seed: 51 });
  // trained without --moving_average_decay, a head of two classes and background
  mkdirSync(join(tmp, 'flowers'));
  withoutShadows = join(tmp, 'flowers', 'model.ckpt-200');
  await writeSlimCheckpoint(withoutShadows, variables(3), { seed: 52, movingAverages: false });
  labels = join(tmp, 'flowers-id2label.json');
  writeFileSync(labels, JSON.stringify({ 0: 'daisy', 1: 'rose' }));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('mobilenet_v2: detected, and the dry-run plan (shadows converted, weights superseded) is the golden one', () => {
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /mobilenet_v2 .*detected from .*MobilenetV2\/Conv\/weights/);
  checkGolden('mobilenet-v2-slim-rmsprop-ema.plan.txt', r.stdout);
  const help = runCli(['convert', '--help']).stdout;
  assert.match(help, /mobilenet_v2 +tensorflow\/models slim MobileNet V2 .*MobileNetV2ForImageClassification/);
  assert.match(help, /--model_name NAME +mobilenet_v1, mobilenet_v2/);
});

test('mobilenet_v2: converts through the CLI; PyTorch loads the exact values (moving averages where present); transformers the class, config and image processor', async (t) => {
  const out = join(tmp, 'hf');
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out, '--format', 'both']);
  assert.equal(r.code, 0, r.stderr);
  // the model card counts the superseded variables as one kind
  assert.match(
    readFileSync(join(out, 'README.md'), 'utf8'),
    /^- 158 × superseded: its shadow \(…\/ExponentialMovingAverage\) is converted instead$/m,
  );
  const plain = join(tmp, 'flowers-hf');
  const p = runCli([
    'convert',
    '--tf_checkpoint',
    withoutShadows,
    '--model_name',
    NAME,
    '--id2label',
    labels,
    '--pytorch_dump_output',
    plain,
    '--format',
    'pytorch',
  ]);
  assert.equal(p.code, 0, p.stderr);
  const [tf, tfPlain] = [await readTfTensors(prefix), await readTfTensors(withoutShadows)];
  const python = torchPython(t);
  if (python) {
    const [loaded, loadedPlain] = loadAllWithTorch(python, [
      join(out, 'pytorch_model.bin'),
      join(plain, 'pytorch_model.bin'),
    ]);
    assertExactly(loaded!, expectedStateDict(tf));
    assertExactly(loadedPlain!, expectedStateDict(tfPlain));
  }
  const client = transformersPython(t);
  if (!client) return;
  for (const report of loadInTransformers(client, out)) {
    assert.equal(report.modelClass, 'MobileNetV2ForImageClassification');
    assert.deepEqual(
      [report.missing, report.unexpected, report.mismatched, report.differing],
      [[], [], [], []],
      report.format,
    );
    assert.deepEqual(report.warnings, [], report.format);
  }
  const [tensors, tensorsPlain] = [join(tmp, 'tensors.bin'), join(tmp, 'tensors-plain.bin')];
  writeTensorsForPython(tensors, tf);
  writeTensorsForPython(tensorsPlain, tfPlain);
  const script = scriptOutputs(client, 'v2', NAME, SHIPPED_LABELS, tmp, out, tensors);
  assert.deepEqual(script.differing, [], "keys that differ from the script's load_tf_weights_in_mobilenet_v2");
  assert.equal(withoutVersion(readFileSync(join(out, 'config.json'), 'utf8')), withoutVersion(script.config));
  assert.equal(readFileSync(join(out, 'preprocessor_config.json'), 'utf8'), script.processor);
  assert.equal(script.loadedProcessor, 'MobileNetV2ImageProcessor');
  assert.deepEqual([script.loadedCrop, script.loadedSize], [{ height: 96, width: 96 }, { shortest_edge: 128 }]);
  const few = scriptOutputs(client, 'v2', NAME, labels, tmp, plain, tensorsPlain);
  assert.deepEqual(few.differing, [], "keys that differ from the script's loader, without shadows");
  assert.equal(withoutVersion(readFileSync(join(plain, 'config.json'), 'utf8')), withoutVersion(few.config));
});

test('mobilenet_v2: DeepLabV3 names, quantized names and a depth multiplier the shapes contradict are refused', () => {
  const deeplab = runCli([
    'convert',
    '--tf_checkpoint',
    prefix,
    '--model_name',
    'deeplabv3_mobilenet_v2_1.0_513',
    '--dry-run',
  ]);
  assert.notEqual(deeplab.code, 0);
  assert.match(deeplab.stderr, /DeepLabV3 \(MobileNetV2ForSemanticSegmentation\) is not converted/);
  const wrong = runCli(['convert', '--tf_checkpoint', prefix, '--model_name', 'mobilenet_v2_1.4_224', '--dry-run']);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /depth multiplier 1\.4 gives 48 channels, but MobilenetV2\/Conv\/weights has 16/);
  const notNumber = runCli(['convert', '--tf_checkpoint', prefix, '--model_name', 'mobilenet_v2_x_224', '--dry-run']);
  assert.match(notNumber.stderr, /the depth multiplier 'x' is not a number greater than zero/);
});
