import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import type { StateDictEntry } from '../../../src/formats/state-dict.js';
import { writeTorchFile } from '../../../src/formats/torch/write.js';
import { crc32 } from '../../../src/io/crc32.js';
import { memoryTensor } from '../../../src/tensor.js';
import { runPython, torchPython } from '../../support/python.js';
import { failingTensor, sampleStateDict, sampleTensor } from '../../support/sample-tensors.js';
import { tempDirs } from '../../support/temp.js';
import { loadWithTorch } from '../../support/torch-load.js';

const tmp = tempDirs('torchw');

function entriesWithAliases(): StateDictEntry[] {
  const entries: StateDictEntry[] = sampleStateDict().map((t) => ({ key: t.name, tensor: t }));
  entries.push({ key: 'lm_head.weight', aliasOf: 'layer.float32.weight' });
  entries.push({ key: 'lm_head.again', aliasOf: 'lm_head.weight' });
  return entries;
}

/** Walks the archive independently of our reader: alignment, local/central CRC, zip64 presence. */
function inspectZip(bytes: Buffer) {
  const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const zip64 = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06])) >= 0;
  let count = bytes.readUInt16LE(eocd + 10);
  let at = bytes.readUInt32LE(eocd + 16);
  if (zip64) {
    const record = Number(bytes.readBigUInt64LE(eocd - 20 + 8));
    count = Number(bytes.readBigUInt64LE(record + 32));
    at = Number(bytes.readBigUInt64LE(record + 48));
  }
  const entries: { name: string; dataOffset: number; size: number }[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(bytes.readUInt32LE(at), 0x02014b50);
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const name = bytes.subarray(at + 46, at + 46 + nameLength).toString();
    let size = bytes.readUInt32LE(at + 24);
    let local = bytes.readUInt32LE(at + 42);
    if (local === 0xffffffff) {
      size = Number(bytes.readBigUInt64LE(at + 46 + nameLength + 4 + 8));
      local = Number(bytes.readBigUInt64LE(at + 46 + nameLength + 4 + 16));
    }
    const centralCrc = bytes.readUInt32LE(at + 16);
    assert.equal(bytes.readUInt32LE(local), 0x04034b50, `${name}: local header`);
    assert.equal(bytes.readUInt16LE(local + 8), 0, `${name}: STORED`);
    assert.equal(bytes.readUInt32LE(local + 14), centralCrc, `${name}: local CRC = central CRC`);
    const dataOffset = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    assert.equal(crc32(bytes.subarray(dataOffset, dataOffset + size)), centralCrc, `${name}: CRC of the data`);
    entries.push({ name, dataOffset, size });
    at += 46 + nameLength + extraLength;
  }
  return { entries, zip64 };
}

test('every dtype, 0-dim, empty and tied tensors load in torch.load(weights_only=True) with exact bytes', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tmp();
  const path = join(dir, 'pytorch_model.bin');
  const entries = entriesWithAliases();
  await writeTorchFile(path, entries);
  const loaded = loadWithTorch(python, path);
  assert.deepEqual(
    [...loaded.keys()],
    entries.map((e) => e.key),
  );
  for (const e of entries) {
    if (!('tensor' in e)) continue;
    const got = loaded.get(e.key)!;
    assert.equal(got.dtype, e.tensor.dtype, e.key);
    assert.deepEqual(got.shape, e.tensor.shape, e.key);
    assert.deepEqual(Buffer.from(got.bytes), Buffer.from(await e.tensor.read()), e.key);
  }
  const tied = loaded.get('layer.float32.weight')!;
  assert.equal(loaded.get('lm_head.weight')!.dataPtr, tied.dataPtr, 'alias shares the storage');
  assert.equal(loaded.get('lm_head.again')!.dataPtr, tied.dataPtr, 'alias of an alias shares the storage');
  assert.deepEqual(readdirSync(dir), ['pytorch_model.bin']);
});

test('every record is STORED, 64-byte aligned, with correct CRCs; storages are written once', async () => {
  const path = join(tmp(), 'pytorch_model.bin');
  const entries = entriesWithAliases();
  await writeTorchFile(path, entries);
  const { entries: records, zip64 } = inspectZip(readFileSync(path));
  assert.equal(zip64, false);
  const storages = entries.filter((e) => 'tensor' in e).length;
  assert.deepEqual(
    records.map((r) => r.name),
    [
      'pytorch_model/data.pkl',
      'pytorch_model/byteorder',
      ...Array.from({ length: storages }, (_, i) => `pytorch_model/data/${i}`),
      'pytorch_model/version',
    ],
  );
  for (const r of records) assert.equal(r.dataOffset % 64, 0, `${r.name} data at ${r.dataOffset}`);
});

test('a forced-zip64 archive has zip64 records and loads in PyTorch and Python zipfile', async (t) => {
  const path = join(tmp(), 'model.bin');
  const entries: StateDictEntry[] = [
    { key: 'a', tensor: sampleTensor('a', 'float32', [5, 7], 9) },
    { key: 'b', aliasOf: 'a' },
    { key: 'c', tensor: sampleTensor('c', 'bfloat16', [3], 10) },
  ];
  await writeTorchFile(path, entries, { forceZip64: true });
  const { entries: records, zip64 } = inspectZip(readFileSync(path));
  assert.equal(zip64, true);
  for (const r of records) assert.equal(r.dataOffset % 64, 0, r.name);
  const python = torchPython(t);
  if (!python) return;
  assert.equal(
    runPython(python, 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).testzip())', [path]).trim(),
    'None',
  );
  const loaded = loadWithTorch(python, path);
  assert.deepEqual(
    Buffer.from(loaded.get('a')!.bytes),
    Buffer.from(await (entries[0] as { tensor: { read(): Promise<Uint8Array> } }).tensor.read()),
  );
  assert.equal(loaded.get('b')!.dataPtr, loaded.get('a')!.dataPtr);
});

test('more than 1000 keys (several SETITEMS batches) and a plain dict container load in PyTorch', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const entries: StateDictEntry[] = Array.from({ length: 2100 }, (_, i) => ({
    key: `w${i}`,
    tensor: sampleTensor(`w${i}`, 'int16', [i % 3], i),
  }));
  const path = join(tmp(), 'many.bin');
  await writeTorchFile(path, entries, { container: 'dict' });
  const loaded = loadWithTorch(python, path);
  assert.equal(loaded.size, 2100);
  assert.deepEqual(
    Buffer.from(loaded.get('w2099')!.bytes),
    Buffer.from(await sampleTensor('x', 'int16', [2], 2099).read()),
  );
});

test('a source failing midway leaves nothing under the final name nor a temporary file', async () => {
  const dir = tmp();
  const path = join(dir, 'pytorch_model.bin');
  await assert.rejects(
    writeTorchFile(path, [
      { key: 'ok', tensor: sampleTensor('ok', 'float32', [4]) },
      { key: 'bad', tensor: failingTensor('bad') },
    ]),
    /simulated read failure in bad/,
  );
  assert.equal(existsSync(path), false);
  assert.deepEqual(readdirSync(dir), []);
});

test('bad state dicts are refused with codes naming the key', async () => {
  const path = join(tmp(), 'x.bin');
  const a = sampleTensor('a', 'float32', [2]);
  await assert.rejects(
    writeTorchFile(path, [
      { key: 'a', tensor: a },
      { key: 'a', tensor: a },
    ]),
    (e: Tf2TorchError) => e.code === 'E_PLAN' && /key a twice/.test(e.message),
  );
  await assert.rejects(
    writeTorchFile(path, [{ key: 'b', aliasOf: 'nope' }]),
    (e: Tf2TorchError) => e.code === 'E_PLAN' && /b is an alias of nope/.test(e.message),
  );
  await assert.rejects(
    writeTorchFile(path, [{ key: 'u', tensor: sampleTensor('u', 'uint16', [2]) }]),
    (e: Tf2TorchError) => e.code === 'E_UNSUPPORTED' && /uint16/.test(e.message),
  );
});

test('a strided entry is stored as its storage with its strides; torch reads the view', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const path = join(tmp(), 'pytorch_model.bin');
  // storage [2, 3] = 0..5; the tensor is its transpose [3, 2] read through strides [1, 3]
  const storage = memoryTensor('k', 'float32', [2, 3], new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer));
  const rowMajor = memoryTensor('k.T', 'float32', [3, 2], new Uint8Array(Float32Array.from([0, 3, 1, 4, 2, 5]).buffer));
  await writeTorchFile(path, [
    { key: 'w', tensor: rowMajor, strided: { storage, strides: [1, 3] } },
    { key: 'tied', aliasOf: 'w' },
  ]);
  const loaded = loadWithTorch(python, path);
  for (const key of ['w', 'tied']) {
    const got = loaded.get(key)!;
    assert.deepEqual(got.shape, [3, 2]);
    assert.deepEqual(got.strides, [1, 3], `${key}: stored as a view`);
    assert.deepEqual([...new Float32Array(Uint8Array.from(got.bytes).buffer)], [0, 3, 1, 4, 2, 5]);
  }
});

test('a strided form that does not fit its tensor is refused by key', async () => {
  const path = join(tmp(), 'x.bin');
  const rowMajor = sampleTensor('a', 'float32', [3, 2]);
  const bad = [
    { storage: sampleTensor('s', 'float32', [2, 3]), strides: [1, 4] }, // reaches past the storage
    { storage: sampleTensor('s', 'float16', [2, 3]), strides: [1, 3] }, // another dtype
    { storage: sampleTensor('s', 'float32', [2, 3]), strides: [1] }, // a stride missing
  ];
  for (const strided of bad) {
    await assert.rejects(
      writeTorchFile(path, [{ key: 'a', tensor: rowMajor, strided }]),
      (e: Tf2TorchError) => e.code === 'E_PLAN' && /tensor a: its strided storage/.test(e.message),
    );
  }
});
