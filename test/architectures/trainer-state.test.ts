/**
 * Trainer state is recognised by one registry (formats/trainer-state.ts) for `inspect` and for every
 * plan, and never lands on a weight: a BERT trained by NVIDIA DeepLearningExamples' TensorFlow BERT
 * (LAMB, gradient accumulation, AMP) converts with its real weights, not with the accumulators of the
 * same shape.
 *
 * Names of the trainer state, from the original code:
 * - NVIDIA/DeepLearningExamples TensorFlow/LanguageModeling/BERT/optimization.py, create_optimizer():
 *   `local_step` (int32), `batch_finite` (bool), `<var>/accum` per trainable variable
 *   (num_accumulation_steps > 1); LAMBOptimizer/AdamWeightDecayOptimizer: `<var>/adam_m`, `<var>/adam_v`,
 *   and `<var>/shadow` under manual_fp16; tf.train.get_or_create_global_step(): `global_step` (int64).
 * - the loss scale manager it wraps the optimizer with (tf.contrib.mixed_precision
 *   ExponentialUpdateLossScaleManager, loss_scale_manager.py): `loss_scale`, `good_steps`, `bad_steps`.
 * - Keras' DynamicLossScale (keras/mixed_precision/loss_scale_optimizer.py): `current_loss_scale`, `good_steps`.
 * - mesh_tensorflow/optimize.py AdafactorOptimizer: `<var>_slot_vr`, `_slot_vc`, `_slot_v`, `_slot_m`.
 * - tf.train optimizers' slot names (tensorflow/python/training/*.py): `Adam`, `Adam_1`, `Momentum`,
 *   `RMSProp`, `RMSProp_1`, `Adagrad`, `Ftrl`, `Ftrl_1`; `beta1_power`/`beta2_power` (adam.py);
 *   moving_averages.py: `<var>/ExponentialMovingAverage`.
 * - google-research/albert lamb_optimizer.py: `<var>/lamb_m`, `<var>/lamb_v`.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { roleOf } from '../../src/formats/tf-checkpoint/roles.js';
import { trainerStateOf } from '../../src/formats/trainer-state.js';
import { numElements } from '../../src/tensor.js';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { tempDir } from '../support/temp.js';
import { type BundleTensor, randomTensorBytes, writeBundle } from '../support/tf-bundle-writer.js';
import { bertStateDictOf, TINY_BERT_CONFIG, tinyBertWeights } from '../support/tiny-bert.js';
import { loadWithTorch } from '../support/torch-load.js';

const OPTIMIZER_SLOTS = [
  'bert/embeddings/word_embeddings/adam_m',
  'bert/embeddings/word_embeddings/adam_v',
  'bert/encoder/layer_0/output/LayerNorm/beta/accum',
  'bert/encoder/layer_0/output/dense/kernel/shadow',
  'bert/encoder/layer_0/output/dense/kernel/Adam',
  'bert/encoder/layer_0/output/dense/kernel/Adam_1',
  'bert/encoder/layer_0/output/dense/kernel/Adam_3',
  'model/transformer/word_embedding/lookup_table/Momentum_1',
  'bert/encoder/layer_0/output/dense/kernel/AdamWeightDecayOptimizer',
  'bert/encoder/layer_0/output/dense/kernel/AdamWeightDecayOptimizer_1',
  'bert/encoder/layer_0/output/dense/kernel/lamb_m',
  'bert/encoder/layer_0/output/dense/kernel/lamb_v',
  'encoder/block_000/layer_000/SelfAttention/q_slot_vr',
  'encoder/block_000/layer_000/SelfAttention/q_slot_vc',
  'encoder/block_000/layer_000/rms_norm/scale_slot_v',
  'shared/embedding_slot_m',
  'model/transformer/word_embedding/lookup_table/Momentum',
  'model/transformer/word_embedding/lookup_table/RMSProp',
  'model/transformer/word_embedding/lookup_table/RMSProp_1',
  'model/transformer/word_embedding/lookup_table/Adagrad',
  'model/transformer/word_embedding/lookup_table/Ftrl',
  'model/transformer/word_embedding/lookup_table/Ftrl_1',
  'transformer/layer_0/ff/LayerNorm/gamma/ExponentialMovingAverage',
  'model/layer/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE',
];
const BOOKKEEPING = [
  'global_step',
  'beta1_power',
  'beta2_power',
  'beta1_power_1',
  'local_step',
  'batch_finite',
  'loss_scale',
  'good_steps',
  'bad_steps',
  'current_loss_scale',
  'optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE',
];
/** Real weight names of the eight types, some ending like trainer state would (`beta`, `scale`, `bias`). */
const WEIGHTS = [
  'bert/embeddings/LayerNorm/beta',
  'bert/encoder/layer_0/attention/output/LayerNorm/gamma',
  'cls/predictions/output_bias',
  'encoder/block_000/layer_000/rms_norm/scale',
  'encoder/final_layer_norm/scale',
  'shared/embedding',
  'model/transformer/mask_emb/mask_emb',
  'model/transformer/r_w_bias',
  'model/lm_loss/bias',
  'transformer/adaptive_softmax/cutoff_0/b',
  'model/h0/attn/c_attn/w',
  'bert/encoder/transformer/group_0/inner_group_0/LayerNorm/beta',
];

test('the registry: every optimizer slot and bookkeeping name of the trainers, and no weight', () => {
  for (const name of OPTIMIZER_SLOTS) {
    assert.equal(trainerStateOf(name)?.kind, 'optimizer', name);
    assert.equal(roleOf(name), 'optimizer', name);
  }
  for (const name of BOOKKEEPING) {
    assert.equal(trainerStateOf(name)?.kind, 'bookkeeping', name);
    assert.equal(roleOf(name), 'bookkeeping', name);
  }
  for (const name of WEIGHTS) {
    assert.equal(trainerStateOf(name), undefined, name);
    assert.equal(roleOf(name), 'weight', name);
  }
  assert.equal(
    trainerStateOf('bert/encoder/layer_0/output/LayerNorm/beta/accum')?.reason,
    'optimizer slot: gradient accumulator (accum)',
  );
  assert.equal(trainerStateOf('local_step')?.reason, 'training bookkeeping: gradient accumulation step (local_step)');
  // `step` counts only at the root: inside a scope it could be a model's own variable.
  assert.equal(trainerStateOf('step')?.kind, 'bookkeeping');
  assert.equal(trainerStateOf('model/step'), undefined);
});

/** Trainer state of NVIDIA's BERT pre-training with LAMB, num_accumulation_steps > 1 and AMP. */
function nvidiaTrainerState(weights: readonly BundleTensor[], seed: number): BundleTensor[] {
  const random = seededRandom(seed);
  const like = (w: BundleTensor, suffix: string): BundleTensor => ({
    name: `${w.name}/${suffix}`,
    dtype: 'float32',
    shape: w.shape,
    bytes: randomTensorBytes('float32', numElements(w.shape), random),
  });
  const scalar = (name: string, dtype: BundleTensor['dtype'], bytes: number[]): BundleTensor => ({
    name,
    dtype,
    shape: [],
    bytes: Uint8Array.from(bytes),
  });
  return [
    ...weights.flatMap((w) => [like(w, 'accum'), like(w, 'adam_m'), like(w, 'adam_v')]),
    scalar('global_step', 'int64', [0x40, 0x1f, 0, 0, 0, 0, 0, 0]),
    scalar('local_step', 'int32', [3, 0, 0, 0]),
    scalar('batch_finite', 'bool', [1]),
    scalar('loss_scale', 'float32', [0, 0, 0x80, 0x4f]),
    scalar('good_steps', 'int32', [7, 0, 0, 0]),
    scalar('bad_steps', 'int32', [0, 0, 0, 0]),
  ];
}

test('NVIDIA BERT (LAMB + accumulation + AMP): trainer state skipped by name, the real LayerNorm beta converted', async (t) => {
  const tmp = tempDir(t, 'nvidia-bert');
  const weights = tinyBertWeights(11);
  const state = nvidiaTrainerState(weights, 12);
  const prefix = join(tmp, 'model.ckpt-8000');
  await writeBundle(prefix, [...weights, ...state]);
  const config = join(tmp, 'bert_config.json');
  writeFileSync(config, JSON.stringify(TINY_BERT_CONFIG));
  const base = ['convert', '--model_type', 'bert', '--tf_checkpoint', prefix, '--config', config];

  const dry = runCli([...base, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  checkGolden('nvidia-bert-lamb-accum-amp.plan.txt', dry.stdout);
  assert.match(dry.stdout, /bert\/embeddings\/LayerNorm\/beta\/accum: optimizer slot: gradient accumulator \(accum\)/);

  const inspect = runCli(['inspect', prefix, '--json']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const roles = JSON.parse(inspect.stdout).totals.byRole;
  assert.deepEqual(
    [roles.weight.tensors, roles.optimizer.tensors, roles.bookkeeping.tensors],
    [weights.length, 3 * weights.length, 6],
  );

  const python = torchPython(t);
  if (!python) return;
  const out = join(tmp, 'pytorch_model.bin');
  const r = runCli([...base, '--pytorch_dump_output', out]);
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, out);
  const want = bertStateDictOf(weights);
  const beta = loaded.get('bert.encoder.layer.0.output.LayerNorm.bias')!;
  const accum = state.find((s) => s.name === 'bert/encoder/layer_0/output/LayerNorm/beta/accum')!;
  assert.deepEqual(beta.shape, accum.shape, 'the accumulator has the shape of the weight');
  assert.ok(!Buffer.from(beta.bytes).equals(Buffer.from(accum.bytes)), 'not the accumulator');
  assert.deepEqual([...loaded.keys()].filter((k) => !want.has(k)).sort(), [
    'cls.predictions.decoder.bias',
    'cls.predictions.decoder.weight',
  ]);
  assert.equal(want.size, weights.length);
  for (const [key, w] of want) {
    const got = loaded.get(key);
    assert.ok(got, `${key} missing`);
    assert.deepEqual(got.shape, w.shape, key);
    assert.ok(Buffer.from(got.bytes).equals(Buffer.from(w.bytes)), `${key}: values differ`);
  }
});
