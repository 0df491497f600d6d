import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../src/errors.js';
import { openTensorSource } from '../../src/formats/open.js';
import { writeWeights } from '../../src/formats/sharding.js';
import type { StateDictEntry } from '../../src/formats/state-dict.js';
import { sampleTensor } from '../support/sample-tensors.js';
import { tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';

const entries = (): StateDictEntry[] =>
  Array.from({ length: 4 }, (_, i) => ({ key: `w${i}`, tensor: sampleTensor(`w${i}`, 'float32', [5, 5], i) }));

test('openTensorSource opens .bin, .safetensors, renamed files (by magic) and sharded indexes', async (t) => {
  const dir = tempDir(t, 'open');
  await writeWeights(dir, entries(), { format: 'pytorch' });
  await writeWeights(dir, entries(), { format: 'safetensors' });
  copyFileSync(join(dir, 'pytorch_model.bin'), join(dir, 'renamed.dat'));
  copyFileSync(join(dir, 'model.safetensors'), join(dir, 'renamed2.dat'));
  await writeWeights(dir, entries(), { format: 'pytorch', maxShardSize: 150 });
  for (const [file, format] of [
    ['pytorch_model.bin', 'torch-zip'],
    ['model.safetensors', 'safetensors'],
    ['renamed.dat', 'torch-zip'],
    ['renamed2.dat', 'safetensors'],
    ['pytorch_model.bin.index.json', 'sharded-torch-zip'],
  ]) {
    const source = await openTensorSource(join(dir, file!));
    try {
      assert.equal(source.format, format, file);
      assert.deepEqual(
        source.tensors.map((t) => t.name),
        ['w0', 'w1', 'w2', 'w3'],
        file,
      );
      assert.deepEqual(
        Buffer.from(await source.tensors[3]!.read()),
        Buffer.from(await sampleTensor('x', 'float32', [5, 5], 3).read()),
        file,
      );
    } finally {
      await source.close();
    }
  }
  rmSync(join(dir, 'pytorch_model-00002-of-00004.bin'));
  await assert.rejects(
    openTensorSource(join(dir, 'pytorch_model.bin.index.json')),
    (e: Tf2TorchError) => e.code === 'E_MISSING_SHARD' && e.message.includes('pytorch_model-00002-of-00004.bin'),
  );
});

test('a Hugging Face folder opens through its weights, as from_pretrained picks them; a TF checkpoint folder stays a checkpoint', async (t) => {
  const dir = tempDir(t, 'hf-folder');
  const hf = join(dir, 'hf');
  mkdirSync(hf);
  await writeWeights(hf, entries(), { format: 'pytorch', maxShardSize: 150 });
  let source = await openTensorSource(hf);
  assert.equal(source.format, 'sharded-torch-zip');
  await source.close();
  await writeWeights(hf, entries(), { format: 'safetensors' }); // preferred over .bin, as from_pretrained does
  source = await openTensorSource(hf);
  assert.equal(source.format, 'safetensors');
  assert.deepEqual(
    source.tensors.map((t) => t.name),
    ['w0', 'w1', 'w2', 'w3'],
  );
  await source.close();

  // converted weights written into the checkpoint's own folder must not hide the checkpoint
  const ckpt = join(dir, 'ckpt');
  mkdirSync(ckpt);
  await writeBundle(join(ckpt, 'model.ckpt'), [{ name: 'v', dtype: 'float32', shape: [2], bytes: new Uint8Array(8) }]);
  writeFileSync(join(ckpt, 'checkpoint'), 'model_checkpoint_path: "model.ckpt"\n');
  await writeWeights(ckpt, entries(), { format: 'pytorch' });
  source = await openTensorSource(ckpt);
  assert.equal(source.format, 'tf-bundle-v2');
  assert.deepEqual(
    source.tensors.map((t) => t.name),
    ['v'],
  );
  await source.close();
});

test('a sharded index that is not JSON, or has no weight_map object, is E_MALFORMED naming the index', async (t) => {
  const dir = tempDir(t, 'bad-index');
  for (const [text, message] of [
    ['{"weight_map": ', /not valid JSON/],
    ['[]', /expected a JSON object/],
    ['{"metadata": {}}', /no weight_map object/],
    ['{"weight_map": ["a.bin"]}', /no weight_map object/],
  ] as const) {
    const path = join(dir, 'model.safetensors.index.json');
    writeFileSync(path, text);
    await assert.rejects(
      openTensorSource(path),
      (e: Tf2TorchError) => e.code === 'E_MALFORMED' && e.file === path && message.test(e.message),
      text,
    );
  }
});
