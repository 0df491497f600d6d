import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32c, maskCrc } from '../../src/io/crc32c.js';
import { DTYPES } from '../../src/tensor.js';
import { runCli, runCliJson } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { tempDir } from '../support/temp.js';
import { encodeBundleEntry, encodeBundleHeader, writeBundle, writeTable } from '../support/tf-bundle-writer.js';

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

/** A bundle of one DT_STRING tensor of `count` copies of `text`, written as TensorFlow lays it out. */
async function stringTensorBundle(prefix: string, text: string, count: number): Promise<void> {
  const value = Buffer.from(text);
  const lengths = Buffer.from(varintBytes(value.length));
  const lengthsHashed = Buffer.alloc(4);
  lengthsHashed.writeUInt32LE(value.length);
  let lengthsCrc = 0;
  const manyLengths = Buffer.concat(Array.from({ length: 4096 }, () => lengthsHashed));
  for (let done = 0; done < count; done += 4096)
    lengthsCrc = crc32c(manyLengths.subarray(0, 4 * Math.min(4096, count - done)), lengthsCrc);
  const lengthsCrcBytes = Buffer.alloc(4);
  lengthsCrcBytes.writeUInt32LE(maskCrc(lengthsCrc));
  const stored = Buffer.concat([
    Buffer.alloc(count * lengths.length, lengths), // the pattern repeated
    lengthsCrcBytes,
    Buffer.alloc(count * value.length, value),
  ]);
  const crc = crc32c(stored.subarray(count * lengths.length), lengthsCrc);
  writeFileSync(`${prefix}.data-00000-of-00001`, stored);
  const entry = encodeBundleEntry({
    dtype: DTYPES.string.tf,
    shape: [count],
    size: stored.length,
    crc32c: maskCrc(crc),
  });
  await writeTable(`${prefix}.index`, [
    { key: new Uint8Array(0), value: encodeBundleHeader({ numShards: 1 }) },
    { key: Buffer.from('vocab/words'), value: entry },
  ]);
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
  out.push(v);
  return out;
}

test('inspect --tensor on a 60 MB string tensor of 15M elements: the first strings, within a 256 MB heap', async (t) => {
  const dir = tempDir(t, 'strings');
  const prefix = join(dir, 'model.ckpt');
  await stringTensorBundle(prefix, 'abc', 15_000_000);
  const r = runCli(['inspect', prefix, '--tensor', 'vocab/words'], { nodeArgs: ['--max-old-space-size=256'] });
  assert.equal(r.code, 0, r.stderr.slice(0, 2000));
  assert.match(r.stdout, /^vocab\/words: string \[15000000\]/);
  assert.match(r.stdout, /first values: "abc", "abc", "abc", "abc", "abc", "abc", "abc", "abc", "abc", "abc", …/);
  await stringTensorBundle(prefix, 'é'.repeat(1_000_000), 2);
  const long = runCli(['inspect', prefix, '--tensor', 'vocab/words']);
  assert.equal(long.code, 0, long.stderr.slice(0, 2000));
  assert.match(
    long.stdout,
    new RegExp(`first values: "${'é'.repeat(80)}"… \\(2000000 bytes\\), "é{80}"… \\(2000000 bytes\\)\\n`),
  );
});
