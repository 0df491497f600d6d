/** Ctrl-C in the middle of a conversion: the unfinished output is removed, and so is the folder the run created. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_PATH } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { type StreamedTensor, writeBundleStreaming } from '../support/tf-bundle-writer.js';

const H = 4;
const V = 16 * 1024 * 1024; // word embeddings of 256 MiB: long enough to interrupt mid-way
const ZEROS = new Uint8Array(8 * 1024 * 1024);

function zeros(name: string, shape: number[]): StreamedTensor {
  const byteLength = shape.reduce((a, b) => a * b, 1) * 4;
  return {
    name,
    dtype: 'float32',
    shape,
    byteLength,
    *chunks() {
      for (let left = byteLength; left > 0; left -= ZEROS.byteLength)
        yield ZEROS.subarray(0, Math.min(left, ZEROS.byteLength));
    },
  };
}

test('SIGINT during a conversion removes the unfinished file and exits 130', async (t) => {
  const dir = tempDir(t, 'interrupt');
  const L = 'bert/encoder/layer_0';
  const tensors = [
    zeros('bert/embeddings/word_embeddings', [V, H]),
    zeros('bert/embeddings/position_embeddings', [4, H]),
    zeros('bert/embeddings/token_type_embeddings', [2, H]),
    zeros('bert/embeddings/LayerNorm/gamma', [H]),
    zeros('bert/embeddings/LayerNorm/beta', [H]),
    ...['query', 'key', 'value'].flatMap((p) => [
      zeros(`${L}/attention/self/${p}/kernel`, [H, H]),
      zeros(`${L}/attention/self/${p}/bias`, [H]),
    ]),
    zeros(`${L}/attention/output/dense/kernel`, [H, H]),
    zeros(`${L}/attention/output/dense/bias`, [H]),
    zeros(`${L}/attention/output/LayerNorm/gamma`, [H]),
    zeros(`${L}/attention/output/LayerNorm/beta`, [H]),
    zeros(`${L}/intermediate/dense/kernel`, [H, H]),
    zeros(`${L}/intermediate/dense/bias`, [H]),
    zeros(`${L}/output/dense/kernel`, [H, H]),
    zeros(`${L}/output/dense/bias`, [H]),
    zeros(`${L}/output/LayerNorm/gamma`, [H]),
    zeros(`${L}/output/LayerNorm/beta`, [H]),
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  await writeBundleStreaming(join(dir, 'bert_model.ckpt'), tensors);
  const config = {
    vocab_size: V,
    hidden_size: H,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: H,
    max_position_embeddings: 4,
    type_vocab_size: 2,
  };
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(config));

  const out = join(dir, 'out');
  const child = spawn(process.execPath, [
    CLI_PATH,
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    join(dir, 'bert_model.ckpt'),
    '--pytorch_dump_output',
    `${out}/`,
    '--quiet',
    '--no-verify',
  ]);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  let sawTemporary = false;
  let finished = false;
  void exited.then(() => (finished = true));
  while (!finished && !sawTemporary) {
    sawTemporary = existsSync(out) && readdirSync(out).some((f) => f.startsWith('.tf2torch.') && f.endsWith('.tmp'));
    if (!sawTemporary) await new Promise((r) => setTimeout(r, 2));
  }
  assert.ok(sawTemporary, 'the conversion finished before it could be interrupted');
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted: removed [12] unfinished outputs?/);
  assert.deepEqual(readdirSync(dir).sort(), [
    'bert_config.json',
    'bert_model.ckpt.data-00000-of-00001',
    'bert_model.ckpt.index',
  ]);
});
