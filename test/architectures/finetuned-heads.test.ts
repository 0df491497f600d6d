/**
 * Fine-tuned checkpoints choose the model class. Every checkpoint here is written with the names the
 * original fine-tuning code creates:
 * - google-research/bert run_classifier.py create_model: root `output_weights` [num_labels, hidden],
 *   `output_bias`; run_squad.py create_model: `cls/squad/output_weights` [2, hidden], `cls/squad/output_bias`;
 *   modeling.py BertModel: `bert/embeddings/…`, `bert/encoder/layer_{n}/…`, `bert/pooler/dense`;
 *   optimization.py AdamWeightDecayOptimizer: `<var>/adam_m`, `<var>/adam_v`, plus `global_step`.
 * - google-research/albert classifier_utils.py create_model: root `output_weights`/`output_bias`;
 *   squad_utils.py create_v1_model: `cls/squad/output_weights`/`output_bias`; modeling.py AlbertModel:
 *   `bert/encoder/transformer/group_0/inner_group_0/attention_1/self/query`, `ffn_1/intermediate/…`, `LayerNorm_1`.
 * - zihangdai/xlnet function_builder.py get_classification_loss: `model/classification_{task}/logit`
 *   (modeling.py classification_loss, dense 'logit'), modeling.py summarize_sequence:
 *   `model/sequnece_summary/summary` (its spelling); no `mask_emb` (created only for two-stream pre-training).
 * Each is converted through the CLI without --model_type and loaded by the real PyTorch.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bert } from '../../src/architectures/bert.js';
import { xlnet } from '../../src/architectures/xlnet.js';
import { buildPlan } from '../../src/mapping/plan.js';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { cliText } from '../support/notices.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { type RawTensor, readTfTensors, transpose2d } from '../support/reference-transforms.js';
import { tempDir } from '../support/temp.js';
import { randomTensorBytes, writeBundle } from '../support/tf-bundle-writer.js';
import { loadWithTorch } from '../support/torch-load.js';

type Spec = [name: string, shape: number[]][];
const [V, H, L, I, P, HEADS] = [11, 4, 2, 8, 16, 2];

/** Writes the variables with seeded random values, each with its Adam slots, plus global_step. */
async function writeCheckpoint(prefix: string, spec: Spec, seed: number, slots = true): Promise<void> {
  const random = seededRandom(seed);
  const all: Spec = slots
    ? spec.flatMap(
        ([n, s]) =>
          [
            [n, s],
            [`${n}/adam_m`, s],
            [`${n}/adam_v`, s],
          ] as Spec,
      )
    : spec;
  await writeBundle(prefix, [
    ...all.map(([name, shape]) => ({
      name,
      dtype: 'float32' as const,
      shape,
      bytes: randomTensorBytes(
        'float32',
        shape.reduce((a, b) => a * b, 1),
        random,
      ),
    })),
    { name: 'global_step', dtype: 'int64' as const, shape: [], bytes: new Uint8Array(8) },
  ]);
}

/** modeling.py BertModel's variables (the pooler included: BertModel always builds it). */
function bertSpec(): Spec {
  const spec: Spec = [
    ['bert/embeddings/word_embeddings', [V, H]],
    ['bert/embeddings/position_embeddings', [P, H]],
    ['bert/embeddings/token_type_embeddings', [2, H]],
    ['bert/embeddings/LayerNorm/gamma', [H]],
    ['bert/embeddings/LayerNorm/beta', [H]],
    ['bert/pooler/dense/kernel', [H, H]],
    ['bert/pooler/dense/bias', [H]],
  ];
  for (let l = 0; l < L; l++) {
    const p = `bert/encoder/layer_${l}`;
    for (const m of ['attention/self/query', 'attention/self/key', 'attention/self/value', 'attention/output/dense'])
      spec.push([`${p}/${m}/kernel`, [H, H]], [`${p}/${m}/bias`, [H]]);
    spec.push(
      [`${p}/intermediate/dense/kernel`, [H, I]],
      [`${p}/intermediate/dense/bias`, [I]],
      [`${p}/output/dense/kernel`, [I, H]],
      [`${p}/output/dense/bias`, [H]],
    );
    for (const n of ['attention/output/LayerNorm', 'output/LayerNorm'])
      spec.push([`${p}/${n}/gamma`, [H]], [`${p}/${n}/beta`, [H]]);
  }
  return spec;
}

const BERT_CONFIG = {
  vocab_size: V,
  hidden_size: H,
  num_hidden_layers: L,
  num_attention_heads: HEADS,
  intermediate_size: I,
  max_position_embeddings: P,
  type_vocab_size: 2,
  hidden_act: 'gelu',
};

/** transformers' load_tf_weights_in_bert, written out: kernels transposed, everything else as stored. */
function expectedBert(tf: Map<string, RawTensor>, withPooler: boolean): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [name, t] of tf) {
    if (!name.startsWith('bert/') || /adam_[mv]$/.test(name)) continue;
    if (!withPooler && name.startsWith('bert/pooler/')) continue;
    const key = name
      .replace(/\/layer_(\d+)\//, '/layer/$1/')
      .replace(/\/(gamma|kernel)$/, '/weight')
      .replace(/\/beta$/, '/bias')
      .replace(/_embeddings$/, '_embeddings/weight')
      .split('/')
      .join('.');
    out.set(key, name.endsWith('/kernel') ? transpose2d(t) : t);
  }
  return out;
}

function assertSame(loaded: Map<string, { shape: number[]; bytes: Uint8Array }>, expected: Map<string, RawTensor>) {
  for (const [key, e] of expected) {
    const got = loaded.get(key);
    assert.ok(got, `${key} missing from the output`);
    assert.deepEqual(got.shape, e.shape, key);
    assert.deepEqual(Buffer.from(got.bytes), Buffer.from(e.bytes), `${key}: values differ`);
  }
  assert.deepEqual([...loaded.keys()].sort(), [...expected.keys()].sort(), 'exactly the keys of the class');
}

function convert(prefix: string, out: string, ...extra: string[]) {
  return runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out, '--format', 'pytorch', ...extra]);
}

test('bert run_classifier.py checkpoint → BertForSequenceClassification, 3 labels, head untransposed, exact in PyTorch', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tempDir(t, 'bert-cls');
  const prefix = join(dir, 'model.ckpt-343');
  await writeCheckpoint(prefix, [...bertSpec(), ['output_weights', [3, H]], ['output_bias', [3]]], 11);
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(BERT_CONFIG));

  const inspect = runCli(['inspect', prefix]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /^bert checkpoint: BertForSequenceClassification, 3 labels; 82 optimizer slots$/m);

  const plan = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run']);
  assert.equal(plan.code, 0, plan.stderr);
  checkGolden('bert-run-classifier-3-labels.plan.txt', plan.stdout);

  const folder = join(dir, 'out');
  const r = convert(prefix, folder, '--finetuning_task_name', 'MNLI');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^note: bert checkpoint: BertForSequenceClassification, 3 labels \(detected from /m);
  const tf = await readTfTensors(prefix);
  const expected = expectedBert(tf, true);
  expected.set('classifier.weight', tf.get('output_weights') as RawTensor);
  expected.set('classifier.bias', tf.get('output_bias') as RawTensor);
  assertSame(loadWithTorch(python, join(folder, 'pytorch_model.bin')), expected);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
  assert.equal(config.finetuning_task, 'mnli');
  assert.deepEqual(config.id2label, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
  assert.deepEqual(config.label2id, { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 });
});

test('a task that contradicts the head is refused, naming both; a squad task on a classifier too', async (t) => {
  const dir = tempDir(t, 'bert-cls2');
  const prefix = join(dir, 'model.ckpt');
  await writeCheckpoint(prefix, [...bertSpec(), ['output_weights', [2, H]], ['output_bias', [2]]], 12, false);
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(BERT_CONFIG));
  const mnli = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run', '--finetuning_task_name', 'mnli']);
  assert.equal(mnli.code, 1);
  assert.match(
    mnli.stderr,
    /^error\[E_CONFIG\]: --finetuning_task_name mnli means 3 labels, but the checkpoint's head output_weights \[2, 4\] \(BertForSequenceClassification, 2 labels\) disagrees/m,
  );
  const squad = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run', '--finetuning_task_name', 'squad']);
  assert.match(squad.stderr, /--finetuning_task_name squad means question answering, but the checkpoint's head/);
  const mrpc = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run', '--finetuning_task_name', 'mrpc']);
  assert.equal(mrpc.code, 0, mrpc.stderr);
  assert.match(mrpc.stdout, /^model_type: bert \(BertForSequenceClassification\)$/m);
});

test('bert run_squad.py checkpoint → BertForQuestionAnswering; the pooler is skipped with its reason', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tempDir(t, 'bert-squad');
  const prefix = join(dir, 'model.ckpt');
  await writeCheckpoint(
    prefix,
    [...bertSpec(), ['cls/squad/output_weights', [2, H]], ['cls/squad/output_bias', [2]]],
    13,
  );
  const config = join(dir, 'config-elsewhere.json');
  writeFileSync(config, JSON.stringify(BERT_CONFIG));
  const plan = runCli(['convert', '--tf_checkpoint', prefix, '--config', config, '--dry-run']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(
    plan.stdout,
    /bert\/pooler\/dense\/kernel: pooler: BertForQuestionAnswering has none \(transformers builds its BertModel with add_pooling_layer=False\)/,
  );
  checkGolden('bert-run-squad.plan.txt', plan.stdout);
  const folder = join(dir, 'out');
  const r = convert(prefix, folder, '--config', config);
  assert.equal(r.code, 0, r.stderr);
  const tf = await readTfTensors(prefix);
  const expected = expectedBert(tf, false);
  expected.set('qa_outputs.weight', tf.get('cls/squad/output_weights') as RawTensor);
  expected.set('qa_outputs.bias', tf.get('cls/squad/output_bias') as RawTensor);
  assertSame(loadWithTorch(python, join(folder, 'pytorch_model.bin')), expected);
  const written = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(written.architectures, ['BertForQuestionAnswering']);
  assert.equal(written.id2label, undefined);
});

/** modeling.py AlbertModel's variables: one shared layer group. */
function albertSpec(): Spec {
  const E = 3;
  const g = 'bert/encoder/transformer/group_0/inner_group_0';
  const spec: Spec = [
    ['bert/embeddings/word_embeddings', [V, E]],
    ['bert/embeddings/position_embeddings', [P, E]],
    ['bert/embeddings/token_type_embeddings', [2, E]],
    ['bert/embeddings/LayerNorm/gamma', [E]],
    ['bert/embeddings/LayerNorm/beta', [E]],
    ['bert/encoder/embedding_hidden_mapping_in/kernel', [E, H]],
    ['bert/encoder/embedding_hidden_mapping_in/bias', [H]],
    ['bert/pooler/dense/kernel', [H, H]],
    ['bert/pooler/dense/bias', [H]],
    [`${g}/ffn_1/intermediate/dense/kernel`, [H, I]],
    [`${g}/ffn_1/intermediate/dense/bias`, [I]],
    [`${g}/ffn_1/intermediate/output/dense/kernel`, [I, H]],
    [`${g}/ffn_1/intermediate/output/dense/bias`, [H]],
  ];
  for (const m of ['self/query', 'self/key', 'self/value', 'output/dense'])
    spec.push([`${g}/attention_1/${m}/kernel`, [H, H]], [`${g}/attention_1/${m}/bias`, [H]]);
  for (const n of ['LayerNorm', 'LayerNorm_1']) spec.push([`${g}/${n}/gamma`, [H]], [`${g}/${n}/beta`, [H]]);
  return spec;
}

/** transformers' AlbertModel keys for albertSpec's variables (kernels transposed). */
function expectedAlbert(tf: Map<string, RawTensor>, withPooler: boolean): Map<string, RawTensor> {
  const g = 'bert/encoder/transformer/group_0/inner_group_0';
  const k = 'albert.encoder.albert_layer_groups.0.albert_layers.0';
  const pairs: [string, string][] = [
    ['bert/embeddings/word_embeddings', 'albert.embeddings.word_embeddings.weight'],
    ['bert/embeddings/position_embeddings', 'albert.embeddings.position_embeddings.weight'],
    ['bert/embeddings/token_type_embeddings', 'albert.embeddings.token_type_embeddings.weight'],
    ['bert/embeddings/LayerNorm/gamma', 'albert.embeddings.LayerNorm.weight'],
    ['bert/embeddings/LayerNorm/beta', 'albert.embeddings.LayerNorm.bias'],
    ['bert/encoder/embedding_hidden_mapping_in/kernel', 'albert.encoder.embedding_hidden_mapping_in.weight'],
    ['bert/encoder/embedding_hidden_mapping_in/bias', 'albert.encoder.embedding_hidden_mapping_in.bias'],
    [`${g}/ffn_1/intermediate/dense/kernel`, `${k}.ffn.weight`],
    [`${g}/ffn_1/intermediate/dense/bias`, `${k}.ffn.bias`],
    [`${g}/ffn_1/intermediate/output/dense/kernel`, `${k}.ffn_output.weight`],
    [`${g}/ffn_1/intermediate/output/dense/bias`, `${k}.ffn_output.bias`],
    [`${g}/attention_1/output/dense/kernel`, `${k}.attention.dense.weight`],
    [`${g}/attention_1/output/dense/bias`, `${k}.attention.dense.bias`],
    [`${g}/LayerNorm/gamma`, `${k}.attention.LayerNorm.weight`],
    [`${g}/LayerNorm/beta`, `${k}.attention.LayerNorm.bias`],
    [`${g}/LayerNorm_1/gamma`, `${k}.full_layer_layer_norm.weight`],
    [`${g}/LayerNorm_1/beta`, `${k}.full_layer_layer_norm.bias`],
  ];
  for (const m of ['query', 'key', 'value'])
    pairs.push(
      [`${g}/attention_1/self/${m}/kernel`, `${k}.attention.${m}.weight`],
      [`${g}/attention_1/self/${m}/bias`, `${k}.attention.${m}.bias`],
    );
  if (withPooler)
    pairs.push(['bert/pooler/dense/kernel', 'albert.pooler.weight'], ['bert/pooler/dense/bias', 'albert.pooler.bias']);
  const out = new Map<string, RawTensor>();
  for (const [name, key] of pairs) {
    const t = tf.get(name) as RawTensor;
    out.set(key, name.endsWith('/kernel') ? transpose2d(t) : t);
  }
  return out;
}

const ALBERT_CONFIG = {
  vocab_size: V,
  embedding_size: 3,
  hidden_size: H,
  num_hidden_layers: 3,
  num_hidden_groups: 1,
  inner_group_num: 1,
  num_attention_heads: HEADS,
  intermediate_size: I,
  max_position_embeddings: P,
  type_vocab_size: 2,
};

for (const head of ['classifier', 'squad v1'] as const) {
  test(`albert ${head} checkpoint → ${head === 'classifier' ? 'AlbertForSequenceClassification' : 'AlbertForQuestionAnswering'}, exact in PyTorch`, async (t) => {
    const python = torchPython(t);
    if (!python) return;
    const dir = tempDir(t, 'albert-head');
    const prefix = join(dir, 'model.ckpt');
    const [w, b, n] =
      head === 'classifier'
        ? ['output_weights', 'output_bias', 1]
        : ['cls/squad/output_weights', 'cls/squad/output_bias', 2];
    await writeCheckpoint(prefix, [...albertSpec(), [w, [n, H]], [b, [n]]], 21);
    writeFileSync(join(dir, 'albert_config.json'), JSON.stringify(ALBERT_CONFIG));
    const plan = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr);
    checkGolden(`albert-${head === 'classifier' ? 'classifier-1-label' : 'squad-v1'}.plan.txt`, plan.stdout);
    const folder = join(dir, 'out');
    const r = convert(prefix, folder, ...(head === 'classifier' ? ['--finetuning_task_name', 'sts-b'] : []));
    assert.equal(r.code, 0, r.stderr);
    const tf = await readTfTensors(prefix);
    const expected = expectedAlbert(tf, head === 'classifier');
    const key = head === 'classifier' ? 'classifier' : 'qa_outputs';
    expected.set(`${key}.weight`, tf.get(w) as RawTensor);
    expected.set(`${key}.bias`, tf.get(b) as RawTensor);
    assertSame(loadWithTorch(python, join(folder, 'pytorch_model.bin')), expected);
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    if (head === 'classifier') {
      assert.deepEqual(config.architectures, ['AlbertForSequenceClassification']);
      assert.equal(config.finetuning_task, 'sts-b');
      assert.deepEqual(config.id2label, { 0: 'LABEL_0' });
    } else {
      assert.deepEqual(config.architectures, ['AlbertForQuestionAnswering']);
    }
  });
}

/** xlnet.py XLNetModel's variables for a fine-tuning graph (untie_r: stacked per-layer biases; no mask_emb). */
function xlnetSpec(d: number, n: number, dh: number, inner: number, layers: number): Spec {
  const spec: Spec = [
    ['model/transformer/word_embedding/lookup_table', [V, d]],
    ['model/transformer/r_w_bias', [layers, n, dh]],
    ['model/transformer/r_r_bias', [layers, n, dh]],
    ['model/transformer/r_s_bias', [layers, n, dh]],
    ['model/transformer/seg_embed', [layers, 2, n, dh]],
  ];
  for (let l = 0; l < layers; l++) {
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
  return spec;
}

test('xlnet run_classifier.py checkpoint → XLNetForSequenceClassification with its trained logits_proj and summary', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tempDir(t, 'xlnet-cls');
  const prefix = join(dir, 'model.ckpt-1200');
  const [d, n, dh, inner] = [6, 2, 3, 12];
  await writeCheckpoint(
    prefix,
    [
      ...xlnetSpec(d, n, dh, inner, L),
      ['model/sequnece_summary/summary/kernel', [d, d]],
      ['model/sequnece_summary/summary/bias', [d]],
      ['model/classification_mnli/logit/kernel', [d, 3]],
      ['model/classification_mnli/logit/bias', [3]],
    ],
    31,
  );
  writeFileSync(
    join(dir, 'xlnet_config.json'),
    JSON.stringify({
      d_head: dh,
      d_inner: inner,
      d_model: d,
      ff_activation: 'gelu',
      n_head: n,
      n_layer: L,
      n_token: V,
      untie_r: true,
    }),
  );
  const inspect = runCli(['inspect', prefix, '--json']);
  assert.equal(
    JSON.parse(inspect.stdout).model.summary,
    'xlnet checkpoint: XLNetForSequenceClassification, 3 labels (task mnli)',
  );
  const plan = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run']);
  assert.equal(plan.code, 0, plan.stderr);
  checkGolden('xlnet-run-classifier-mnli.plan.txt', plan.stdout);

  const wrong = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run', '--finetuning_task_name', 'sst-2']);
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /--finetuning_task_name sst-2 has no head in the checkpoint: its head is model\/classification_mnli\/logit\/kernel \[6, 3\], for task mnli/,
  );

  const folder = join(dir, 'out');
  const r = convert(prefix, folder, '--finetuning_task_name', 'mnli');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^note: xlnet: the trained classification_mnli head is kept as logits_proj \(transformers' converter leaves a random one there\)$/m,
  );
  const tf = await readTfTensors(prefix);
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  const get = (name: string) => tf.get(name) as RawTensor;
  for (const [key, e] of [
    ['logits_proj.weight', transpose2d(get('model/classification_mnli/logit/kernel'))],
    ['logits_proj.bias', get('model/classification_mnli/logit/bias')],
    ['sequence_summary.summary.weight', transpose2d(get('model/sequnece_summary/summary/kernel'))],
    ['sequence_summary.summary.bias', get('model/sequnece_summary/summary/bias')],
    ['transformer.layer.1.ff.layer_2.weight', transpose2d(get('model/transformer/layer_1/ff/layer_2/kernel'))],
    ['transformer.word_embedding.weight', get('model/transformer/word_embedding/lookup_table')],
  ] as const) {
    assert.deepEqual(loaded.get(key)?.shape, e.shape, key);
    assert.deepEqual(Buffer.from(loaded.get(key)?.bytes ?? []), Buffer.from(e.bytes), `${key}: values differ`);
  }
  assert.equal(loaded.has('transformer.mask_emb'), false, 'not in a fine-tuning graph: left for from_pretrained');
  assert.equal(loaded.size, 1 + L * 17 + 4);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['XLNetForSequenceClassification']);
  assert.equal(config.finetuning_task, 'mnli');
  assert.deepEqual(Object.keys(config.id2label), ['0', '1', '2']);
});

/** A listing (names and shapes, no bytes) for plan-level checks. */
const listingOf = (spec: Spec) => spec.map(([name, shape]) => ({ name, dtype: 'float32' as const, shape }));
const XLNET_USER = { d_inner: 12, d_model: 6, n_head: 2, n_layer: L, n_token: V, untie_r: true };

test('xlnet sts-b (regression_sts-b, run_classifier.py --use_summ_proj=False): 1 label, no summary projection', () => {
  const listing = listingOf([
    ...xlnetSpec(6, 2, 3, 12, L),
    ['model/regression_sts-b/logit/kernel', [6, 1]],
    ['model/regression_sts-b/logit/bias', [1]],
  ]);
  const notes: string[] = [];
  const config = xlnet.buildConfig({
    user: XLNET_USER,
    listing,
    sidecar: () => undefined,
    note: (n) => notes.push(cliText(n)),
  });
  assert.deepEqual(
    [config.architectures, config.summary_use_proj, config.id2label, config.finetuning_task],
    [['XLNetForSequenceClassification'], false, { 0: 'LABEL_0' }, undefined],
  );
  assert.ok(
    notes.some((n) => /no model\/sequnece_summary\/summary\/kernel in the checkpoint: summary_use_proj false/.test(n)),
  );
  const plan = buildPlan(listing, xlnet, config);
  const keys = plan.outputs.map((o) => o.key);
  assert.deepEqual(keys.slice(-2), ['logits_proj.weight', 'logits_proj.bias']);
  assert.ok(!keys.some((k) => k.startsWith('sequence_summary.')));
  assert.deepEqual(
    plan.missing.map((m) => m.key),
    ['transformer.mask_emb'],
  );
});

test('xlnet with two task heads (cls_scope): the task picks one, the other is skipped; without a task, an error', () => {
  const listing = listingOf([
    ...xlnetSpec(6, 2, 3, 12, L),
    ['model/sequnece_summary/summary/kernel', [6, 6]],
    ['model/sequnece_summary/summary/bias', [6]],
    ['model/classification_imdb/logit/kernel', [6, 2]],
    ['model/classification_imdb/logit/bias', [2]],
    ['model/classification_yelp5/logit/kernel', [6, 5]],
    ['model/classification_yelp5/logit/bias', [5]],
  ]);
  assert.throws(
    () => xlnet.buildConfig({ user: XLNET_USER, listing, sidecar: () => undefined }),
    /the checkpoint has 2 fine-tuned heads \(model\/classification_imdb\/logit\/kernel \[6, 2\], model\/classification_yelp5\/logit\/kernel \[6, 5\]\): choose one with --finetuning_task_name \(imdb, yelp5\)/,
  );
  const config = xlnet.buildConfig({
    user: XLNET_USER,
    listing,
    sidecar: () => undefined,
    options: { finetuning_task_name: 'Yelp5' },
  });
  assert.equal(Object.keys(config.id2label as object).length, 5);
  const plan = buildPlan(listing, xlnet, config);
  const head = plan.outputs.find((o) => o.key === 'logits_proj.weight');
  assert.ok(head?.kind === 'tensor');
  assert.equal(head.sources[0]?.name, 'model/classification_yelp5/logit/kernel');
  assert.deepEqual(
    plan.skipped
      .filter((s) => s.reason === 'head of another task')
      .map((s) => s.name)
      .sort(),
    ['model/classification_imdb/logit/bias', 'model/classification_imdb/logit/kernel'],
  );
});

test('bert: a GLUE task on a SQuAD head, and a task on a checkpoint without head, are told apart', () => {
  const listing = listingOf([...bertSpec(), ['cls/squad/output_weights', [2, H]], ['cls/squad/output_bias', [2]]]);
  assert.throws(
    () =>
      bert.buildConfig({
        user: BERT_CONFIG,
        listing,
        sidecar: () => undefined,
        options: { finetuning_task_name: 'qnli' },
      }),
    /--finetuning_task_name qnli is a classification task \(2 labels\), but the checkpoint's head cls\/squad\/output_weights \[2, 4\] \(BertForQuestionAnswering\) answers questions/,
  );
  const squad = bert.buildConfig({
    user: BERT_CONFIG,
    listing,
    sidecar: () => undefined,
    options: { finetuning_task_name: 'squad' },
  });
  assert.deepEqual([squad.architectures, squad.finetuning_task], [['BertForQuestionAnswering'], 'squad']);
});
