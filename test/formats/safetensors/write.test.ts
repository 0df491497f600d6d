import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { writeSafetensorsFile } from '../../../src/formats/safetensors/write.js';
import type { StateDictEntry } from '../../../src/formats/state-dict.js';
import { numpyPython } from '../../support/python.js';
import { failingTensor, sampleStateDict, sampleTensor, TORCH_DTYPES } from '../../support/sample-tensors.js';
import { tempDirs } from '../../support/temp.js';
import { loadSafetensorsInPython } from '../../support/torch-load.js';

const tmp = tempDirs('stw');
const SAFETENSORS_DTYPES = TORCH_DTYPES.filter((d) => d !== 'complex128');

test('every dtype and shape case parses in Python by the spec to the same bytes; aliases keep the first name', async (t) => {
  const path = join(tmp(), 'model.safetensors');
  const entries: StateDictEntry[] = sampleStateDict(SAFETENSORS_DTYPES).map((x) => ({ key: x.name, tensor: x }));
  entries.push({ key: 'lm_head.weight', aliasOf: 'layer.float32.weight' });
  await writeSafetensorsFile(path, entries, { metadata: { source: 'test' } });

  const raw = readFileSync(path);
  const n = Number(raw.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(raw.subarray(8, 8 + n).toString()) as Record<string, unknown>;
  assert.deepEqual(header.__metadata__, { source: 'test', format: 'pt' });
  assert.deepEqual(
    Object.keys(header).slice(1),
    entries.filter((e) => 'tensor' in e).map((e) => e.key),
    'state-dict order',
  );
  assert.equal('lm_head.weight' in header, false);

  const python = numpyPython(t);
  if (!python) return;
  const loaded = loadSafetensorsInPython(python, path);
  assert.equal(loaded.size, entries.length - 1);
  for (const e of entries) {
    if (!('tensor' in e)) continue;
    const got = loaded.get(e.key)!;
    assert.equal(got.dtype, e.tensor.dtype, e.key);
    assert.deepEqual(got.shape, e.tensor.shape, e.key);
    assert.deepEqual(Buffer.from(got.bytes), Buffer.from(await e.tensor.read()), e.key);
  }
});

test('writing is deterministic', async () => {
  const dir = tmp();
  const entries: StateDictEntry[] = sampleStateDict(['float32', 'int8']).map((x) => ({ key: x.name, tensor: x }));
  await writeSafetensorsFile(join(dir, 'a.safetensors'), entries);
  await writeSafetensorsFile(join(dir, 'b.safetensors'), entries);
  assert.deepEqual(readFileSync(join(dir, 'a.safetensors')), readFileSync(join(dir, 'b.safetensors')));
});

test('a failing source leaves nothing behind; unsupported dtypes are refused by name', async () => {
  const dir = tmp();
  const path = join(dir, 'model.safetensors');
  await assert.rejects(
    writeSafetensorsFile(path, [
      { key: 'ok', tensor: sampleTensor('ok', 'int8', [3]) },
      { key: 'bad', tensor: failingTensor('bad') },
    ]),
    /simulated/,
  );
  assert.equal(existsSync(path), false);
  assert.deepEqual(readdirSync(dir), []);
  await assert.rejects(
    writeSafetensorsFile(path, [{ key: 'z', tensor: sampleTensor('z', 'complex128', [1]) }]),
    (e: Tf2TorchError) => e.code === 'E_UNSUPPORTED' && /tensor z/.test(e.message),
  );
});

test('a tensor named __proto__ or constructor is written under its name (__proto__ vanished from the header)', async () => {
  const path = join(tmp(), 'proto.safetensors');
  const names = ['__proto__', 'constructor', 'w'];
  await writeSafetensorsFile(
    path,
    names.map((key, i) => ({ key, tensor: sampleTensor(key, 'float32', [2], i + 1) })),
    { metadata: {} },
  );
  const raw = readFileSync(path);
  const n = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: number[] }>;
  assert.deepEqual(Object.keys(header), ['__metadata__', ...names]);
  assert.deepEqual(
    names.map((k) => Object.getOwnPropertyDescriptor(header, k)?.value.data_offsets),
    [
      [0, 8],
      [8, 16],
      [16, 24],
    ],
  );
});
