/**
 * ELECTRA: a pre-training checkpoint with the names google-research/electra creates —
 * model/modeling.py (BertModel: `{electra|generator}/embeddings/…` shared as `electra/embeddings`,
 * `{scope}/embeddings_project`, `{scope}/encoder/layer_{n}/…`), run_pretraining.py
 * (`generator_predictions/{dense,LayerNorm,output_bias}`, `discriminator_predictions/{dense,dense_1}`)
 * and model/optimization.py (AdamWeightDecayOptimizer's `{param}/adam_m`, `{param}/adam_v`), plus
 * `global_step` — converted through the CLI as either network, loaded by the real PyTorch.
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
  bertLayerRows,
  expectedFrom,
  type VariableSpec,
  writeOriginalCheckpoint,
} from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { readTfTensors } from '../support/reference-transforms.js';
import { loadWithTorch } from '../support/torch-load.js';
import { assertWordPieceTokenizer, tinyWordPieceVocab } from '../support/transformers.js';

// vocab, embedding width, positions; discriminator width 16 (so an embeddings_project), generator 12
const [V, E, P] = [20, 8, 16];
const NETWORKS = { electra: { H: 16, L: 2 }, generator: { H: 12, L: 2 } } as const;

function encoder(scope: 'electra' | 'generator'): VariableSpec[] {
  const { H, L } = NETWORKS[scope];
  const I = 4 * H;
  const out: VariableSpec[] = [
    [`${scope}/embeddings_project/kernel`, [E, H]],
    [`${scope}/embeddings_project/bias`, [H]],
  ];
  for (let l = 0; l < L; l++) {
    const p = `${scope}/encoder/layer_${l}`;
    for (const q of ['query', 'key', 'value'])
      out.push([`${p}/attention/self/${q}/kernel`, [H, H]], [`${p}/attention/self/${q}/bias`, [H]]);
    out.push(
      [`${p}/attention/output/dense/kernel`, [H, H]],
      [`${p}/attention/output/dense/bias`, [H]],
      [`${p}/attention/output/LayerNorm/gamma`, [H]],
      [`${p}/attention/output/LayerNorm/beta`, [H]],
      [`${p}/intermediate/dense/kernel`, [H, I]],
      [`${p}/intermediate/dense/bias`, [I]],
      [`${p}/output/dense/kernel`, [I, H]],
      [`${p}/output/dense/bias`, [H]],
      [`${p}/output/LayerNorm/gamma`, [H]],
      [`${p}/output/LayerNorm/beta`, [H]],
    );
  }
  return out;
}

const VARIABLES: VariableSpec[] = [
  ['electra/embeddings/word_embeddings', [V, E]],
  ['electra/embeddings/position_embeddings', [P, E]],
  ['electra/embeddings/token_type_embeddings', [2, E]],
  ['electra/embeddings/LayerNorm/gamma', [E]],
  ['electra/embeddings/LayerNorm/beta', [E]],
  ...encoder('electra'),
  ...encoder('generator'),
  ['generator_predictions/dense/kernel', [12, E]],
  ['generator_predictions/dense/bias', [E]],
  ['generator_predictions/LayerNorm/gamma', [E]],
  ['generator_predictions/LayerNorm/beta', [E]],
  ['generator_predictions/output_bias', [V]],
  ['discriminator_predictions/dense/kernel', [16, 16]],
  ['discriminator_predictions/dense/bias', [16]],
  ['discriminator_predictions/dense_1/kernel', [16, 1]],
  ['discriminator_predictions/dense_1/bias', [1]],
];

/** The state dict transformers' loader gives, written out key by key: [key, TF variable, transposed]. */
function table(scope: 'electra' | 'generator'): [string, string, boolean?][] {
  const rows: [string, string, boolean?][] = [
    ['electra.embeddings.word_embeddings.weight', 'electra/embeddings/word_embeddings'],
    ['electra.embeddings.position_embeddings.weight', 'electra/embeddings/position_embeddings'],
    ['electra.embeddings.token_type_embeddings.weight', 'electra/embeddings/token_type_embeddings'],
    ['electra.embeddings.LayerNorm.weight', 'electra/embeddings/LayerNorm/gamma'],
    ['electra.embeddings.LayerNorm.bias', 'electra/embeddings/LayerNorm/beta'],
    ['electra.embeddings_project.weight', `${scope}/embeddings_project/kernel`, true],
    ['electra.embeddings_project.bias', `${scope}/embeddings_project/bias`],
  ];
  for (let l = 0; l < NETWORKS[scope].L; l++) {
    const [k, p] = [`electra.encoder.layer.${l}`, `${scope}/encoder/layer_${l}`];
    rows.push(...bertLayerRows(k, p));
  }
  if (scope === 'electra')
    rows.push(
      ['discriminator_predictions.dense.weight', 'discriminator_predictions/dense/kernel', true],
      ['discriminator_predictions.dense.bias', 'discriminator_predictions/dense/bias'],
      ['discriminator_predictions.dense_prediction.weight', 'discriminator_predictions/dense_1/kernel', true],
      ['discriminator_predictions.dense_prediction.bias', 'discriminator_predictions/dense_1/bias'],
    );
  else
    rows.push(
      ['generator_predictions.LayerNorm.weight', 'generator_predictions/LayerNorm/gamma'],
      ['generator_predictions.LayerNorm.bias', 'generator_predictions/LayerNorm/beta'],
      ['generator_predictions.dense.weight', 'generator_predictions/dense/kernel', true],
      ['generator_predictions.dense.bias', 'generator_predictions/dense/bias'],
      ['generator_lm_head.weight', 'electra/embeddings/word_embeddings'],
      ['generator_lm_head.bias', 'generator_predictions/output_bias'],
    );
  return rows;
}

let tmp = '';
let prefix = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-electra-'));
  prefix = join(tmp, 'model.ckpt-1000');
  await writeOriginalCheckpoint(prefix, VARIABLES, { seed: 10, slots: ['adam_m', 'adam_v'] });
  writeFileSync(join(tmp, 'vocab.txt'), tinyWordPieceVocab(V));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convertArgs = (out: string, ...more: string[]) => [
  'convert',
  '--model_type',
  'electra',
  '--tf_checkpoint',
  prefix,
  '--pytorch_dump_output',
  out,
  ...more,
];

test('electra golden plans: discriminator (default) and generator, trainer state and the other network skipped', () => {
  for (const [network, golden] of [
    ['discriminator', 'electra-synthetic.discriminator.plan.txt'],
    ['generator', 'electra-synthetic.generator.plan.txt'],
  ] as const) {
    const r = runCli(convertArgs(join(tmp, 'unused'), '--discriminator_or_generator', network, '--dry-run'));
    assert.equal(r.code, 0, r.stderr);
    checkGolden(golden, r.stdout);
  }
});

test('electra discriminator without a config: ElectraForPreTraining, exact values in PyTorch, config derived and said so', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'discriminator');
  const r = runCli(convertArgs(folder, '--format', 'pytorch'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: no config given: derived from the checkpoint's shapes: .*hidden_size=16/);
  assert.match(r.stderr, /assumed .*num_attention_heads=1 \(ELECTRA's rule/);
  const tf = await readTfTensors(prefix);
  assertExactly(loadWithTorch(python, join(folder, 'pytorch_model.bin')), expectedFrom(tf, table('electra')));
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['ElectraForPreTraining']);
  assert.deepEqual(
    [config.vocab_size, config.embedding_size, config.hidden_size, config.num_hidden_layers, config.intermediate_size],
    [V, E, 16, 2, 64],
  );
  assert.equal(readFileSync(join(folder, 'vocab.txt'), 'utf8').split('\n').length, V);
  assertWordPieceTokenizer(t, folder, 'ElectraTokenizer');
});

test('electra --discriminator_or_generator generator: ElectraForMaskedLM, lm head tied to the shared embeddings', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const config = join(tmp, 'generator-config.json');
  // transformers' ElectraConfig of the generator, as its conversion script takes it
  writeFileSync(
    config,
    JSON.stringify({
      embedding_size: E,
      hidden_size: 12,
      intermediate_size: 48,
      max_position_embeddings: P,
      num_attention_heads: 1,
      num_hidden_layers: 2,
      vocab_size: V,
    }),
  );
  const out = join(tmp, 'generator', 'pytorch_model.bin');
  const r = runCli(convertArgs(out, '--config', config, '--discriminator-or-generator', 'generator'));
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, out);
  // the position_ids buffer ElectraForMaskedLM needs in transformers ≤ 4.30: 0 … P-1, int64 [1, P]
  const ids = loaded.get('electra.embeddings.position_ids');
  assert.deepEqual([ids?.dtype, ids?.shape], ['int64', [1, P]]);
  assert.deepEqual([...new BigInt64Array(new Uint8Array(ids?.bytes ?? []).buffer)], [...Array(P).keys()].map(BigInt));
  const weights = new Map([...loaded].filter(([key]) => key !== 'electra.embeddings.position_ids'));
  assertExactly(weights, expectedFrom(await readTfTensors(prefix), table('generator')));
  assert.equal(
    loaded.get('generator_lm_head.weight')?.dataPtr,
    loaded.get('electra.embeddings.word_embeddings.weight')?.dataPtr,
    'generator_lm_head.weight is the word embedding table (one storage)',
  );
  const written = JSON.parse(readFileSync(join(tmp, 'generator', 'config.json'), 'utf8'));
  assert.deepEqual(written.architectures, ['ElectraForMaskedLM']);
});

test('electra: a config that does not describe the chosen network is refused field by field; bad flags are usage errors', () => {
  const config = join(tmp, 'wrong-config.json');
  writeFileSync(config, JSON.stringify({ embedding_size: E, hidden_size: 12, intermediate_size: 48, vocab_size: V }));
  const r = runCli(convertArgs(join(tmp, 'x'), '--config', config, '--dry-run'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /hidden_size: config says 12, checkpoint has 16 \(electra\/encoder\/layer_0/);
  assert.match(r.stderr, /num_hidden_layers: config says 12, checkpoint has 2/);

  const choice = runCli(convertArgs(join(tmp, 'x'), '--discriminator_or_generator', 'both', '--dry-run'));
  assert.equal(choice.code, 2);
  assert.match(choice.stderr, /--discriminator_or_generator both: expected one of discriminator, generator/);
  const foreign = runCli([
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    prefix,
    '--discriminator_or_generator',
    'generator',
    '--dry-run',
  ]);
  assert.equal(foreign.code, 2);
  assert.match(foreign.stderr, /--discriminator_or_generator is not an option of --model_type bert/);
});

test('electra without --model_type: recognised by its scopes; the flag still picks the network', () => {
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--discriminator_or_generator', 'generator', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: electra checkpoint: .*\(detected from /);
  assert.match(r.stdout, /^model_type: electra \(ElectraForMaskedLM\)/);
});
