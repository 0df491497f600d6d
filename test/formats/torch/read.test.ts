import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTorchFile } from '../../../src/formats/torch/read.js';
import { writeTorchFile } from '../../../src/formats/torch/write.js';
import { runPython, torchPython } from '../../support/python.js';
import { loadWithTorch } from '../../support/torch-load.js';
import { sampleStateDict } from '../../support/sample-tensors.js';
import type { Tf2TorchError } from '../../../src/errors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tf2torch-torchr-'));

/** Written by the real torch.save: every dtype, a transposed view, a storage shared by two tensors. */
const SAVE_SCRIPT = String.raw`
import sys, collections, torch
torch.manual_seed(0)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd = collections.OrderedDict()
for dt in [torch.float16, torch.float32, torch.float64, torch.bfloat16, torch.int8, torch.int16, torch.int32,
           torch.int64, torch.uint8, torch.complex64, torch.complex128]:
    sd['t.' + str(dt).replace('torch.', '')] = (torch.randn(3, 5) * 100).to(dt)
sd['t.bool'] = torch.randn(7) > 0
sd['scalar'] = torch.tensor(3.5)
sd['empty'] = torch.zeros(0, 4)
sd['base'] = base
sd['transposed'] = base.t()
sd['rows'] = base[1:3]
sd['strided'] = base[:, ::2]
sd['tied'] = sd['base']
torch.save(sd, sys.argv[1])
torch.save(sd, sys.argv[2], _use_new_zipfile_serialization=False)
`;

test('files written by the real torch.save (zip and legacy) read back exactly, views made contiguous', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tmp();
  const zipPath = join(dir, 'zip.pt');
  const legacyPath = join(dir, 'legacy.pt');
  runPython(python, SAVE_SCRIPT, [zipPath, legacyPath]);
  const expected = loadWithTorch(python, zipPath);
  for (const [path, format] of [[zipPath, 'torch-zip'], [legacyPath, 'torch-legacy']] as const) {
    const source = await openTorchFile(path);
    try {
      assert.equal(source.format, format);
      assert.deepEqual(source.tensors.map((x) => x.name), [...expected.keys()]);
      for (const tensor of source.tensors) {
        const want = expected.get(tensor.name)!;
        assert.equal(tensor.dtype, want.dtype, `${format} ${tensor.name}`);
        assert.deepEqual(tensor.shape, want.shape, `${format} ${tensor.name}`);
        assert.deepEqual(Buffer.from(await tensor.read()), Buffer.from(want.bytes), `${format} ${tensor.name} read()`);
        const chunks: Uint8Array[] = [];
        for await (const c of tensor.stream(7)) chunks.push(c);
        assert.deepEqual(Buffer.concat(chunks), Buffer.from(want.bytes), `${format} ${tensor.name} stream()`);
      }
      assert.ok(source.root instanceof Map);
    } finally {
      await source.close();
    }
  }
});

test('our own writer round-trips through our reader, CRC checked; a flipped byte is a CRC error', async () => {
  const path = join(tmp(), 'pytorch_model.bin');
  const tensors = sampleStateDict();
  await writeTorchFile(path, [...tensors.map((x) => ({ key: x.name, tensor: x })), { key: 'alias', aliasOf: tensors[0]!.name }]);
  const source = await openTorchFile(path);
  assert.deepEqual(source.tensors.map((x) => x.name), [...tensors.map((x) => x.name), 'alias']);
  for (const [i, x] of tensors.entries()) assert.deepEqual(Buffer.from(await source.tensors[i]!.read()), Buffer.from(await x.read()), x.name);
  assert.deepEqual(Buffer.from(await source.tensors.at(-1)!.read()), Buffer.from(await tensors[0]!.read()));
  await source.close();

  const bytes = readFileSync(path);
  const data0 = bytes.indexOf('pytorch_model/data/0') + 'pytorch_model/data/0'.length;
  const dataStart = Math.ceil(data0 / 64) * 64;
  bytes[dataStart + 1]! ^= 0xff;
  const corrupt = join(tmp(), 'pytorch_model.bin');
  writeFileSync(corrupt, bytes);
  const bad = await openTorchFile(corrupt);
  await assert.rejects(bad.tensors[0]!.read(), (e: Tf2TorchError) => e.code === 'E_ZIP_CRC' && e.message.includes('pytorch_model/data/0'));
  await bad.close();
});

test('not a torch file: a clear error', async () => {
  const path = join(tmp(), 'x.bin');
  writeFileSync(path, 'hello world, not a checkpoint');
  await assert.rejects(openTorchFile(path), (e: Tf2TorchError) => e.code === 'E_BAD_MAGIC' && e.message.includes(path));
});
