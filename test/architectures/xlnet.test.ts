import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chooseHead } from '../../src/architectures/task-heads.js';
import { planConversion } from '../../src/convert/index.js';
import { formatPlan } from '../../src/mapping/index.js';
import { runCli, runConvert } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { type RawTensor, readTfTensors, selectFirstAxis, transpose2d } from '../support/reference-transforms.js';
import { tempDir } from '../support/temp.js';
import { randomTensorBytes, writeBundle } from '../support/tf-bundle-writer.js';
import { type LoadedTensor, loadWithTorch } from '../support/torch-load.js';

/** The state dict transformers' table-driven loader produces, computed here from the TF tensors. */
function expectedXlnet(tf: Map<string, RawTensor>, layers: number, untied: boolean): Map<string, RawTensor> {
  const get = (n: string) => {
    const t = tf.get(n);
    assert.ok(t, `${n} missing from the checkpoint`);
    return t;
  };
  const out = new Map<string, RawTensor>();
  out.set('transformer.word_embedding.weight', get('model/transformer/word_embedding/lookup_table'));
  out.set('transformer.mask_emb', get('model/transformer/mask_emb/mask_emb'));
  for (let l = 0; l < layers; l++) {
    const tfl = `model/transformer/layer_${l}`;
    const pt = `transformer.layer.${l}`;
    for (const p of ['q', 'k', 'v', 'o', 'r']) out.set(`${pt}.rel_attn.${p}`, get(`${tfl}/rel_attn/${p}/kernel`));
    for (const [a, b] of [
      ['rel_attn/LayerNorm', 'rel_attn.layer_norm'],
      ['ff/LayerNorm', 'ff.layer_norm'],
    ]) {
      out.set(`${pt}.${b}.weight`, get(`${tfl}/${a}/gamma`));
      out.set(`${pt}.${b}.bias`, get(`${tfl}/${a}/beta`));
    }
    for (const f of ['layer_1', 'layer_2']) {
      out.set(`${pt}.ff.${f}.weight`, transpose2d(get(`${tfl}/ff/${f}/kernel`)));
      out.set(`${pt}.ff.${f}.bias`, get(`${tfl}/ff/${f}/bias`));
    }
    for (const b of ['r_w_bias', 'r_r_bias', 'r_s_bias']) {
      const all = get(`model/transformer/${b}`);
      out.set(`${pt}.rel_attn.${b}`, untied ? selectFirstAxis(all, l) : all);
    }
    out.set(`${pt}.rel_attn.seg_embed`, selectFirstAxis(get('model/transformer/seg_embed'), l));
  }
  return out;
}

function assertSameValues(loaded: Map<string, LoadedTensor>, expected: Map<string, RawTensor>): void {
  for (const [key, e] of expected) {
    const got = loaded.get(key);
    assert.ok(got, `${key} missing from the output`);
    assert.deepEqual(got.shape, e.shape, key);
    assert.deepEqual(Buffer.from(got.bytes), Buffer.from(e.bytes), `${key}: values differ`);
  }
}

/** The tiny real checkpoint with its config, converted to pytorch_model.bin. */
const xlnetArgs = (dir: string) => [
  '--model_type',
  'xlnet',
  '--tf_checkpoint',
  join(dir, 'xlnet_model.ckpt'),
  '--config',
  join(dir, 'xlnet_config.json'),
  '--format',
  'pytorch',
];

test('xlnet tiny: LM head conversion through the CLI loads in PyTorch with the split/transposed TF values', async (t) => {
  const dir = realFixture(t, 'xlnet-tiny-untied-lmhead');
  if (!dir) return;
  const python = torchPython(t);
  if (!python) return;
  const prefix = join(dir, 'xlnet_model.ckpt');
  const r = runConvert(t, xlnetArgs(dir), 'xlnet');
  const folder = r.output;
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  const tf = await readTfTensors(prefix);
  const expected = expectedXlnet(tf, 2, true);
  expected.set('lm_loss.bias', tf.get('model/lm_loss/bias') as RawTensor);
  assertSameValues(loaded, expected);
  // lm_loss.weight is the word embedding: one storage under two keys, as torch.save writes tied weights
  assert.equal(loaded.get('lm_loss.weight')?.dataPtr, loaded.get('transformer.word_embedding.weight')?.dataPtr);
  assert.equal(loaded.size, expected.size + 1);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.vocab_size, config.d_model, config.n_layer, config.n_head, config.d_head, config.d_inner],
    [31, 6, 2, 2, 3, 12],
  );
  assert.equal(config.n_token, undefined, 'n_token is an alias of vocab_size');
  assert.deepEqual(config.architectures, ['XLNetLMHeadModel']);
});

test('xlnet tiny --finetuning_task_name sts-b: sequence classification, 1 label, heads reported and not written', async (t) => {
  const dir = realFixture(t, 'xlnet-tiny-untied-lmhead');
  if (!dir) return;
  const python = torchPython(t);
  if (!python) return;
  const prefix = join(dir, 'xlnet_model.ckpt');
  const r = runConvert(t, [...xlnetArgs(dir), '--finetuning_task_name', 'STS-B'], 'xlnet');
  const folder = r.output;
  const report = r.stdout + r.stderr;
  for (const head of [
    'sequence_summary.summary.weight',
    'sequence_summary.summary.bias',
    'logits_proj.weight',
    'logits_proj.bias',
  ])
    assert.match(report, new RegExp(head.replace(/\./g, '\\.')));
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.equal(config.finetuning_task, 'sts-b');
  assert.deepEqual(config.id2label, { 0: 'LABEL_0' });
  assert.deepEqual(config.label2id, { LABEL_0: 0 });
  assert.deepEqual(config.architectures, ['XLNetForSequenceClassification']);
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  const expected = expectedXlnet(await readTfTensors(prefix), 2, true);
  assertSameValues(loaded, expected);
  assert.equal(loaded.size, expected.size, 'no head written with invented values, no LM head');
});

test('xlnet tiny --finetuning_task_name squad: question answering, the 11 QA head keys are left to from_pretrained', async (t) => {
  const dir = realFixture(t, 'xlnet-tiny-untied-lmhead');
  if (!dir) return;
  const { plan, config } = await planConversion({
    modelType: 'xlnet',
    checkpoint: join(dir, 'xlnet_model.ckpt'),
    config: join(dir, 'xlnet_config.json'),
    modelOptions: { finetuning_task_name: 'squad' },
  });
  assert.deepEqual(config.architectures, ['XLNetForQuestionAnswering']);
  assert.equal(config.finetuning_task, 'squad');
  assert.equal(config.id2label, undefined);
  assert.deepEqual(plan.missing.map((m) => m.key).sort(), [
    'answer_class.dense_0.bias',
    'answer_class.dense_0.weight',
    'answer_class.dense_1.weight',
    'end_logits.LayerNorm.bias',
    'end_logits.LayerNorm.weight',
    'end_logits.dense_0.bias',
    'end_logits.dense_0.weight',
    'end_logits.dense_1.bias',
    'end_logits.dense_1.weight',
    'start_logits.dense.bias',
    'start_logits.dense.weight',
  ]);
  assert.deepEqual(
    plan.skipped.map((s) => s.name),
    ['model/lm_loss/bias'],
  );
  checkGolden('xlnet-tiny-untied-lmhead.squad.plan.txt', formatPlan(plan));
  const lm = await planConversion({
    modelType: 'xlnet',
    checkpoint: join(dir, 'xlnet_model.ckpt'),
    config: join(dir, 'xlnet_config.json'),
  });
  checkGolden('xlnet-tiny-untied-lmhead.plan.txt', formatPlan(lm.plan));
});

test('xlnet untie_r false: the shared [n_head, d_head] biases go to every layer, seg_embed still per layer', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const tmp = tempDir(t, 'xlnet-tied');
  const [L, d, n, dh, inner, vocab] = [3, 4, 2, 2, 8, 11];
  const random = seededRandom(7);
  const spec: [string, number[]][] = [
    ['model/lm_loss/bias', [vocab]],
    ['model/transformer/word_embedding/lookup_table', [vocab, d]],
    ['model/transformer/mask_emb/mask_emb', [1, 1, d]],
    ['model/transformer/r_w_bias', [n, dh]],
    ['model/transformer/r_r_bias', [n, dh]],
    ['model/transformer/r_s_bias', [n, dh]],
    ['model/transformer/seg_embed', [L, 2, n, dh]],
  ];
  for (let l = 0; l < L; l++) {
    const p = `model/transformer/layer_${l}`;
    for (const m of ['q', 'k', 'v', 'o', 'r']) spec.push([`${p}/rel_attn/${m}/kernel`, [d, n, dh]]);
    for (const ln of ['rel_attn/LayerNorm', 'ff/LayerNorm'])
      spec.push([`${p}/${ln}/gamma`, [d]], [`${p}/${ln}/beta`, [d]]);
    spec.push(
      [`${p}/ff/layer_1/kernel`, [d, inner]],
      [`${p}/ff/layer_1/bias`, [inner]],
      [`${p}/ff/layer_2/kernel`, [inner, d]],
      [`${p}/ff/layer_2/bias`, [d]],
    );
  }
  const prefix = join(tmp, 'xlnet_model.ckpt');
  await writeBundle(
    prefix,
    spec.map(([name, shape]) => ({
      name,
      dtype: 'float32' as const,
      shape,
      bytes: randomTensorBytes(
        'float32',
        shape.reduce((a, b) => a * b, 1),
        random,
      ),
    })),
  );
  const config = join(tmp, 'xlnet_config.json');
  writeFileSync(
    config,
    JSON.stringify({
      d_head: dh,
      d_inner: inner,
      d_model: d,
      ff_activation: 'gelu',
      n_head: n,
      n_layer: L,
      n_token: vocab,
      untie_r: false,
    }),
  );
  const folder = join(tmp, 'out');
  const r = runCli([
    'convert',
    '--model_type',
    'xlnet',
    '--tf_checkpoint',
    prefix,
    '--config',
    config,
    '--pytorch_dump_output',
    folder,
    '--format',
    'pytorch',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  assertSameValues(loaded, expectedXlnet(await readTfTensors(prefix), L, false));

  // the same checkpoint with a config saying untie_r true is refused, naming the field
  writeFileSync(
    config,
    JSON.stringify({ d_inner: inner, d_model: d, n_head: n, n_layer: L, n_token: vocab, untie_r: true }),
  );
  const bad = runCli([
    'convert',
    '--model_type',
    'xlnet',
    '--tf_checkpoint',
    prefix,
    '--config',
    config,
    '--pytorch_dump_output',
    join(tmp, 'bad'),
    '--dry-run',
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /untie_r: config says true, checkpoint has false/);
});

test('--finetuning_task_name constructor (a name on Object.prototype) is no GLUE task: XLNetLMHeadModel, as transformers', (t) => {
  for (const task of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const choice = chooseHead({
      found: [],
      task,
      baseClass: 'XLNetLMHeadModel',
      byTask: { sequence: 'XLNetForSequenceClassification', questionAnswering: 'XLNetForQuestionAnsweringSimple' },
    });
    assert.equal(choice.modelClass, 'XLNetLMHeadModel', task);
    assert.deepEqual(choice.fields, {}, task);
  }
  const dir = realFixture(t, 'xlnet-tiny-untied-lmhead');
  if (!dir) return;
  const r = runCli(['convert', ...xlnetArgs(dir), '--dry-run', '--finetuning_task_name', 'constructor']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout + r.stderr,
    /--finetuning_task_name constructor is neither a GLUE task \(cola, .*\) nor contains 'squad': converted as XLNetLMHeadModel/,
  );
  assert.doesNotMatch(r.stdout, /XLNetForSequenceClassification|num_labels|logits_proj/);
});
