/**
 * MobileBERT: a distillation checkpoint with the names google-research/google-research `mobilebert/`
 * creates — modeling.py (BertModel: `bert/embeddings/embedding_transformation`, `FakeLayerNorm` for
 * no_norm, `layer_{n}/bottleneck/{input,attention}`, `ffn_layer_{i}`, `output/bottleneck`; pooler only
 * with classifier_activation), run_pretraining.py (`cls/predictions/transform`, `output_bias`,
 * `extra_output_weights`, `cls/seq_relationship`, the `teacher/` scope, `hidden_distill_{n}/LayerNorm`)
 * and lamb_optimizer.py (`{param}/adam_m`, `{param}/adam_v`) — converted through the CLI, loaded by the
 * real PyTorch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { loadShardedFolder, loadWithTorch } from '../support/torch-load.js';
import { assertWordPieceTokenizer, tinyWordPieceVocab } from '../support/transformers.js';

// vocab, embedding, hidden, bottleneck (true hidden), intermediate, positions, layers, FFNs
const [V, E, H, B, I, P, L, F] = [24, 4, 16, 8, 12, 10, 2, 3];

/** The original JSON config of this checkpoint, in the released files' format. */
const ORIGINAL_CONFIG = {
  attention_probs_dropout_prob: 0.1,
  hidden_act: 'relu',
  hidden_dropout_prob: 0.0,
  hidden_size: H,
  initializer_range: 0.02,
  intermediate_size: I,
  max_position_embeddings: P,
  num_attention_heads: 2,
  num_hidden_layers: L,
  type_vocab_size: 2,
  vocab_size: V,
  embedding_size: E,
  trigram_input: true,
  use_bottleneck: true,
  intra_bottleneck_size: B,
  key_query_shared_bottleneck: true,
  num_feedforward_networks: F,
  normalization_type: 'no_norm',
  classifier_activation: false,
};

const dense = (scope: string, inp: number, out: number): VariableSpec[] => [
  [`${scope}/kernel`, [inp, out]],
  [`${scope}/bias`, [out]],
];
const norm = (scope: string, size: number, name = 'FakeLayerNorm'): VariableSpec[] => [
  [`${scope}/${name}/beta`, [size]],
  [`${scope}/${name}/gamma`, [size]],
];

function student(): VariableSpec[] {
  const out: VariableSpec[] = [
    ['bert/embeddings/word_embeddings', [V, E]],
    ...dense('bert/embeddings/embedding_transformation', 3 * E, H),
    ['bert/embeddings/token_type_embeddings', [2, H]],
    ['bert/embeddings/position_embeddings', [P, H]],
    ...norm('bert/embeddings', H),
  ];
  for (let l = 0; l < L; l++) {
    const p = `bert/encoder/layer_${l}`;
    out.push(
      ...dense(`${p}/bottleneck/input/dense`, H, B),
      ...norm(`${p}/bottleneck/input`, B),
      ...dense(`${p}/bottleneck/attention/dense`, H, B),
      ...norm(`${p}/bottleneck/attention`, B),
      ...dense(`${p}/attention/self/query`, B, B),
      ...dense(`${p}/attention/self/key`, B, B),
      ...dense(`${p}/attention/self/value`, H, B),
      ...dense(`${p}/attention/output/dense`, B, B),
      ...norm(`${p}/attention/output`, B),
    );
    for (let f = 0; f < F - 1; f++)
      out.push(
        ...dense(`${p}/ffn_layer_${f}/intermediate/dense`, B, I),
        ...dense(`${p}/ffn_layer_${f}/output/dense`, I, B),
        ...norm(`${p}/ffn_layer_${f}/output`, B),
      );
    out.push(
      ...dense(`${p}/intermediate/dense`, B, I),
      ...dense(`${p}/output/dense`, I, B),
      ...norm(`${p}/output`, B),
      ...dense(`${p}/output/bottleneck/dense`, B, H),
      ...norm(`${p}/output/bottleneck`, H),
    );
  }
  out.push(
    ...dense('cls/predictions/transform/dense', H, H),
    ...norm('cls/predictions/transform', H, 'LayerNorm'),
    ['cls/predictions/output_bias', [V]],
    ['cls/predictions/extra_output_weights', [V, H - E]],
    ['cls/seq_relationship/output_weights', [2, H]],
    ['cls/seq_relationship/output_bias', [2]],
  );
  return out;
}

/** A few of the teacher's variables (an IB-BERT under `teacher/`) and the layer-wise distillation norms. */
const DISTILLATION: VariableSpec[] = [
  ['teacher/bert/embeddings/word_embeddings', [V, E]],
  ...dense('teacher/bert/encoder/layer_0/attention/self/query', H, H),
  ...norm('teacher/bert/encoder/layer_0/output', H),
  ['teacher/cls/predictions/output_bias', [V]],
  ...norm('hidden_distill_0', H, 'LayerNorm'),
  ...norm('hidden_distill_0', H, 'LayerNorm_1'),
];

/** [key, TF variable, transposed]: MobileBertForPreTraining as transformers' loader fills it. */
function table(): [string, string, boolean?][] {
  const rows: [string, string, boolean?][] = [];
  const lin = (key: string, tf: string) =>
    rows.push([`${key}.weight`, `${tf}/kernel`, true], [`${key}.bias`, `${tf}/bias`]);
  const nrm = (key: string, tf: string, name = 'FakeLayerNorm') =>
    rows.push([`${key}.weight`, `${tf}/${name}/gamma`], [`${key}.bias`, `${tf}/${name}/beta`]);
  rows.push(
    ['mobilebert.embeddings.word_embeddings.weight', 'bert/embeddings/word_embeddings'],
    ['mobilebert.embeddings.position_embeddings.weight', 'bert/embeddings/position_embeddings'],
    ['mobilebert.embeddings.token_type_embeddings.weight', 'bert/embeddings/token_type_embeddings'],
  );
  lin('mobilebert.embeddings.embedding_transformation', 'bert/embeddings/embedding_transformation');
  nrm('mobilebert.embeddings.LayerNorm', 'bert/embeddings');
  for (let l = 0; l < L; l++) {
    const [k, p] = [`mobilebert.encoder.layer.${l}`, `bert/encoder/layer_${l}`];
    for (const q of ['query', 'key', 'value']) lin(`${k}.attention.self.${q}`, `${p}/attention/self/${q}`);
    lin(`${k}.attention.output.dense`, `${p}/attention/output/dense`);
    nrm(`${k}.attention.output.LayerNorm`, `${p}/attention/output`);
    lin(`${k}.intermediate.dense`, `${p}/intermediate/dense`);
    lin(`${k}.output.dense`, `${p}/output/dense`);
    nrm(`${k}.output.LayerNorm`, `${p}/output`);
    lin(`${k}.output.bottleneck.dense`, `${p}/output/bottleneck/dense`);
    nrm(`${k}.output.bottleneck.LayerNorm`, `${p}/output/bottleneck`);
    for (const b of ['input', 'attention']) {
      lin(`${k}.bottleneck.${b}.dense`, `${p}/bottleneck/${b}/dense`);
      nrm(`${k}.bottleneck.${b}.LayerNorm`, `${p}/bottleneck/${b}`);
    }
    for (let f = 0; f < F - 1; f++) {
      lin(`${k}.ffn.${f}.intermediate.dense`, `${p}/ffn_layer_${f}/intermediate/dense`);
      lin(`${k}.ffn.${f}.output.dense`, `${p}/ffn_layer_${f}/output/dense`);
      nrm(`${k}.ffn.${f}.output.LayerNorm`, `${p}/ffn_layer_${f}/output`);
    }
  }
  rows.push(['cls.predictions.bias', 'cls/predictions/output_bias']);
  lin('cls.predictions.transform.dense', 'cls/predictions/transform/dense');
  nrm('cls.predictions.transform.LayerNorm', 'cls/predictions/transform', 'LayerNorm');
  rows.push(
    ['cls.predictions.dense.weight', 'cls/predictions/extra_output_weights', true],
    ['cls.predictions.decoder.weight', 'bert/embeddings/word_embeddings'],
    ['cls.predictions.decoder.bias', 'cls/predictions/output_bias'],
    ['cls.seq_relationship.weight', 'cls/seq_relationship/output_weights'],
    ['cls.seq_relationship.bias', 'cls/seq_relationship/output_bias'],
  );
  return rows;
}

let tmp = '';
let prefix = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-mobilebert-'));
  prefix = join(tmp, 'mobilebert.ckpt');
  await writeOriginalCheckpoint(prefix, [...student(), ...DISTILLATION], { seed: 11, slots: ['adam_m', 'adam_v'] });
  writeFileSync(join(tmp, 'mobilebert_config.json'), JSON.stringify(ORIGINAL_CONFIG, null, 2));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convertArgs = (...more: string[]) => [
  'convert',
  '--model_type',
  'mobilebert',
  '--tf_checkpoint',
  prefix,
  ...more,
];

test('mobilebert golden plan: teacher, distillation norms and trainer state skipped with their reasons', () => {
  const r = runCli(convertArgs('--config', join(tmp, 'mobilebert_config.json'), '--dry-run'));
  assert.equal(r.code, 0, r.stderr);
  checkGolden('mobilebert-synthetic.plan.txt', r.stdout);
  assert.match(r.stdout, /teacher\/bert\/encoder\/layer_0\/attention\/self\/query\/kernel: distillation teacher/);
});

test('mobilebert with its original JSON config: MobileBertForPreTraining, exact values in PyTorch, tied decoder', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'converted');
  const r = runCli(
    convertArgs(
      '--config',
      join(tmp, 'mobilebert_config.json'),
      '--pytorch_dump_output',
      folder,
      '--format',
      'pytorch',
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  assertExactly(loaded, expectedFrom(await readTfTensors(prefix), table()));
  const ptr = (k: string) => loaded.get(k)?.dataPtr;
  assert.equal(ptr('cls.predictions.decoder.weight'), ptr('mobilebert.embeddings.word_embeddings.weight'));
  assert.equal(ptr('cls.predictions.decoder.bias'), ptr('cls.predictions.bias'));
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['MobileBertForPreTraining']);
  assert.equal(config.true_hidden_size, B);
  assert.equal(config.classifier_activation, false);
});

test('mobilebert without a config: every shape-determined field derived, the rest named as assumed', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const out = join(tmp, 'derived', 'pytorch_model.bin');
  const r = runCli(convertArgs('--pytorch_dump_output', out));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: no config given: derived from the checkpoint's shapes: /);
  assert.match(r.stderr, /assumed .*num_attention_heads=4/);
  assert.doesNotMatch(r.stderr, /assumed .*use_bottleneck_attention/, 'derived from the value kernel');
  const config = JSON.parse(readFileSync(join(tmp, 'derived', 'config.json'), 'utf8'));
  for (const [field, value] of Object.entries(ORIGINAL_CONFIG))
    if (field !== 'num_attention_heads') assert.deepEqual(config[field], value, field);
  assertExactly(loadWithTorch(python, out), expectedFrom(await readTfTensors(prefix), table()));
});

test('mobilebert: a config that does not describe the checkpoint is refused field by field', () => {
  const wrong = join(tmp, 'wrong.json');
  // transformers' defaults where the original JSON is silent: a pooler and 4 FFNs this checkpoint lacks
  const { classifier_activation: _, num_feedforward_networks: __, ...partial } = ORIGINAL_CONFIG;
  writeFileSync(wrong, JSON.stringify({ ...partial, use_bottleneck_attention: true }));
  const r = runCli(convertArgs('--config', wrong, '--dry-run'));
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /classifier_activation: config says true, checkpoint has false \(bert\/pooler\/dense absent\)/,
  );
  assert.match(r.stderr, /num_feedforward_networks: config says 4, checkpoint has 3/);
  // the value projection reads the layer input (width 16), not the bottleneck (8)
  assert.match(r.stderr, /use_bottleneck_attention: config says true, checkpoint has false/);
});

test('mobilebert as a sharded safetensors folder: the tied decoder written once, as save_pretrained does; vocab.txt copied', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  writeFileSync(join(tmp, 'vocab.txt'), tinyWordPieceVocab(V));
  const folder = join(tmp, 'sharded');
  const r = runCli(
    convertArgs(
      '--config',
      join(tmp, 'mobilebert_config.json'),
      '--pytorch_dump_output',
      folder,
      '--max-shard-size',
      '4KB',
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  const expected = expectedFrom(await readTfTensors(prefix), table());
  for (const tied of ['cls.predictions.decoder.weight', 'cls.predictions.decoder.bias']) expected.delete(tied);
  assertExactly(loadShardedFolder(python, join(folder, 'model.safetensors.index.json')), expected);
  assert.ok(readdirSync(folder).filter((f) => f.endsWith('.safetensors')).length > 1, 'several shards');
  assert.equal(readFileSync(join(folder, 'vocab.txt'), 'utf8').split('\n').length, V);
  assertWordPieceTokenizer(t, folder, 'MobileBertTokenizer');
});

test('mobilebert without --model_type: recognised by its bottlenecks, not taken for bert', () => {
  const r = runCli([
    'convert',
    '--tf_checkpoint',
    prefix,
    '--config',
    join(tmp, 'mobilebert_config.json'),
    '--dry-run',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: mobilebert checkpoint: MobileBertForPreTraining \(detected from /);
  assert.match(r.stdout, /^model_type: mobilebert \(MobileBertForPreTraining\)/);
});
