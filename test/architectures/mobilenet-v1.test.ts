/**
 * MobileNet V1: a training checkpoint with the names tensorflow/models research/slim/nets/mobilenet_v1.py
 * creates (`MobilenetV1/Conv2d_0` conv2d, `Conv2d_{n}_depthwise` separable_conv2d without pointwise filters,
 * `Conv2d_{n}_pointwise` 1×1 conv2d, each with batch_norm; `Logits/Conv2d_1c_1x1` with biases) and the state
 * research/slim/train_image_classifier.py leaves (RMSProp slots, ExponentialMovingAverage shadows, global_step;
 * test/support/slim-checkpoint.ts). Expected as transformers' load_tf_weights_in_mobilenet_v1 loads it (every
 * variable's own value, the shadows unused) into MobileNetV1ForImageClassification, and config.json and the image
 * processor as its convert_original_tf_checkpoint_to_pytorch.py saves them (computed by the real transformers).
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
import { loadWithTorch } from '../support/torch-load.js';
import { transformersPython } from '../support/transformers.js';
import { loadInTransformers } from '../support/transformers-load.js';

const NAME = 'mobilenet_v1_0.25_128';
/** mobilenet_v1.py's _CONV_DEFS depths, thinned as its `depth` lambda does: max(int(d * 0.25), 8). */
const DEPTHS = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024].map((d) =>
  Math.max(Math.floor(d * 0.25), 8),
);
const SHIPPED_LABELS = fileURLToPath(new URL('../../src/architectures/imagenet-labels.json', import.meta.url));

function variables(classes: number): SlimVariable[] {
  const out = slimConvLayer('MobilenetV1/Conv2d_0', 3, 3, DEPTHS[0] as number);
  for (let i = 1; i < DEPTHS.length; i++) {
    const [inC, outC] = [DEPTHS[i - 1] as number, DEPTHS[i] as number];
    out.push(
      ...slimConvLayer(`MobilenetV1/Conv2d_${i}_depthwise`, 3, inC, inC, true),
      ...slimConvLayer(`MobilenetV1/Conv2d_${i}_pointwise`, 1, inC, outC),
    );
  }
  const last = DEPTHS[DEPTHS.length - 1] as number;
  out.push(
    { name: 'MobilenetV1/Logits/Conv2d_1c_1x1/weights', shape: [1, 1, last, classes], trainable: true },
    { name: 'MobilenetV1/Logits/Conv2d_1c_1x1/biases', shape: [classes], trainable: true },
  );
  return out;
}

/** The state dict load_tf_weights_in_mobilenet_v1 gives, from the raw variables (never their shadows). */
function expectedStateDict(tf: ReadonlyMap<string, RawTensor>): Map<string, RawTensor> {
  const get = (name: string) => {
    const t = tf.get(name);
    assert.ok(t, `${name} missing from the test checkpoint`);
    return t;
  };
  const out = new Map<string, RawTensor>();
  const layer = (scope: string, pt: string, depthwise: boolean) => {
    const kernel = get(`${scope}/${depthwise ? 'depthwise_weights' : 'weights'}`);
    out.set(`${pt}.convolution.weight`, permute(kernel, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]));
    out.set(`${pt}.normalization.weight`, get(`${scope}/BatchNorm/gamma`));
    out.set(`${pt}.normalization.bias`, get(`${scope}/BatchNorm/beta`));
    out.set(`${pt}.normalization.running_mean`, get(`${scope}/BatchNorm/moving_mean`));
    out.set(`${pt}.normalization.running_var`, get(`${scope}/BatchNorm/moving_variance`));
    out.set(`${pt}.normalization.num_batches_tracked`, ZERO_COUNTER);
  };
  layer('MobilenetV1/Conv2d_0', 'mobilenet_v1.conv_stem', false);
  for (let i = 1; i < DEPTHS.length; i++) {
    layer(`MobilenetV1/Conv2d_${i}_depthwise`, `mobilenet_v1.layer.${2 * (i - 1)}`, true);
    layer(`MobilenetV1/Conv2d_${i}_pointwise`, `mobilenet_v1.layer.${2 * (i - 1) + 1}`, false);
  }
  out.set('classifier.weight', permute(squeezed(get('MobilenetV1/Logits/Conv2d_1c_1x1/weights')), [1, 0]));
  out.set('classifier.bias', get('MobilenetV1/Logits/Conv2d_1c_1x1/biases'));
  return out;
}

let tmp: string;
let prefix: string;
let fewClasses: string;
let fewLabels: string;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-mobilenet-v1-'));
  prefix = join(tmp, `${NAME}.ckpt`);
  await writeSlimCheckpoint(prefix, variables(1001), { seed: 41 });
  // a fine-tuned head of three classes and background; a name given twice, as ImageNet's "crane"
  mkdirSync(join(tmp, 'pets'));
  fewClasses = join(tmp, 'pets', 'model.ckpt-5000');
  await writeSlimCheckpoint(fewClasses, variables(4), { seed: 42, optimizer: 'momentum' });
  fewLabels = join(tmp, 'pets-id2label.json');
  writeFileSync(fewLabels, JSON.stringify({ 0: 'cat', 1: 'dog', 2: 'cat' }));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('mobilenet_v1: detected, and the dry-run plan is the golden one', () => {
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /mobilenet_v1 .*detected from .*MobilenetV1\/Conv2d_0\/weights/);
  const help = runCli(['convert', '--help']).stdout;
  for (const text of ['mobilenet_v1', 'MobileNetV1ForImageClassification', '--model_name NAME', '--id2label FILE'])
    assert.ok(help.includes(text), `${text} in convert --help`);
  checkGolden('mobilenet-v1-slim-rmsprop-ema.plan.txt', r.stdout);
});

test('mobilenet_v1: converts through the CLI; PyTorch loads the exact values; transformers the class, config and image processor', async (t) => {
  const out = join(tmp, 'hf');
  const r = runCli([
    'convert',
    '--model_type',
    'mobilenet_v1',
    '--tf_checkpoint',
    prefix,
    '--pytorch_dump_output',
    out,
    '--format',
    'both',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, new RegExp(`--model_name ${NAME} \\(the checkpoint's file name`));
  const tf = await readTfTensors(prefix);
  const python = torchPython(t);
  if (python) assertExactly(loadWithTorch(python, join(out, 'pytorch_model.bin')), expectedStateDict(tf));
  const client = transformersPython(t);
  if (!client) return;
  for (const report of loadInTransformers(client, out)) {
    assert.equal(report.modelClass, 'MobileNetV1ForImageClassification');
    assert.deepEqual(
      [report.missing, report.unexpected, report.mismatched, report.differing],
      [[], [], [], []],
      report.format,
    );
    assert.deepEqual(report.warnings, [], report.format);
  }
  const tensors = join(tmp, 'tensors.bin');
  writeTensorsForPython(tensors, tf);
  const script = scriptOutputs(client, 'v1', NAME, SHIPPED_LABELS, tmp, out, tensors);
  assert.deepEqual(script.differing, [], "keys that differ from the script's load_tf_weights_in_mobilenet_v1");
  assert.equal(withoutVersion(readFileSync(join(out, 'config.json'), 'utf8')), withoutVersion(script.config));
  assert.equal(readFileSync(join(out, 'preprocessor_config.json'), 'utf8'), script.processor);
  assert.equal(script.loadedProcessor, 'MobileNetV1ImageProcessor');
  assert.deepEqual([script.loadedCrop, script.loadedSize], [{ height: 128, width: 128 }, { shortest_edge: 160 }]);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.id2label['0'], config.id2label['135'], config.id2label['518'], config.label2id.crane],
    ['background', 'crane', 'crane', 518],
  );
});

test('mobilenet_v1: --id2label FILE and --model_name, label maps as the script builds them (a name given twice keeps its last index)', async (t) => {
  const out = join(tmp, 'pets-hf');
  const r = runCli([
    'convert',
    '--tf_checkpoint',
    fewClasses,
    '--model_name',
    NAME,
    '--id2label',
    fewLabels,
    '--pytorch_dump_output',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(config.id2label, { 0: 'background', 1: 'cat', 2: 'dog', 3: 'cat' });
  assert.deepEqual(config.label2id, { background: 0, cat: 3, dog: 2 });
  const client = transformersPython(t);
  if (!client) return;
  const script = scriptOutputs(client, 'v1', NAME, fewLabels, tmp, out);
  assert.equal(withoutVersion(readFileSync(join(out, 'config.json'), 'utf8')), withoutVersion(script.config));
});

test('mobilenet_v1: a --model_name whose depth multiplier the shapes contradict, or labels of another count, are refused', () => {
  const wrong = runCli(['convert', '--tf_checkpoint', prefix, '--model_name', 'mobilenet_v1_1.0_224', '--dry-run']);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /depth multiplier 1 gives 32 channels, but MobilenetV1\/Conv2d_0\/weights has 8/);
  const labels = runCli(['convert', '--tf_checkpoint', prefix, '--id2label', fewLabels, '--dry-run']);
  assert.notEqual(labels.code, 0);
  assert.match(labels.stderr, /Conv2d_1c_1x1\/weights has 1001 classes, but .*pets-id2label\.json gives 3 names/);
  const quant = runCli([
    'convert',
    '--tf_checkpoint',
    prefix,
    '--model_name',
    'mobilenet_v1_1.0_224_quant',
    '--dry-run',
  ]);
  assert.match(quant.stderr, /quantized models are not supported/);
  const missing = runCli(['convert', '--tf_checkpoint', prefix, '--id2label', join(tmp, 'nope.json'), '--dry-run']);
  assert.match(missing.stderr, /label file .*nope\.json not found/);
});
