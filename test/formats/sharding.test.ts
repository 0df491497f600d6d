import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../src/errors.js';
import { DEFAULT_MAX_SHARD_SIZE, parseShardSize, planShards, writeWeights } from '../../src/formats/sharding.js';
import type { StateDictEntry } from '../../src/formats/state-dict.js';
import { runPython, torchPython } from '../support/python.js';
import { failingTensor, sampleTensor } from '../support/sample-tensors.js';
import { tempDirs } from '../support/temp.js';
import { loadShardedFolder, loadWithTorch } from '../support/torch-load.js';

const tmp = tempDirs('shard');

test('parseShardSize understands transformers units', () => {
  assert.equal(DEFAULT_MAX_SHARD_SIZE, 5e9);
  assert.equal(parseShardSize('5GB'), 5e9);
  assert.equal(parseShardSize('500MB'), 5e8);
  assert.equal(parseShardSize('2GiB'), 2 ** 31);
  assert.equal(parseShardSize('1.5kb'), 1500);
  assert.equal(parseShardSize('12345'), 12345);
  for (const bad of ['', 'GB', '-1GB', '5XB', '0']) {
    assert.throws(
      () => parseShardSize(bad),
      (e: Tf2TorchError) => e.code === 'E_USAGE' && e.message.includes(`'${bad}'`),
    );
  }
});

test('shards fill greedily; an oversized tensor gets its own shard', () => {
  assert.deepEqual(planShards([40, 40, 40, 200, 10], 100), [[0, 1], [3], [2, 4]]);
  assert.deepEqual(planShards([], 100), [[]]);
});

/** 6 tensors of 400 bytes, limit 1000 → 3 shards; the alias of t0 sits in t0's shard. */
function entries(): StateDictEntry[] {
  const out: StateDictEntry[] = Array.from({ length: 6 }, (_, i) => ({
    key: `t${i}`,
    tensor: sampleTensor(`t${i}`, 'float32', [10, 10], i + 1),
  }));
  out.push({ key: 'tied', aliasOf: 't0' });
  return out;
}

test('sharded pytorch_model-*.bin with index loads in PyTorch; aliases stay with their source', async (t) => {
  const dir = tmp();
  const names = await writeWeights(dir, entries(), { format: 'pytorch', maxShardSize: 1000 });
  assert.deepEqual(names, [
    'pytorch_model-00001-of-00003.bin',
    'pytorch_model-00002-of-00003.bin',
    'pytorch_model-00003-of-00003.bin',
    'pytorch_model.bin.index.json',
  ]);
  assert.deepEqual(readdirSync(dir).sort(), [...names].sort());
  const indexText = readFileSync(join(dir, 'pytorch_model.bin.index.json'), 'utf8');
  const index = JSON.parse(indexText) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  assert.equal(index.metadata.total_size, 6 * 400);
  assert.equal(index.weight_map.tied, 'pytorch_model-00001-of-00003.bin');
  const python = torchPython(t);
  if (!python) return;
  const expectedText = runPython(
    python,
    'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), indent=2, sort_keys=True))',
    [join(dir, 'pytorch_model.bin.index.json')],
  );
  assert.equal(indexText, expectedText, 'json.dumps(indent=2, sort_keys=True) + newline');
  const loaded = loadShardedFolder(python, join(dir, 'pytorch_model.bin.index.json'));
  assert.equal(loaded.size, 7);
  for (const e of entries())
    if ('tensor' in e) assert.deepEqual(Buffer.from(loaded.get(e.key)!.bytes), Buffer.from(await e.tensor.read()));
  assert.equal(loaded.get('tied')!.dataPtr, loaded.get('t0')!.dataPtr);
});

test('sharded safetensors: tied alias dropped, index lists only saved tensors, Python reads by the spec', async (t) => {
  const dir = tmp();
  const names = await writeWeights(dir, entries(), { format: 'safetensors', maxShardSize: 1000 });
  assert.equal(names.at(-1), 'model.safetensors.index.json');
  assert.equal(names[0], 'model-00001-of-00003.safetensors');
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as {
    weight_map: Record<string, string>;
  };
  assert.deepEqual(Object.keys(index.weight_map), ['t0', 't1', 't2', 't3', 't4', 't5']);
  const python = torchPython(t);
  if (!python) return;
  const loaded = loadShardedFolder(python, join(dir, 'model.safetensors.index.json'));
  for (const e of entries())
    if ('tensor' in e) assert.deepEqual(Buffer.from(loaded.get(e.key)!.bytes), Buffer.from(await e.tensor.read()));
});

test('one shard keeps the plain file name and writes no index', async (t) => {
  const dir = tmp();
  assert.deepEqual(await writeWeights(dir, entries(), { format: 'pytorch' }), ['pytorch_model.bin']);
  assert.deepEqual(await writeWeights(dir, entries(), { format: 'safetensors' }), ['model.safetensors']);
  const python = torchPython(t);
  if (!python) return;
  assert.equal(loadWithTorch(python, join(dir, 'pytorch_model.bin')).size, 7);
});

test('a failure in a later shard removes the shards already written', async () => {
  const dir = tmp();
  const bad: StateDictEntry[] = [...entries().slice(0, 4), { key: 'bad', tensor: failingTensor('bad', 400) }];
  await assert.rejects(writeWeights(dir, bad, { format: 'safetensors', maxShardSize: 1000 }), /simulated/);
  assert.deepEqual(readdirSync(dir), []);
});

test('the index lists a tensor named __proto__ like any other (it vanished from weight_map)', async () => {
  const dir = tmp();
  const protoEntries: StateDictEntry[] = ['__proto__', 'constructor'].map((key, i) => ({
    key,
    tensor: sampleTensor(key, 'float32', [100], i + 1),
  }));
  await writeWeights(dir, protoEntries, { format: 'safetensors', maxShardSize: 500 });
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
  assert.deepEqual(Object.entries(index.weight_map), [
    ['__proto__', 'model-00001-of-00002.safetensors'],
    ['constructor', 'model-00002-of-00002.safetensors'],
  ]);
});
