/**
 * The portable URL reader as browsers use it, run here over Node's own `fetch`: options given
 * explicitly (no environment), gs:// fetched from the endpoint given, ranged GETs under If-Match, and a
 * replaced object refused.
 */
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { convert } from '../../src/convert/index.js';
import { createFetchTransport, ErrorCode, openUrlFiles, Tf2TorchError } from '../../src/portable.js';
import { runCli } from '../support/cli.js';
import { startNginx } from '../support/nginx.js';
import { writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { snapshot } from '../support/output-tree.js';
import { tempDir } from '../support/temp.js';
import { TINY_BERT_CONFIG, tinyBertShapes } from '../support/tiny-bert.js';

test('gs:// over fetch with explicit options: the local output byte for byte, ranges only, a replaced shard refused', async (t) => {
  const dir = tempDir(t, 'bucket');
  await writeOriginalCheckpoint(join(dir, 'model.ckpt'), tinyBertShapes(TINY_BERT_CONFIG), {
    seed: 5,
    slots: ['adam_m'],
  });
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(TINY_BERT_CONFIG));
  writeFileSync(join(dir, 'vocab.txt'), 'a\nb\n');
  const nginx = await startNginx(t, { '/bucket/': dir });
  if (nginx === undefined) return;
  const out = tempDir(t, 'out');
  const local = runCli([
    'convert',
    '--tf_checkpoint',
    join(dir, 'model.ckpt'),
    '--pytorch_dump_output',
    `${out}/local/`,
  ]);
  assert.equal(local.code, 0, local.stderr);

  const url = 'gs://bucket/model.ckpt';
  const options = { transport: createFetchTransport(), gcsBase: nginx.origin };
  const files = await openUrlFiles(url, undefined, options);
  assert.ok(files !== undefined);
  await convert({ checkpoint: url, output: `${out}/url/`, files });
  const { 'README.md': _a, ...fromUrl } = snapshot(join(out, 'url'));
  const { 'README.md': _b, ...fromDisk } = snapshot(join(out, 'local'));
  assert.deepEqual(fromUrl, fromDisk);
  const shardGets = nginx.accessLog().filter((l) => l.method === 'GET' && l.uri.includes('.data-'));
  assert.ok(shardGets.length > 0 && shardGets.every((l) => l.status === 206), 'the shard is read by ranges only');

  const pinned = await openUrlFiles(url, undefined, options);
  const shard = join(dir, 'model.ckpt.data-00000-of-00001');
  utimesSync(shard, new Date(2001, 1, 1), new Date(2001, 1, 1)); // a new ETag: the object was replaced
  await assert.rejects(
    convert({ checkpoint: url, output: `${out}/replaced/`, files: pinned }),
    (e) =>
      e instanceof Tf2TorchError &&
      e.code === ErrorCode.SOURCE_CHANGED &&
      /gs:\/\/bucket\/model\.ckpt\.data/.test(e.message),
  );
  assert.ok(
    nginx.accessLog().some((l) => l.status === 412),
    'the server refused the If-Match of the version read first',
  );
});
