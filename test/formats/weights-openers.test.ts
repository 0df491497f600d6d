import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTensorSource } from '../../src/formats/open.js';
import { writeWeights } from '../../src/formats/sharding.js';
import type { StateDictEntry } from '../../src/formats/state-dict.js';
import type { Tf2TorchError } from '../../src/errors.js';
import { sampleTensor } from '../support/sample-tensors.js';

const entries = (): StateDictEntry[] => Array.from({ length: 4 }, (_, i) => ({ key: `w${i}`, tensor: sampleTensor(`w${i}`, 'float32', [5, 5], i) }));

test('openTensorSource opens .bin, .safetensors, renamed files (by magic) and sharded indexes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf2torch-open-'));
  await writeWeights(dir, entries(), { format: 'pytorch' });
  await writeWeights(dir, entries(), { format: 'safetensors' });
  copyFileSync(join(dir, 'pytorch_model.bin'), join(dir, 'renamed.dat'));
  copyFileSync(join(dir, 'model.safetensors'), join(dir, 'renamed2.dat'));
  await writeWeights(dir, entries(), { format: 'pytorch', maxShardSize: 150 });
  for (const [file, format] of [['pytorch_model.bin', 'torch-zip'], ['model.safetensors', 'safetensors'], ['renamed.dat', 'torch-zip'], ['renamed2.dat', 'safetensors'], ['pytorch_model.bin.index.json', 'sharded-torch-zip']]) {
    const source = await openTensorSource(join(dir, file!));
    try {
      assert.equal(source.format, format, file);
      assert.deepEqual(source.tensors.map((t) => t.name), ['w0', 'w1', 'w2', 'w3'], file);
      assert.deepEqual(Buffer.from(await source.tensors[3]!.read()), Buffer.from(await sampleTensor('x', 'float32', [5, 5], 3).read()), file);
    } finally {
      await source.close();
    }
  }
  rmSync(join(dir, 'pytorch_model-00002-of-00004.bin'));
  await assert.rejects(openTensorSource(join(dir, 'pytorch_model.bin.index.json')), (e: Tf2TorchError) => e.code === 'E_MISSING_SHARD' && e.message.includes('pytorch_model-00002-of-00004.bin'));
});
