/**
 * The model card of a conversion by URL lists the remote files it read by their URLs as the user gave
 * them (gs://, not the endpoint fetched; no Authorization header anywhere), small ones with the sha256
 * of the bytes fetched, data shards by their index's checksums.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { startNginx } from '../support/nginx.js';
import { writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { tempDir } from '../support/temp.js';
import { tinyBertShapes } from '../support/tiny-bert.js';

const CONFIG = {
  vocab_size: 100,
  hidden_size: 32,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 32,
  type_vocab_size: 2,
};

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('a conversion by gs:// lists its remote inputs in the model card by their gs:// URLs, with sizes and digests', async (t) => {
  const dir = tempDir(t, 'run');
  await writeOriginalCheckpoint(join(dir, 'model.ckpt-7'), tinyBertShapes(CONFIG), { seed: 3, slots: ['adam_m'] });
  writeFileSync(join(dir, 'checkpoint'), 'model_checkpoint_path: "/train/model.ckpt-7"\n');
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(CONFIG));
  writeFileSync(join(dir, 'vocab.txt'), Array.from({ length: CONFIG.vocab_size }, (_, i) => `w${i}`).join('\n'));
  const nginx = await startNginx(t, { '/bucket/run/': dir });
  if (nginx === undefined) return;
  const secret = 'Bearer tok-card-51e0';
  const env = { ...process.env, TF2TORCH_GCS_BASE: nginx.origin, TF2TORCH_HTTP_AUTHORIZATION: secret };
  const out = join(tempDir(t, 'out'), 'hf');
  const r = runCli(['convert', '--tf_checkpoint', 'gs://bucket/run/', '--pytorch_dump_output', `${out}/`], { env });
  assert.equal(r.code, 0, r.stderr);
  const card = readFileSync(join(out, 'README.md'), 'utf8');
  const row = (name: string) => card.split('\n').find((l) => l.startsWith(`| \`gs://bucket/run/${name}\` |`));
  for (const name of ['model.ckpt-7.index', 'bert_config.json', 'vocab.txt', 'checkpoint']) {
    const size = statSync(join(dir, name)).size;
    assert.equal(row(name), `| \`gs://bucket/run/${name}\` | ${size} bytes | \`${sha256(join(dir, name))}\` |`, card);
  }
  const shard = 'model.ckpt-7.data-00000-of-00001';
  assert.equal(
    row(shard),
    `| \`gs://bucket/run/${shard}\` | ${statSync(join(dir, shard)).size} bytes | see model.ckpt-7.index (CRC32C of every tensor, verified) |`,
  );
  assert.match(card, /Files read by URL are named by their URL as given/);
  assert.ok(!card.includes(nginx.origin), 'the endpoint fetched is not what the user gave');
  assert.ok(!card.includes('tok-card'), 'the Authorization header is nowhere in the card');
});
