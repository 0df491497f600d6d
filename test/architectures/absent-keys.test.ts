/**
 * Parameters a checkpoint legitimately lacks. Each architecture declares, per key, whether every real
 * checkpoint has it (absent: refused), or it may be absent and is then written as zeros (the original
 * initialises it with zeros exactly as transformers does) or left for from_pretrained.
 *
 * - google-research/bert run_pretraining.py get_masked_lm_output(): `cls/predictions/output_bias`,
 *   zeros_initializer; transformers BertLMPredictionHead.bias = torch.zeros(vocab_size) → zeros.
 * - zihangdai/xlnet modeling.py transformer_xl(): `mask_emb/mask_emb` is created only when `inp_q` is given
 *   (two-stream pre-training), so fine-tuned checkpoints lack it; transformers draws it from
 *   normal(0, initializer_range) → left for from_pretrained. lm_loss(): `bias`, zeros_initializer;
 *   transformers' lm_loss Linear bias is zeroed by _init_weights → zeros.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DTYPES } from '../../src/tensor.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { readTfTensors } from '../support/reference-transforms.js';
import { tempDir } from '../support/temp.js';
import { randomTensorBytes, writeBundle } from '../support/tf-bundle-writer.js';
import { bertStateDictOf, TINY_BERT_CONFIG, tinyBertWeights } from '../support/tiny-bert.js';
import { loadSafetensorsInPython, loadWithTorch } from '../support/torch-load.js';

const isZero = (bytes: Uint8Array) => bytes.every((b) => b === 0);

test('bert without cls/predictions/output_bias: the LM bias written as zeros, its decoder alias shares it', async (t) => {
  const tmp = tempDir(t, 'bert-no-lm-bias');
  const weights = tinyBertWeights(21, ['cls/predictions/output_bias']);
  const prefix = join(tmp, 'bert_model.ckpt');
  await writeBundle(prefix, weights);
  const config = join(tmp, 'bert_config.json');
  writeFileSync(config, JSON.stringify(TINY_BERT_CONFIG));
  const base = ['convert', '--model_type', 'bert', '--tf_checkpoint', prefix, '--config', config];

  const dry = runCli([...base, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  checkGolden('bert-without-lm-bias.plan.txt', dry.stdout);

  const python = torchPython(t);
  if (!python) return;
  const out = join(tmp, 'pytorch_model.bin');
  const r = runCli([...base, '--pytorch_dump_output', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /not in the checkpoint, written as zeros as the original initialises it: cls\.predictions\.bias/,
  );
  const loaded = loadWithTorch(python, out);
  const bias = loaded.get('cls.predictions.bias')!;
  assert.deepEqual([bias.dtype, bias.shape], ['float32', [TINY_BERT_CONFIG.vocab_size]]);
  assert.ok(isZero(bias.bytes), 'zeros');
  assert.equal(
    loaded.get('cls.predictions.decoder.bias')?.dataPtr,
    bias.dataPtr,
    'the decoder bias is the same tensor',
  );
  for (const [key, w] of bertStateDictOf(weights)) {
    assert.ok(Buffer.from(loaded.get(key)!.bytes).equals(Buffer.from(w.bytes)), `${key}: values differ`);
  }
  assert.equal(loaded.size, weights.length + 3);

  // In float16 too: zeros in the output's dtype.
  const half = join(tmp, 'half.safetensors');
  const h = runCli([...base, '--dtype', 'float16', '--pytorch_dump_output', half]);
  assert.equal(h.code, 0, h.stderr);
  const halfBias = loadSafetensorsInPython(python, half).get('cls.predictions.bias')!;
  assert.deepEqual([halfBias.dtype, halfBias.bytes.length], ['float16', 2 * TINY_BERT_CONFIG.vocab_size]);
  assert.ok(isZero(halfBias.bytes));
});

test('bert without a weight every real checkpoint has is still refused, naming the key', async (t) => {
  const tmp = tempDir(t, 'bert-no-dense-bias');
  const prefix = join(tmp, 'bert_model.ckpt');
  await writeBundle(prefix, tinyBertWeights(22, ['bert/encoder/layer_0/output/dense/bias']));
  const config = join(tmp, 'bert_config.json');
  writeFileSync(config, JSON.stringify(TINY_BERT_CONFIG));
  const r = runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', prefix, '--config', config, '--dry-run']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /bert\.encoder\.layer\.0\.output\.dense\.bias \[4\]: required, but no checkpoint variable maps to it \(every real checkpoint of this type has it\)/,
  );
});

test('xlnet fine-tuned layout (no mask_emb, no lm_loss/bias): mask_emb left for from_pretrained, lm_loss.bias zeros', async (t) => {
  const dir = realFixture(t, 'xlnet-tiny-untied-lmhead');
  if (!dir) return;
  const tmp = tempDir(t, 'xlnet-absent');
  // The real listing (names, dtypes, shapes), seeded values: the real LM bias is all zeros, a trained one is not.
  const random = seededRandom(23);
  const tensors = [...(await readTfTensors(join(dir, 'xlnet_model.ckpt')))].map(([name, v]) => ({
    name,
    ...v,
    bytes: randomTensorBytes(v.dtype, v.bytes.length / DTYPES[v.dtype].itemSize, random),
  }));
  const absent = ['model/transformer/mask_emb/mask_emb', 'model/lm_loss/bias'];
  assert.ok(absent.every((n) => tensors.some((x) => x.name === n)));
  const prefix = join(tmp, 'xlnet_model.ckpt');
  const completePrefix = join(tmp, 'complete.ckpt');
  await writeBundle(
    prefix,
    tensors.filter((x) => !absent.includes(x.name)),
  );
  await writeBundle(completePrefix, tensors);
  const config = join(dir, 'xlnet_config.json');
  const base = ['convert', '--model_type', 'xlnet', '--tf_checkpoint', prefix, '--config', config];
  const dry = runCli([...base, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  checkGolden('xlnet-without-mask-emb-and-lm-bias.plan.txt', dry.stdout);

  const python = torchPython(t);
  if (!python) return;
  const reduced = join(tmp, 'reduced.bin');
  const complete = join(tmp, 'complete.bin');
  const r = runCli([...base, '--pytorch_dump_output', reduced]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /not in the checkpoint \(from_pretrained initialises it\): transformer\.mask_emb/);
  assert.match(r.stdout, /written as zeros as the original initialises it: lm_loss\.bias/);
  const c = runCli([
    'convert',
    '--model_type',
    'xlnet',
    '--tf_checkpoint',
    completePrefix,
    '--config',
    config,
    '--pytorch_dump_output',
    complete,
  ]);
  assert.equal(c.code, 0, c.stderr);
  const got = loadWithTorch(python, reduced);
  const full = loadWithTorch(python, complete);
  assert.equal(got.has('transformer.mask_emb'), false);
  assert.deepEqual(
    [...got.keys()],
    [...full.keys()].filter((k) => k !== 'transformer.mask_emb'),
  );
  for (const [key, value] of got) {
    if (key === 'lm_loss.bias') {
      assert.deepEqual(value.shape, full.get(key)!.shape);
      assert.ok(isZero(value.bytes), 'lm_loss.bias is zeros');
      assert.ok(!isZero(full.get(key)!.bytes), 'the complete checkpoint has a trained bias');
    } else {
      assert.ok(Buffer.from(value.bytes).equals(Buffer.from(full.get(key)!.bytes)), `${key}: values differ`);
    }
  }
});
