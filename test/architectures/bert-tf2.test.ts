/**
 * bert, TF2 Model Garden: the object-based checkpoints of test/support/bert-tf2-checkpoints.ts (the functional
 * encoder, BertPretrainerV2's encoder and masked-LM head, token dropping), and variants of them. The expected
 * state dicts follow transformers' convert_bert_original_tf2_checkpoint_to_pytorch.py (reshape to the weight's
 * shape, then `.T`), computed here with naive loops.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openTensorSource } from '../../src/formats/open.js';
import { locateKey, readObjectGraph } from '../../src/formats/tf-checkpoint/object-graph.js';
import {
  FUNCTIONAL,
  layer,
  lww,
  PRETRAINER,
  type Spec,
  TF2_BERT_SIZES,
  writeTf2Encoder,
  writeTf2Pretrainer,
  writeTf2TokenDropping,
} from '../support/bert-tf2-checkpoints.js';
import { runCli, runCliJson } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly } from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { type RawTensor, transpose2d } from '../support/reference-transforms.js';
import { type Tf2Checkpoint, writeTf2Checkpoint } from '../support/tf2-checkpoint.js';
import { loadWithTorch } from '../support/torch-load.js';

const { V, H, N, I, P, T, L } = TF2_BERT_SIZES;

/** transformers' script: `array.reshape(pointer.shape)` for the attention kernels and biases, then `.T` for kernels. */
function expected(
  w: Tf2Checkpoint['weights'],
  encoder: 'functional' | 'layer',
  prefix: string,
  root = 'model/',
): Map<string, RawTensor> {
  const get = (n: string) => {
    const t = w.get(n);
    assert.ok(t, n);
    return t;
  };
  const as = (t: RawTensor, shape: number[]): RawTensor => ({ ...t, shape });
  const kernel = (n: string) => transpose2d(get(n));
  const out = new Map<string, RawTensor>();
  const scope = (l: number) => (encoder === 'functional' ? lww(4 + l, root) : `encoder/_transformer_layers/${l}`);
  const e = `${prefix}embeddings`;
  if (encoder === 'functional') {
    const word = w.has('masked_lm/embedding_table') ? 'masked_lm/embedding_table' : `${lww(0, root)}/embeddings`;
    out.set(`${e}.word_embeddings.weight`, get(word));
    out.set(`${e}.position_embeddings.weight`, get(`${lww(1, root)}/embeddings`));
    out.set(`${e}.token_type_embeddings.weight`, get(`${lww(2, root)}/embeddings`));
    out.set(`${e}.LayerNorm.weight`, get(`${lww(3, root)}/gamma`));
    out.set(`${e}.LayerNorm.bias`, get(`${lww(3, root)}/beta`));
  } else {
    out.set(`${e}.word_embeddings.weight`, get('masked_lm/embedding_table'));
    out.set(`${e}.position_embeddings.weight`, get('encoder/_position_embedding_layer/embeddings'));
    out.set(`${e}.token_type_embeddings.weight`, get('encoder/_type_embedding_layer/embeddings'));
    out.set(`${e}.LayerNorm.weight`, get('encoder/_embedding_norm_layer/gamma'));
    out.set(`${e}.LayerNorm.bias`, get('encoder/_embedding_norm_layer/beta'));
  }
  for (let l = 0; l < L; l++) {
    const s = scope(l);
    const pt = `${prefix}encoder.layer.${l}`;
    for (const p of ['query', 'key', 'value']) {
      out.set(
        `${pt}.attention.self.${p}.weight`,
        transpose2d(as(get(`${s}/_attention_layer/_${p}_dense/kernel`), [H, H])),
      );
      out.set(`${pt}.attention.self.${p}.bias`, as(get(`${s}/_attention_layer/_${p}_dense/bias`), [H]));
    }
    const o = encoder === 'functional' ? `${s}/_attention_output_dense` : `${s}/_attention_layer/_output_dense`;
    out.set(`${pt}.attention.output.dense.weight`, transpose2d(as(get(`${o}/kernel`), [H, H])));
    out.set(`${pt}.attention.output.dense.bias`, get(`${o}/bias`));
    out.set(`${pt}.attention.output.LayerNorm.weight`, get(`${s}/_attention_layer_norm/gamma`));
    out.set(`${pt}.attention.output.LayerNorm.bias`, get(`${s}/_attention_layer_norm/beta`));
    out.set(`${pt}.intermediate.dense.weight`, kernel(`${s}/_intermediate_dense/kernel`));
    out.set(`${pt}.intermediate.dense.bias`, get(`${s}/_intermediate_dense/bias`));
    out.set(`${pt}.output.dense.weight`, kernel(`${s}/_output_dense/kernel`));
    out.set(`${pt}.output.dense.bias`, get(`${s}/_output_dense/bias`));
    out.set(`${pt}.output.LayerNorm.weight`, get(`${s}/_output_layer_norm/gamma`));
    out.set(`${pt}.output.LayerNorm.bias`, get(`${s}/_output_layer_norm/beta`));
  }
  if (prefix === '') {
    out.set('pooler.dense.weight', kernel(`${lww(4 + L, root)}/kernel`));
    out.set('pooler.dense.bias', get(`${lww(4 + L, root)}/bias`));
  } else {
    out.set('cls.predictions.bias', get('masked_lm/output_bias.Sbias'));
    out.set('cls.predictions.transform.dense.weight', kernel('masked_lm/dense/kernel'));
    out.set('cls.predictions.transform.dense.bias', get('masked_lm/dense/bias'));
    out.set('cls.predictions.transform.LayerNorm.weight', get('masked_lm/layer_norm/gamma'));
    out.set('cls.predictions.transform.LayerNorm.bias', get('masked_lm/layer_norm/beta'));
    // tied: the same storage as the tables they name
    out.set('cls.predictions.decoder.weight', get('masked_lm/embedding_table'));
    out.set('cls.predictions.decoder.bias', get('masked_lm/output_bias.Sbias'));
  }
  return out;
}

let tmp = '';
let encoderPrefix = '';
let pretrainerPrefix = '';
let tokenDropPrefix = '';
let tokenDrop: Tf2Checkpoint;
let encoder: Tf2Checkpoint;
let pretrainer: Tf2Checkpoint;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-bert-tf2-'));
  for (const d of ['encoder', 'pretrainer', 'token-drop']) mkdirSync(join(tmp, d));
  tokenDropPrefix = join(tmp, 'token-drop', 'ckpt-5');
  tokenDrop = await writeTf2TokenDropping(tokenDropPrefix);
  encoderPrefix = join(tmp, 'encoder', 'ckpt-3');
  pretrainerPrefix = join(tmp, 'pretrainer', 'ckpt-3');
  encoder = await writeTf2Encoder(encoderPrefix);
  pretrainer = await writeTf2Pretrainer(pretrainerPrefix);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('bert TF2 golden plans: the functional encoder → BertModel, the pre-trainer → BertForMaskedLM', () => {
  const r = runCli(['convert', '--tf_checkpoint', encoderPrefix, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: bert checkpoint: BertModel \(detected from /);
  checkGolden('bert-tf2-model-garden-encoder.plan.txt', r.stdout);
  const m = runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', pretrainerPrefix, '--dry-run']);
  assert.equal(m.code, 0, m.stderr);
  checkGolden('bert-tf2-pretrainer-masked-lm.plan.txt', m.stdout);
});

test('bert TF2 functional encoder → BertModel in PyTorch with exact values, config from the shapes', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  for (const args of [[], ['--model_type', 'bert']]) {
    const folder = join(tmp, `encoder-hf${args.length}`);
    const r = runCli([
      'convert',
      ...args,
      '--tf_checkpoint',
      encoderPrefix,
      '--pytorch_dump_output',
      folder,
      '--format',
      'pytorch',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertExactly(
      loadWithTorch(python, join(folder, 'pytorch_model.bin')),
      expected(encoder.weights, 'functional', ''),
    );
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, ['BertModel']);
    assert.deepEqual(
      [config.vocab_size, config.hidden_size, config.num_attention_heads, config.intermediate_size],
      [V, H, N, I],
    );
    assert.deepEqual([config.num_hidden_layers, config.max_position_embeddings, config.type_vocab_size], [L, P, T]);
  }
});

test('bert TF2 pre-trainer → BertForMaskedLM in PyTorch with exact values, the head kept and tied', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'pretrainer-hf');
  const r = runCli([
    'convert',
    '--tf_checkpoint',
    pretrainerPrefix,
    '--pytorch_dump_output',
    folder,
    '--format',
    'pytorch',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assertExactly(
    loadWithTorch(python, join(folder, 'pytorch_model.bin')),
    expected(pretrainer.weights, 'layer', 'bert.'),
  );
  assert.deepEqual(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')).architectures, ['BertForMaskedLM']);
});

test('bert TF2 token dropping → BertForMaskedLM with exact values; the routing state left out', async (t) => {
  const r = runCli(['convert', '--tf_checkpoint', tokenDropPrefix, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  checkGolden('bert-tf2-token-dropping.plan.txt', r.stdout);
  assert.match(
    r.stdout,
    /encoder\/_token_importance_embed\/importance_embed\/\.ATTRIBUTES\/VARIABLE_VALUE: token dropping/,
  );
  const python = torchPython(t);
  if (!python) return;
  const out = join(tmp, 'token-drop.bin');
  const c = runCli([
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    tokenDropPrefix,
    '--pytorch_dump_output',
    out,
  ]);
  assert.equal(c.code, 0, c.stderr);
  assertExactly(loadWithTorch(python, out), expected(tokenDrop.weights, 'layer', 'bert.'));
});

test('bert TF2 pre-trainer over the functional encoder → BertForMaskedLM: the word table found under the head', async (t) => {
  // BertPretrainerV2 (`encoder/`, `masked_lm/`) over the functional networks/bert_encoder.py: the table it shares
  // with the head is saved once, at the shorter `masked_lm/embedding_table`, so layer_with_weights-0 holds nothing
  const dir = join(tmp, 'functional-pretrainer');
  mkdirSync(dir);
  const prefix = join(dir, 'ckpt-2');
  const specs: Spec[] = [
    ...FUNCTIONAL.slice(1).map(([n, shape]): Spec => [n.replace(/^model\//, 'encoder/'), shape]),
    ...PRETRAINER.filter(([n]) => n.startsWith('masked_lm/')),
  ];
  const written = await writeTf2Checkpoint(prefix, specs, {
    seed: 24,
    aliases: [['encoder/layer_with_weights-0/embeddings', 'masked_lm/embedding_table']],
  });
  const python = torchPython(t);
  if (!python) return;
  const out = join(dir, 'out.bin');
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: bert checkpoint: BertForMaskedLM \(detected from /);
  assertExactly(loadWithTorch(python, out), expected(written.weights, 'functional', 'bert.', 'encoder/'));
});

test('inspect names a Model Garden checkpoint bert and shows its object tree from the stored graph', () => {
  const j = runCliJson(['inspect', encoderPrefix, '--json']);
  assert.deepEqual([j.model.modelType, j.model.modelClass], ['bert', 'BertModel']);
  assert.equal(j.objectGraph.from, 'proto');
  const again = j.objectGraph.tree.find((l: { name: string }) => l.name === 'layer-3');
  assert.equal(again.seenAt, 'model/layer_with_weights-0');
  const m = runCliJson(['inspect', pretrainerPrefix, '--json']);
  assert.deepEqual([m.model.modelType, m.model.modelClass], ['bert', 'BertForMaskedLM']);
});

test('the shared table is where the object graph puts it: the head’s path, not the encoder’s', async () => {
  const source = await openTensorSource(pretrainerPrefix, {});
  try {
    const { graph, from } = await readObjectGraph(source);
    assert.equal(from, 'proto');
    const at = locateKey(graph, 'masked_lm/embedding_table/.ATTRIBUTES/VARIABLE_VALUE');
    assert.equal(at?.path, 'masked_lm/embedding_table');
  } finally {
    await source.close();
  }
});

test('object-based checkpoints of other shapes are refused: another network, or a type without a TF2 reader', async () => {
  const other = join(tmp, 'other', 'ckpt-1');
  mkdirSync(join(tmp, 'other'));
  // an embedding projection after the LayerNorm (embedding_width != hidden_size): not BertModel
  await writeTf2Checkpoint(other, [
    ...FUNCTIONAL.slice(0, 5),
    [`${lww(4)}/kernel`, [H, H]],
    [`${lww(4)}/bias`, [H]],
    ...layer(lww(5), '_attention_output_dense'),
  ]);
  const r = runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', other, '--dry-run']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /error\[E_WRONG_CHECKPOINT_KIND\]: .*layer_with_weights-4 holds \[bias, kernel\], where Model Garden's BERT encoder has the first transformer layer/,
  );
  const task = runCli(['convert', '--tf_checkpoint', encoderPrefix, '--finetuning_task_name', 'mrpc', '--dry-run']);
  assert.equal(task.code, 2);
  assert.match(
    task.stderr,
    /--finetuning_task_name is not an option of --model_type bert for TF2 object-based checkpoints/,
  );
  const a = runCli(['convert', '--model_type', 'albert', '--tf_checkpoint', encoderPrefix, '--dry-run']);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /error\[E_WRONG_CHECKPOINT_KIND\]: .*TF2 object-based checkpoint/);
});
