import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { albert } from '../../src/architectures/albert.js';
import { planConversion } from '../../src/convert/index.js';
import { openTfCheckpoint } from '../../src/formats/tf-checkpoint/index.js';
import { buildPlan, formatPlan } from '../../src/mapping/index.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';
import { torchPython } from '../support/python.js';
import { type RawTensor, readTfTensors, transpose2d } from '../support/reference-transforms.js';
import { tempDir } from '../support/temp.js';
import { synthesizeFromIndex } from '../support/tf-bundle-writer.js';
import { loadWithTorch } from '../support/torch-load.js';

const G = 'bert/encoder/transformer/group_0/inner_group_0';
const K = 'albert.encoder.albert_layer_groups.0.albert_layers.0';
/** REFERENCE D.2's table for the Google ALBERT names, written out: TF name → [HF key, transposed]. */
const TABLE: readonly [string, string, boolean][] = [
  ['bert/embeddings/word_embeddings', 'albert.embeddings.word_embeddings.weight', false],
  ['bert/embeddings/position_embeddings', 'albert.embeddings.position_embeddings.weight', false],
  ['bert/embeddings/token_type_embeddings', 'albert.embeddings.token_type_embeddings.weight', false],
  ['bert/embeddings/LayerNorm/gamma', 'albert.embeddings.LayerNorm.weight', false],
  ['bert/embeddings/LayerNorm/beta', 'albert.embeddings.LayerNorm.bias', false],
  ['bert/encoder/embedding_hidden_mapping_in/kernel', 'albert.encoder.embedding_hidden_mapping_in.weight', true],
  ['bert/encoder/embedding_hidden_mapping_in/bias', 'albert.encoder.embedding_hidden_mapping_in.bias', false],
  ...['query', 'key', 'value'].flatMap((p): [string, string, boolean][] => [
    [`${G}/attention_1/self/${p}/kernel`, `${K}.attention.${p}.weight`, true],
    [`${G}/attention_1/self/${p}/bias`, `${K}.attention.${p}.bias`, false],
  ]),
  [`${G}/attention_1/output/dense/kernel`, `${K}.attention.dense.weight`, true],
  [`${G}/attention_1/output/dense/bias`, `${K}.attention.dense.bias`, false],
  [`${G}/LayerNorm/gamma`, `${K}.attention.LayerNorm.weight`, false],
  [`${G}/LayerNorm/beta`, `${K}.attention.LayerNorm.bias`, false],
  [`${G}/ffn_1/intermediate/dense/kernel`, `${K}.ffn.weight`, true],
  [`${G}/ffn_1/intermediate/dense/bias`, `${K}.ffn.bias`, false],
  [`${G}/ffn_1/intermediate/output/dense/kernel`, `${K}.ffn_output.weight`, true],
  [`${G}/ffn_1/intermediate/output/dense/bias`, `${K}.ffn_output.bias`, false],
  [`${G}/LayerNorm_1/gamma`, `${K}.full_layer_layer_norm.weight`, false],
  [`${G}/LayerNorm_1/beta`, `${K}.full_layer_layer_norm.bias`, false],
  ['bert/pooler/dense/kernel', 'albert.pooler.weight', true],
  ['bert/pooler/dense/bias', 'albert.pooler.bias', false],
  ['cls/predictions/transform/dense/kernel', 'predictions.dense.weight', true],
  ['cls/predictions/transform/dense/bias', 'predictions.dense.bias', false],
  ['cls/predictions/transform/LayerNorm/gamma', 'predictions.LayerNorm.weight', false],
  ['cls/predictions/transform/LayerNorm/beta', 'predictions.LayerNorm.bias', false],
  ['cls/predictions/output_bias', 'predictions.bias', false],
  ['cls/seq_relationship/output_weights', 'sop_classifier.classifier.weight', false],
  ['cls/seq_relationship/output_bias', 'sop_classifier.classifier.bias', false],
];

test('albert small zh: golden plan from the real index (Google names, Adam slots skipped)', async (t) => {
  const dir = realFixture(t, 'albert-small-zh-google-indexonly');
  if (!dir) return;
  const { plan } = await planConversion({ modelType: 'albert', checkpoint: join(dir, 'albert_model.ckpt') });
  assert.equal(plan.skipped.length, 65);
  assert.deepEqual(
    plan.outputs
      .filter((o) => o.kind === 'tensor')
      .map((o) => [o.key, o.kind === 'tensor' ? o.sources[0]?.name : ''])
      .sort(),
    TABLE.map(([tf, key]) => [key, tf]).sort(),
  );
  checkGolden('albert-small-zh-google-indexonly.plan.txt', formatPlan(plan));
});

test('albert: TF-Hub names with a module/ prefix give the same plan', async (t) => {
  const dir = realFixture(t, 'albert-small-zh-google-indexonly');
  if (!dir) return;
  const { plan, config } = await planConversion({ modelType: 'albert', checkpoint: join(dir, 'albert_model.ckpt') });
  const ckpt = await openTfCheckpoint(join(dir, 'albert_model.ckpt'));
  const listing = ckpt.tensors.map((x) => ({ name: `module/${x.name}`, dtype: x.dtype, shape: x.shape }));
  await ckpt.close();
  const hub = buildPlan(listing, albert, config);
  assert.deepEqual(
    hub.outputs.map((o) => [o.key, o.shape]),
    plan.outputs.map((o) => [o.key, o.shape]),
  );
});

test('albert small zh, synthesized data: the .bin loads in PyTorch with the TF values, decoder tied to the embeddings', async (t) => {
  const dir = realFixture(t, 'albert-small-zh-google-indexonly');
  if (!dir) return;
  const python = torchPython(t);
  if (!python) return;
  const tmp = tempDir(t, 'albert');
  const prefix = join(tmp, 'albert_model.ckpt');
  await synthesizeFromIndex(join(dir, 'albert_model.ckpt'), prefix, { seed: 3 });
  const out = join(tmp, 'pytorch_model.bin');
  const r = runCli([
    'convert',
    '--model_type',
    'albert',
    '--tf_checkpoint',
    prefix,
    '--config',
    join(dir, 'albert_config.json'),
    '--pytorch_dump_output',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, out);
  const tf = await readTfTensors(prefix);
  for (const [name, key, transposed] of TABLE) {
    const source = tf.get(name) as RawTensor;
    const want = transposed ? transpose2d(source) : source;
    const got = loaded.get(key);
    assert.ok(got, `${key} missing`);
    assert.deepEqual(got.shape, want.shape, key);
    assert.deepEqual(Buffer.from(got.bytes), Buffer.from(want.bytes), `${key}: values differ`);
  }
  assert.equal(loaded.size, TABLE.length + 2);
  assert.equal(
    loaded.get('predictions.decoder.weight')?.dataPtr,
    loaded.get('albert.embeddings.word_embeddings.weight')?.dataPtr,
  );
  assert.equal(loaded.get('predictions.decoder.bias')?.dataPtr, loaded.get('predictions.bias')?.dataPtr);
});

test('albert: a config of another model names the disagreeing fields', (t) => {
  const dir = realFixture(t, 'albert-small-zh-google-indexonly');
  if (!dir) return;
  const tmp = tempDir(t, 'albert-cfg');
  const config = join(tmp, 'albert_config.json');
  // albert-base sizes against the small checkpoint
  writeFileSync(
    config,
    JSON.stringify({
      embedding_size: 128,
      hidden_size: 768,
      intermediate_size: 3072,
      num_attention_heads: 12,
      num_hidden_layers: 12,
      vocab_size: 30000,
    }),
  );
  const r = runCli([
    'convert',
    '--model_type',
    'albert',
    '--tf_checkpoint',
    join(dir, 'albert_model.ckpt'),
    '--config',
    config,
    '--pytorch_dump_output',
    join(tmp, 'x.bin'),
    '--dry-run',
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_CONFIG/);
  assert.match(r.stderr, /vocab_size: config says 30000, checkpoint has 21128/);
  assert.match(r.stderr, /hidden_size: config says 768, checkpoint has 384/);
  // the report starts with a one-line summary: how many fields, the first
  const summary =
    /does not describe this checkpoint: (\d+) fields disagree, first '(\w+)' \(config (\S+), checkpoint (\S+)\):/.exec(
      r.stderr,
    );
  assert.ok(summary, r.stderr);
  const listed = [...r.stderr.matchAll(/^ {2}(\w+): config says (\S+), checkpoint has (\S+) /gm)];
  assert.equal(Number(summary[1]), listed.length);
  assert.deepEqual(summary.slice(2, 5), listed[0]?.slice(1, 4));
});
