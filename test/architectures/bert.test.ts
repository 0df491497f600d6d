/**
 * BERT on real checkpoints: golden plans (review against REFERENCE D.1), the TF2 object-based
 * checkpoint refused with its own code, checkpoints without pooler/heads, a `module/` scope.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { bert } from '../../src/architectures/bert.js';
import { planConversion } from '../../src/convert/index.js';
import { ErrorCode } from '../../src/errors.js';
import { formatPlan } from '../../src/mapping/format-plan.js';
import { buildPlan } from '../../src/mapping/plan.js';
import type { TensorInfo } from '../../src/mapping/types.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';

for (const fixture of ['bert-base-uncased-pretrain-adam-indexonly', 'bert-tiny-keras-bert']) {
  test(`golden --dry-run plan of ${fixture}`, (t) => {
    const dir = realFixture(t, fixture);
    if (!dir) return;
    const r = runCli([
      'convert',
      '--model_type',
      'bert',
      '--tf_checkpoint',
      join(dir, 'bert_model.ckpt'),
      '--config',
      join(dir, 'bert_config.json'),
      '--dry-run',
    ]);
    assert.equal(r.code, 0, r.stderr);
    checkGolden(`${fixture}.plan.txt`, r.stdout);
  });
}

test('the full-size plan: 206 variables converted, all Adam slots skipped, 440 MB', async (t) => {
  const dir = realFixture(t, 'bert-base-uncased-pretrain-adam-indexonly');
  if (!dir) return;
  const { plan } = await planConversion({ modelType: 'bert', checkpoint: join(dir, 'bert_model.ckpt') });
  assert.equal(plan.outputs.length, 5 + 12 * 16 + 2 + 1 + 4 + 2 + 2);
  assert.equal(plan.skipped.length, 619 - 206);
  assert.ok(plan.skipped.every((s) => /adam_[mv]|global_step/.test(s.name)));
  assert.equal(plan.totalBytes, 440_425_712);
  const q = plan.outputs.find((o) => o.key === 'bert.encoder.layer.11.attention.self.query.weight');
  assert.ok(q?.kind === 'tensor' && q.transforms[0]?.op === 'transpose');
});

test('a TF2 object-based checkpoint given as bert gets E_WRONG_CHECKPOINT_KIND, no stack trace', (t) => {
  const dir = realFixture(t, 'tf2-keras-bert-objgraph-indexonly');
  if (!dir) return;
  const r = runCli([
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    join(dir, 'bert_model.ckpt'),
    '--pytorch_dump_output',
    '/nonexistent/x.bin',
    '--config',
    '/nonexistent/c.json',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error\[E_WRONG_CHECKPOINT_KIND\]: .*TF2 object-based checkpoint/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

function tinyListing(): TensorInfo[] {
  const f = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'float32', shape });
  const out = [
    f('bert/embeddings/word_embeddings', [15, 4]),
    f('bert/embeddings/position_embeddings', [16, 4]),
    f('bert/embeddings/token_type_embeddings', [2, 4]),
    f('bert/embeddings/LayerNorm/gamma', [4]),
    f('bert/embeddings/LayerNorm/beta', [4]),
  ];
  for (const l of [0, 1]) {
    const p = `bert/encoder/layer_${l}`;
    for (const m of ['attention/self/query', 'attention/self/key', 'attention/self/value', 'attention/output/dense'])
      out.push(f(`${p}/${m}/kernel`, [4, 4]), f(`${p}/${m}/bias`, [4]));
    out.push(
      f(`${p}/intermediate/dense/kernel`, [4, 16]),
      f(`${p}/intermediate/dense/bias`, [16]),
      f(`${p}/output/dense/kernel`, [16, 4]),
      f(`${p}/output/dense/bias`, [4]),
    );
    for (const n of ['attention/output/LayerNorm', 'output/LayerNorm'])
      out.push(f(`${p}/${n}/gamma`, [4]), f(`${p}/${n}/beta`, [4]));
  }
  return out;
}
const tinyConfig = bert.buildConfig({
  user: {
    vocab_size: 15,
    hidden_size: 4,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 16,
    max_position_embeddings: 16,
  },
  sidecar: () => undefined,
  listing: [],
});

test('an encoder-only checkpoint (no pooler, no heads) converts; the LM bias is zeros, the rest left to from_pretrained', () => {
  const plan = buildPlan(
    tinyListing().map((i) => ({ ...i, name: `module/${i.name}` })),
    bert,
    tinyConfig,
  );
  // + cls.predictions.bias (zeros) and the decoder's weight and bias tied to the word embeddings and to it
  assert.equal(plan.outputs.length, 5 + 2 * 16 + 3);
  assert.deepEqual(
    plan.zeroFilled.map((m) => m.key),
    ['cls.predictions.bias'],
  );
  assert.deepEqual(
    plan.missing.map((m) => m.key),
    [
      'bert.pooler.dense.weight',
      'bert.pooler.dense.bias',
      'cls.predictions.transform.dense.weight',
      'cls.predictions.transform.dense.bias',
      'cls.predictions.transform.LayerNorm.weight',
      'cls.predictions.transform.LayerNorm.bias',
      'cls.seq_relationship.weight',
      'cls.seq_relationship.bias',
    ],
  );
  const text = formatPlan(plan);
  assert.match(text, /cls\.predictions\.bias \[15\] float32\n {6}generated: fill\(0\)/);
  assert.match(text, /written as zeros as the original initialises them \(1\):\n {2}cls\.predictions\.bias \[15\]/);
  assert.match(text, /left for from_pretrained to initialise \(8\):\n {2}bert\.pooler\.dense\.weight \[4, 4\]/);
});

test('a config that disagrees with the checkpoint names the field; trainer state is never a problem', () => {
  const wrong = bert.buildConfig({ user: { ...tinyConfig, vocab_size: 30522 }, sidecar: () => undefined, listing: [] });
  const listing = [
    ...tinyListing(),
    { name: 'loss_scale', dtype: 'float32' as const, shape: [] },
    { name: 'bert/embeddings/LayerNorm/beta/Adam_1', dtype: 'float32' as const, shape: [4] },
    { name: 'bert/unknown_extra', dtype: 'float32' as const, shape: [] },
  ];
  assert.throws(
    () => buildPlan(listing, bert, wrong),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, ErrorCode.PLAN);
      assert.match(
        e.message,
        /bert\.embeddings\.word_embeddings\.weight: the checkpoint's bert\/embeddings\/word_embeddings gives \[15, 4\], the config expects \[30522, 4\] \(\[vocab_size, hidden_size\] from the config\)/,
      );
      assert.match(e.message, /bert\/unknown_extra \[\] float32: no rule of 'bert' maps this variable/);
      assert.doesNotMatch(e.message, /Adam_1|loss_scale/);
      return true;
    },
  );
  assert.throws(
    () =>
      bert.buildConfig({
        user: { hidden_size: 10, num_attention_heads: 4 },
        userPath: 'c.json',
        sidecar: () => undefined,
        listing: [],
      }),
    /c\.json: hidden_size 10 is not a multiple of num_attention_heads 4/,
  );
});
