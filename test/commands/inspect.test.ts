import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, runCliJson } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';

test('inspect prints each tensor with dtype, shape, size, role, and the optimizer share', (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  if (!dir) return;
  const r = runCli(['inspect', join(dir, 'bert_model.ckpt')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^bert\/embeddings\/word_embeddings\s+float32\s+\[15, 4\]\s+240 B$/m);
  assert.match(r.stdout, /^bert\/embeddings\/word_embeddings\/adam_m\s+float32\s+\[15, 4\]\s+240 B\s+optimizer$/m);
  assert.match(r.stdout, /^global_step\s+int64\s+\[\]\s+8 B\s+bookkeeping$/m);
  assert.match(r.stdout, /^total: +139 tensors, 8\.4 KB$/m);
  assert.match(r.stdout, /^optimizer state: 92 tensors, 5\.6 KB \(66\.\d%\)$/m);
});

test('inspect --json has the documented shape and totals that add up', (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  if (!dir) return;
  const j = runCliJson(['inspect', dir, '--json']);
  assert.deepEqual(Object.keys(j), ['path', 'format', 'notes', 'model', 'tensors', 'totals']);
  assert.deepEqual(j.model, {
    recognised: true,
    summary: 'bert checkpoint: BertForPreTraining',
    modelType: 'bert',
    modelClass: 'BertForPreTraining',
    evidence: 'bert/encoder/layer_0/attention/output/LayerNorm/beta',
  });
  assert.deepEqual(Object.keys(j.tensors[0]), ['name', 'dtype', 'shape', 'bytes', 'role']);
  assert.equal(j.totals.bytes, 8420); // the data file's exact size
  const roles = j.totals.byRole;
  assert.equal(
    roles.weight.tensors + roles.optimizer.tensors + roles.bookkeeping.tensors + roles.metadata.tensors,
    139,
  );
});

test('inspect --tensor decodes values: float32 from a real file, bfloat16/float16/int64 synthesized', async (t) => {
  const dir = realFixture(t, 'tf1-savedmodel-variables');
  if (!dir) return;
  const j = runCliJson(['inspect', dir, '--tensor', 'a', '--json']);
  assert.deepEqual([j.count, j.first, j.min, j.max], [1, [0.5], 0.5, 0.5]); // half_plus_two: a = 0.5
  const out = tempDir(t, 'inspect');
  const bf16 = Uint8Array.from([0x80, 0x3f, 0x00, 0xc0, 0x40, 0x40]); // 1, -2, 3
  const f16 = Uint8Array.from([0x00, 0x3c, 0x00, 0x38]); // 1, 0.5
  const i64 = new Uint8Array(new BigInt64Array([-5n, 7n]).buffer);
  await writeBundle(join(out, 'm'), [
    { name: 'b', dtype: 'bfloat16', shape: [3], bytes: bf16 },
    { name: 'h', dtype: 'float16', shape: [2], bytes: f16 },
    { name: 'i', dtype: 'int64', shape: [2], bytes: i64 },
  ]);
  const get = (name: string) => runCliJson(['inspect', join(out, 'm.index'), '--tensor', name, '--json']);
  assert.deepEqual(get('b').first, [1, -2, 3]);
  assert.equal(get('b').mean, 2 / 3);
  assert.deepEqual(get('h').first, [1, 0.5]);
  assert.deepEqual([get('i').min, get('i').max], [-5, 7]);
  const text = runCli(['inspect', join(out, 'm'), '--tensor', 'b']);
  assert.match(text.stdout, /^b: bfloat16 \[3\], 6 B, weight\nfirst values: 1, -2, 3\nmin -2, max 3, mean 0\.6666/);
});

test('inspect errors: unknown tensor, missing path, bad options, help', (t) => {
  const dir = realFixture(t, 'tf1-savedmodel-variables');
  if (!dir) return;
  const missing = runCli(['inspect', dir, '--tensor', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error\[E_TENSOR_NOT_FOUND\]: .*no tensor named 'nope'/);
  const none = runCli(['inspect', join(dir, 'nothing-here')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error\[E_NOT_FOUND\]/);
  const usage = runCli(['inspect']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /error\[E_USAGE\]/);
  const badOpt = runCli(['inspect', dir, '--frobnicate']);
  assert.equal(badOpt.code, 2);
  const help = runCli(['inspect', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Examples:/);
  assert.match(help.stdout, /--no-verify/);
});
