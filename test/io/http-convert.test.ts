/**
 * `tf2torch convert` and `inspect` on checkpoints served by a real nginx (and by the fault proxy in front
 * of it): byte-identical to the local conversion, only the plan's bytes fetched (counted by nginx's
 * access log), faults survived, and an object replaced mid-run never yielding an output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { convert } from '../../src/convert/index.js';
import { openUrlFiles } from '../../src/convert/url-input.js';
import { ErrorCode, Tf2TorchError } from '../../src/errors.js';
import { openBundle } from '../../src/formats/tf-checkpoint/bundle.js';
import { formatBytes } from '../../src/units.js';
import { CLI_PATH, type CliResult, runCli } from '../support/cli.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { realFixture } from '../support/fixtures.js';
import { startNginx } from '../support/nginx.js';
import { writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { snapshot as snapshotOf } from '../support/output-tree.js';
import { tempDir } from '../support/temp.js';
import { tinyBertShapes } from '../support/tiny-bert.js';

/** The CLI as a child process without blocking this one (the fault proxy answers from here). */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code: code ?? -1, stdout, stderr: `${stderr}${signal ?? ''}` }));
  });
}

const CONFIG = {
  vocab_size: 1000,
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 128,
  max_position_embeddings: 64,
  type_vocab_size: 2,
};

/**
 * A pre-training run's folder as the trainer leaves it: an Adam checkpoint (two slots per variable), a
 * `checkpoint` state file naming it by the training machine's absolute path, config and vocabulary.
 */
async function adamFolder(t: TestContext) {
  const dir = tempDir(t, 'adam');
  const shapes = tinyBertShapes(CONFIG);
  await writeOriginalCheckpoint(join(dir, 'model.ckpt-1000'), shapes, { seed: 7, slots: ['adam_m', 'adam_v'] });
  writeFileSync(
    join(dir, 'checkpoint'),
    'model_checkpoint_path: "/home/trainer/run/model.ckpt-1000"\nall_model_checkpoint_paths: "/home/trainer/run/model.ckpt-1000"\n',
  );
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(CONFIG));
  // longer than one socket read (64 KiB), as a real vocabulary is (BERT's: 232 KB)
  const token = (i: number) => `tok${i}-${'wordpiece'.repeat(8)}`;
  writeFileSync(join(dir, 'vocab.txt'), Array.from({ length: CONFIG.vocab_size }, (_, i) => token(i)).join('\n'));
  const weightBytes = shapes.reduce((sum, [, shape]) => sum + 4 * shape.reduce((a, b) => a * b, 1), 0);
  return { dir, weightBytes, shard: join(dir, 'model.ckpt-1000.data-00000-of-00001') };
}

/**
 * A folder's files by hash, but its model card: the card records where the checkpoint was read from
 * (a path or a URL), so it is the one file that differs.
 */
function snapshot(dir: string): Record<string, string> {
  const { 'README.md': card, ...rest } = snapshotOf(dir);
  assert.ok(card, `${dir} has its model card`);
  return rest;
}

function convertBoth(t: TestContext, local: string, url: string, extra: string[] = [], env = process.env) {
  const out = tempDir(t, 'out');
  const a = runCli(['convert', '--tf_checkpoint', local, ...extra, '--pytorch_dump_output', join(out, 'local/')]);
  assert.equal(a.code, 0, a.stderr);
  const b = runCli(['convert', '--tf_checkpoint', url, ...extra, '--pytorch_dump_output', join(out, 'url/')], { env });
  assert.equal(b.code, 0, b.stderr);
  return { local: join(out, 'local'), url: join(out, 'url'), stdout: b.stdout };
}

test('a real checkpoint by https:// and by gs:// converts byte-identical to the local one', async (t) => {
  const fixtures = realFixture(t, 'bert-tiny-keras-bert');
  if (fixtures === undefined) return;
  const nginx = await startNginx(t, { '/fixtures/': fixtures });
  if (nginx === undefined) return;
  const local = join(fixtures, 'bert_model.ckpt');
  for (const format of ['pytorch', 'safetensors']) {
    const https = convertBoth(t, local, `${nginx.origin}/fixtures/bert_model.ckpt`, ['--format', format]);
    assert.deepEqual(snapshot(https.url), snapshot(https.local));
    assert.ok(snapshot(https.url)['vocab.txt'], 'the vocabulary comes along');
  }
  const env = { ...process.env, TF2TORCH_GCS_BASE: nginx.origin };
  const gs = convertBoth(t, local, 'gs://fixtures/bert_model.ckpt', [], env);
  assert.deepEqual(snapshot(gs.url), snapshot(gs.local));
  assert.match(gs.stdout, /converted bert checkpoint gs:\/\/fixtures\/bert_model\.ckpt/);
});

test('an Adam checkpoint by its folder URL: identical output, only the weights, index and small files fetched', async (t) => {
  const s = await adamFolder(t);
  const nginx = await startNginx(t, { '/run/': s.dir });
  if (nginx === undefined) return;
  const shardSize = statSync(s.shard).size;
  const indexSize = statSync(join(s.dir, 'model.ckpt-1000.index')).size;
  const small = statSync(join(s.dir, 'bert_config.json')).size + statSync(join(s.dir, 'vocab.txt')).size;
  const r = convertBoth(t, s.dir, `${nginx.origin}/run/`);
  assert.deepEqual(snapshot(r.url), snapshot(r.local));
  const data = nginx.bytesSent('/run/model.ckpt-1000.data');
  assert.ok(shardSize > 2.9 * s.weightBytes, 'the slots are twice the weights');
  assert.ok(data >= s.weightBytes - 8 && data <= s.weightBytes, `fetched ${data} of the shard for ${s.weightBytes}`);
  const overhead = 16 * 1024; // the state file and the bodies of 404s for sidecars that are not there
  const all = nginx.bytesSent('/run/');
  assert.ok(all <= s.weightBytes + indexSize + small + overhead, `fetched ${all} in all`);
  const skipped = formatBytes(shardSize - s.weightBytes);
  assert.ok(
    r.stdout.includes(
      `for ${formatBytes(s.weightBytes)} of tensors out of ${formatBytes(shardSize)} of data files: ${skipped} of skipped variables`,
    ),
    r.stdout,
  );
});

test('--dry-run and inspect on a URL fetch the index and no tensor bytes', async (t) => {
  const fixtures = realFixture(t, 'bert-base-uncased-pretrain-adam-indexonly');
  if (fixtures === undefined) return;
  const nginx = await startNginx(t, { '/base/': fixtures });
  if (nginx === undefined) return;
  const url = `${nginx.origin}/base/bert_model.ckpt`;
  const dry = runCli(['convert', '--dry-run', '--tf_checkpoint', url]);
  assert.equal(dry.code, 0, dry.stderr);
  const local = runCli(['convert', '--dry-run', '--tf_checkpoint', join(fixtures, 'bert_model.ckpt')]);
  assert.equal(dry.stdout, local.stdout);
  const inspect = runCli(['inspect', '--json', url]);
  assert.equal(inspect.code, 0, inspect.stderr);
  const listing = JSON.parse(inspect.stdout) as { model: { summary: string }; totals: { tensors: number } };
  assert.equal(listing.totals.tensors, 619);
  assert.match(listing.model.summary, /BertForPreTraining/);
  const gets = nginx.accessLog().filter((l) => l.method === 'GET' && l.status < 300);
  assert.deepEqual([...new Set(gets.map((l) => l.uri))].sort(), [
    '/base/bert_config.json', // the dry run's config; inspect only asks whether it is there
    '/base/bert_model.ckpt.index',
  ]);
});

test('dropped connections and 503s during a conversion are survived: the same output', async (t) => {
  const s = await adamFolder(t);
  const nginx = await startNginx(t, { '/run/': s.dir });
  if (nginx === undefined) return;
  const proxy = await startFaultProxy(t, nginx.origin);
  // every ranged request is cut mid-body the first time, refused with 503 the second (keyed by where it
  // ends, which a resumed request keeps), then served
  const seen = new Map<string, number>();
  proxy.decide = (r) => {
    if (r.range === undefined) return 'pass';
    const key = `${r.url} ${r.range.split('-')[1]}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return n === 0 ? 'drop' : n === 1 ? '503' : 'pass';
  };
  const out = tempDir(t, 'out');
  const url = await runCliAsync([
    'convert',
    '--tf_checkpoint',
    `${proxy.origin}/run/`,
    '--pytorch_dump_output',
    join(out, 'url/'),
  ]);
  assert.equal(url.code, 0, url.stderr);
  const local = runCli(['convert', '--tf_checkpoint', s.dir, '--pytorch_dump_output', join(out, 'local/')]);
  assert.equal(local.code, 0, local.stderr);
  assert.deepEqual(snapshot(join(out, 'url')), snapshot(join(out, 'local')));
  assert.ok(seen.size > 6, `${seen.size} ranges, each dropped once and refused once`);
});

test('a data shard replaced in the middle of a conversion: E_SOURCE_CHANGED naming it, and no output', async (t) => {
  const s = await adamFolder(t);
  const nginx = await startNginx(t, { '/run/': s.dir });
  if (nginx === undefined) return;
  const proxy = await startFaultProxy(t, nginx.origin);
  let ranged = 0;
  proxy.decide = (r) => {
    if (r.range !== undefined && ++ranged === 3) utimesSync(s.shard, new Date(2001, 1, 1), new Date(2001, 1, 1));
    return 'pass';
  };
  const out = tempDir(t, 'out');
  for (const output of ['model/', 'model.bin']) {
    ranged = 0;
    utimesSync(s.shard, new Date(), new Date());
    const r = await runCliAsync([
      'convert',
      '--tf_checkpoint',
      `${proxy.origin}/run/`,
      '--pytorch_dump_output',
      join(out, output),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error\[E_SOURCE_CHANGED\]: http:\/\/127\.0\.0\.1:\d+\/run\/model\.ckpt-1000\.data-00000-of-00001: the object changed/,
    );
    const target = join(out, output);
    const left = existsSync(target) && statSync(target).isDirectory() ? Object.keys(snapshot(target)) : [];
    assert.deepEqual(
      left.filter((name) => !name.startsWith('.')),
      [],
      'nothing under the final name',
    );
    if (!output.endsWith('/')) assert.equal(existsSync(target), false);
  }
});

test('a kernel read whole by URL is checked against the CRC the range thread computes: one flipped byte is E_TENSOR_CHECKSUM, no output', async (t) => {
  // kernels of 1-2 MiB, 16 MiB of them: transposed on the transpose thread, so read whole into shared memory
  const config = { ...CONFIG, vocab_size: 100, hidden_size: 512, intermediate_size: 1024, num_attention_heads: 8 };
  const dir = tempDir(t, 'wide');
  const prefix = join(dir, 'model.ckpt-1');
  await writeOriginalCheckpoint(prefix, tinyBertShapes(config), { seed: 11 });
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(config));
  const nginx = await startNginx(t, { '/w/': dir });
  if (nginx === undefined) return;
  const url = `${nginx.origin}/w/model.ckpt-1`;
  const intact = convertBoth(t, prefix, url);
  assert.deepEqual(snapshot(intact.url), snapshot(intact.local));

  const name = 'bert/encoder/layer_0/attention/self/query/kernel';
  const kernel = await (await openBundle(prefix)).tensor(name).read();
  const shard = `${prefix}.data-00000-of-00001`;
  const data = readFileSync(shard);
  const at = data.indexOf(Buffer.from(kernel.buffer, kernel.byteOffset, kernel.byteLength));
  assert.ok(at >= 0, 'the kernel found in its shard');
  data[at + 50_000] = (data[at + 50_000] as number) ^ 0x10;
  writeFileSync(shard, data);
  const out = join(tempDir(t, 'out'), 'model/');
  const r = runCli(['convert', '--tf_checkpoint', url, '--pytorch_dump_output', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /E_TENSOR_CHECKSUM/);
  assert.ok(r.stderr.includes(name), r.stderr);
  assert.equal(existsSync(join(out, 'model.safetensors')), false, 'no output');
});

test('URL mistakes are usage errors told before any request; a missing checkpoint names the URL', async (t) => {
  const dir = tempDir(t, 'empty');
  mkdirSync(join(dir, 'nothing'));
  const nginx = await startNginx(t, { '/e/': dir });
  if (nginx === undefined) return;
  const withUser = runCli(['convert', '--dry-run', '--tf_checkpoint', 'https://user:pw@example.com/m.ckpt']);
  assert.equal(withUser.code, 2, withUser.stderr);
  assert.match(withUser.stderr, /E_USAGE.*https:\/\/\*\*\*@example\.com\/m\.ckpt: credentials in a URL/);
  assert.ok(!withUser.stderr.includes('pw@'));
  const missing = runCli(['convert', '--dry-run', '--tf_checkpoint', `${nginx.origin}/e/nothing/model.ckpt`]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(
    missing.stderr,
    /error\[E_NOT_FOUND\]: http:\/\/127\.0\.0\.1:\d+\/e\/nothing\/model\.ckpt: no TensorFlow checkpoint/,
  );
  const folder = runCli(['convert', '--dry-run', '--tf_checkpoint', `${nginx.origin}/e/nothing/`]);
  assert.equal(folder.code, 1, folder.stderr);
  assert.match(
    folder.stderr,
    /E_NOT_FOUND.*\/e\/nothing\/: .*needs its 'checkpoint' state file.*give the checkpoint's prefix/,
  );
});

test('a private object: the Authorization header comes from TF2TORCH_HTTP_AUTHORIZATION, and no message shows it', async (t) => {
  const fixtures = realFixture(t, 'bert-tiny-keras-bert');
  if (fixtures === undefined) return;
  const nginx = await startNginx(t, { '/private/': fixtures });
  if (nginx === undefined) return;
  const proxy = await startFaultProxy(t, nginx.origin);
  const secret = 'Bearer tok-3f9a1c';
  proxy.decide = (r) => (r.authorization === secret ? 'pass' : '403');
  const args = ['convert', '--dry-run', '--tf_checkpoint', `${proxy.origin}/private/bert_model.ckpt`];
  const refused = await runCliAsync(args);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /error\[E_PERMISSION\]: http:\/\/127\.0\.0\.1:\d+\/private\/bert_model\.ckpt(\.index|\/checkpoint): access denied \(HTTP 403\); for a private object set TF2TORCH_HTTP_AUTHORIZATION/,
  );
  const allowed = await runCliAsync(args, { ...process.env, TF2TORCH_HTTP_AUTHORIZATION: secret });
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.ok(!`${allowed.stdout}${allowed.stderr}`.includes('tok-3f9a1c'));
  assert.ok(proxy.requests.some((r) => r.authorization === secret));
});

test('a conversion that fails stops the remote reads still ahead of it: no request after it returns', async (t) => {
  const s = await adamFolder(t);
  const nginx = await startNginx(t, { '/run/': s.dir });
  if (nginx === undefined) return;
  const proxy = await startFaultProxy(t, nginx.origin);
  proxy.decide = (r) => (r.range !== undefined ? '403' : 'pass');
  const checkpoint = `${proxy.origin}/run/`;
  const files = await openUrlFiles(checkpoint, undefined, {});
  assert.ok(files !== undefined);
  const output = join(tempDir(t, 'out'), 'model/');
  await assert.rejects(
    convert({ checkpoint, output, files }),
    (e) => e instanceof Tf2TorchError && e.code === ErrorCode.PERMISSION,
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200)); // the proxy runs in this process
  await settle();
  const asked = proxy.requests.length;
  const shard = await files.open(`${checkpoint}model.ckpt-1000.data-00000-of-00001`);
  await assert.rejects(shard.readAt(0, 16), /request cancelled/);
  await settle();
  assert.equal(proxy.requests.length, asked, 'no request once the conversion has failed');
});
