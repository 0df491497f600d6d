/**
 * `--format both` from a URL: the second weight file is written from the bytes the first pass fetched
 * (kept in a local copy), so nginx's access log counts each byte of the shard once even when the
 * fetch-ahead budget is far below the checkpoint's size.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { convert } from '../../src/convert/index.js';
import { openUrlFiles } from '../../src/convert/url-input.js';
import { runCli } from '../support/cli.js';
import { startNginx } from '../support/nginx.js';
import { writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { snapshot } from '../support/output-tree.js';
import { tempDir } from '../support/temp.js';
import { tinyBertShapes } from '../support/tiny-bert.js';

const CONFIG = {
  vocab_size: 1000,
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 128,
  max_position_embeddings: 64,
  type_vocab_size: 2,
};

test('--format both by URL fetches each byte of the shard once, with a fetch-ahead budget far below the weights', async (t) => {
  const dir = tempDir(t, 'adam');
  const shapes = tinyBertShapes(CONFIG);
  await writeOriginalCheckpoint(join(dir, 'model.ckpt'), shapes, { seed: 11, slots: ['adam_m', 'adam_v'] });
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(CONFIG));
  const weightBytes = shapes.reduce((sum, [, shape]) => sum + 4 * shape.reduce((a, b) => a * b, 1), 0);
  const nginx = await startNginx(t, { '/run/': dir });
  if (nginx === undefined) return;
  const out = tempDir(t, 'out');
  const local = runCli([
    'convert',
    '--tf_checkpoint',
    join(dir, 'model.ckpt'),
    '--format',
    'both',
    '--pytorch_dump_output',
    join(out, 'local/'),
  ]);
  assert.equal(local.code, 0, local.stderr);

  const checkpoint = `${nginx.origin}/run/model.ckpt`;
  // 64 KiB ahead: every piece read through is dropped before the second pass could find it in memory
  const files = await openUrlFiles(checkpoint, undefined, { fetchAheadBytes: 64 * 1024 });
  assert.ok(files !== undefined);
  const url = join(out, 'url');
  await convert({ checkpoint, output: `${url}/`, files, format: 'both' });

  const { 'README.md': cardLocal, ...wantFiles } = snapshot(join(out, 'local'));
  const { 'README.md': cardUrl, ...gotFiles } = snapshot(url);
  assert.ok(cardLocal && cardUrl);
  assert.deepEqual(gotFiles, wantFiles);
  assert.ok(gotFiles['pytorch_model.bin'] && gotFiles['model.safetensors']);
  const data = nginx.bytesSent('/run/model.ckpt.data');
  assert.ok(data >= weightBytes - 8 && data <= weightBytes, `fetched ${data} bytes of the shard for ${weightBytes}`);
  assert.deepEqual(
    readdirSync(url).filter((n) => n.startsWith('.') && n !== '.tf2torch.lock'),
    [],
    'no local copy left behind',
  );
});
