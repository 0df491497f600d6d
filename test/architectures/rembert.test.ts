/**
 * RemBERT: google-research/google-research `rembert/` publishes the checkpoint only (its README: "we only
 * provide the pre-trained checkpoints"), no modeling code. The names below are those of google-research/bert's
 * modeling.py (`bert/embeddings/…`, `bert/encoder/layer_{n}/…`, `bert/pooler/dense`) plus the input projection
 * `bert/encoder/embedding_hidden_mapping_in`, the scopes transformers' load_tf_weights_in_rembert walks in the
 * released checkpoint, with the pre-training head it discards (`cls/…`, the output embedding) and
 * AdamWeightDecayOptimizer's `{param}/adam_m`, `{param}/adam_v` and `global_step`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import {
  assertExactly,
  expectedFrom,
  type VariableSpec,
  writeOriginalCheckpoint,
} from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { readTfTensors } from '../support/reference-transforms.js';
import { loadWithTorch } from '../support/torch-load.js';

// vocab, input embedding, hidden (18 heads of 1, as the released model's head count), intermediate, positions, layers, output embedding
const [V, E, H, I, P, L, O] = [30, 6, 18, 36, 8, 2, 10];

const dense = (scope: string, inp: number, out: number): VariableSpec[] => [
  [`${scope}/kernel`, [inp, out]],
  [`${scope}/bias`, [out]],
];
const norm = (scope: string, size: number): VariableSpec[] => [
  [`${scope}/LayerNorm/beta`, [size]],
  [`${scope}/LayerNorm/gamma`, [size]],
];

function variables(): VariableSpec[] {
  const out: VariableSpec[] = [
    ['bert/embeddings/word_embeddings', [V, E]],
    ['bert/embeddings/token_type_embeddings', [2, E]],
    ['bert/embeddings/position_embeddings', [P, E]],
    ...norm('bert/embeddings', E),
    ...dense('bert/encoder/embedding_hidden_mapping_in', E, H),
  ];
  for (let l = 0; l < L; l++) {
    const p = `bert/encoder/layer_${l}`;
    out.push(
      ...['query', 'key', 'value'].flatMap((q) => dense(`${p}/attention/self/${q}`, H, H)),
      ...dense(`${p}/attention/output/dense`, H, H),
      ...norm(`${p}/attention/output`, H),
      ...dense(`${p}/intermediate/dense`, H, I),
      ...dense(`${p}/output/dense`, I, H),
      ...norm(`${p}/output`, H),
    );
  }
  out.push(
    ...dense('bert/pooler/dense', H, H),
    ...dense('cls/predictions/transform/dense', H, O),
    ...norm('cls/predictions/transform', O),
    ['cls/predictions/output_embedding', [V, O]],
    ['cls/predictions/output_bias', [V]],
  );
  return out;
}

function table(): [string, string, boolean?][] {
  const rows: [string, string, boolean?][] = [
    ['rembert.embeddings.word_embeddings.weight', 'bert/embeddings/word_embeddings'],
    ['rembert.embeddings.position_embeddings.weight', 'bert/embeddings/position_embeddings'],
    ['rembert.embeddings.token_type_embeddings.weight', 'bert/embeddings/token_type_embeddings'],
    ['rembert.embeddings.LayerNorm.weight', 'bert/embeddings/LayerNorm/gamma'],
    ['rembert.embeddings.LayerNorm.bias', 'bert/embeddings/LayerNorm/beta'],
    ['rembert.encoder.embedding_hidden_mapping_in.weight', 'bert/encoder/embedding_hidden_mapping_in/kernel', true],
    ['rembert.encoder.embedding_hidden_mapping_in.bias', 'bert/encoder/embedding_hidden_mapping_in/bias'],
  ];
  const lin = (key: string, tf: string) =>
    rows.push([`${key}.weight`, `${tf}/kernel`, true], [`${key}.bias`, `${tf}/bias`]);
  const nrm = (key: string, tf: string) =>
    rows.push([`${key}.weight`, `${tf}/LayerNorm/gamma`], [`${key}.bias`, `${tf}/LayerNorm/beta`]);
  for (let l = 0; l < L; l++) {
    const [k, p] = [`rembert.encoder.layer.${l}`, `bert/encoder/layer_${l}`];
    for (const q of ['query', 'key', 'value']) lin(`${k}.attention.self.${q}`, `${p}/attention/self/${q}`);
    lin(`${k}.attention.output.dense`, `${p}/attention/output/dense`);
    nrm(`${k}.attention.output.LayerNorm`, `${p}/attention/output`);
    lin(`${k}.intermediate.dense`, `${p}/intermediate/dense`);
    lin(`${k}.output.dense`, `${p}/output/dense`);
    nrm(`${k}.output.LayerNorm`, `${p}/output`);
  }
  lin('rembert.pooler.dense', 'bert/pooler/dense');
  return rows;
}

let tmp = '';
let prefix = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-rembert-'));
  prefix = join(tmp, 'model.ckpt');
  await writeOriginalCheckpoint(prefix, variables(), { seed: 12, slots: ['adam_m', 'adam_v'] });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convertArgs = (...more: string[]) => ['convert', '--model_type', 'rembert', '--tf_checkpoint', prefix, ...more];

test('rembert golden plan: the output embedding and MLM head skipped with their reason', () => {
  const r = runCli(convertArgs('--dry-run'));
  assert.equal(r.code, 0, r.stderr);
  checkGolden('rembert-synthetic.plan.txt', r.stdout);
});

test('rembert without a config: RemBertModel, exact values in PyTorch, config derived and said so', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'out');
  const r = runCli(convertArgs('--pytorch_dump_output', folder, '--format', 'pytorch'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /derived from the checkpoint's shapes: .*input_embedding_size=6.*hidden_size=18/);
  assert.match(r.stderr, /assumed .*num_attention_heads=18/);
  assertExactly(
    loadWithTorch(python, join(folder, 'pytorch_model.bin')),
    expectedFrom(await readTfTensors(prefix), table()),
  );
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['RemBertModel']);
  assert.deepEqual(
    [
      config.vocab_size,
      config.input_embedding_size,
      config.hidden_size,
      config.num_hidden_layers,
      config.intermediate_size,
    ],
    [V, E, H, L, I],
  );
  assert.equal(config.tie_word_embeddings, false);
});

test('rembert with transformers config whose heads do not divide the width: refused naming both fields', () => {
  const config = join(tmp, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      ...{ vocab_size: V, input_embedding_size: E, hidden_size: H },
      num_attention_heads: 4,
      num_hidden_layers: L,
      intermediate_size: I,
      max_position_embeddings: P,
    }),
  );
  const r = runCli(convertArgs('--config', config, '--dry-run'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /hidden_size 18 is not a multiple of num_attention_heads 4/);
});

test('rembert without --model_type: recognised (BERT layers with the input projection), not taken for bert or albert', () => {
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: rembert checkpoint: RemBertModel \(detected from /);
  assert.match(r.stdout, /^model_type: rembert \(RemBertModel\)/);
});
