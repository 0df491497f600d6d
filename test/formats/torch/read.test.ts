import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { openTorchFile } from '../../../src/formats/torch/read.js';
import { writeTorchFile } from '../../../src/formats/torch/write.js';
import { sameStorageView, type TensorRef } from '../../../src/tensor.js';
import { runPython, torchPython } from '../../support/python.js';
import { sampleStateDict } from '../../support/sample-tensors.js';
import { tempDirs } from '../../support/temp.js';
import { loadWithTorch } from '../../support/torch-load.js';

const tmp = tempDirs('torchr');

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
sd['detached'] = base.detach()  # another tensor object over the same storage, as state_dict() returns tied weights
sd['row0'] = base[0]  # same start, fewer elements
sd['flat'] = base.view(24)  # same elements, another shape
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
  for (const [path, format] of [
    [zipPath, 'torch-zip'],
    [legacyPath, 'torch-legacy'],
  ] as const) {
    const source = await openTorchFile(path);
    try {
      assert.equal(source.format, format);
      assert.deepEqual(
        source.tensors.map((x) => x.name),
        [...expected.keys()],
      );
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

test('tensors of a torch file know their storage view: tied keys are one view, slices and reshapes are not', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tmp();
  runPython(python, SAVE_SCRIPT, [join(dir, 'zip.pt'), join(dir, 'legacy.pt')]);
  for (const name of ['zip.pt', 'legacy.pt']) {
    const source = await openTorchFile(join(dir, name));
    try {
      const byName = new Map(source.tensors.map((x) => [x.name, x]));
      const view = (key: string) => (byName.get(key) as TensorRef).view!;
      assert.deepEqual(
        { ...view('transposed'), file: '' },
        { file: '', key: view('base').key, dtype: 'float32', offset: 0, shape: [6, 4], stride: [1, 6] },
      );
      assert.equal(view('rows').offset, 6, 'base[1:3] starts at row 1');
      const tiedToBase = source.tensors
        .filter((x) => x.view && sameStorageView(x.view, view('base')))
        .map((x) => x.name);
      assert.deepEqual(tiedToBase, ['base', 'tied', 'detached'], name);
      assert.notEqual(view('t.float32').key, view('t.float64').key);
    } finally {
      await source.close();
    }
  }
  copyFileSync(join(dir, 'zip.pt'), join(dir, 'copy.pt'));
  const [a, b] = [await openTorchFile(join(dir, 'zip.pt')), await openTorchFile(join(dir, 'copy.pt'))];
  const base = (f: typeof a) => f.tensors.find((x) => x.name === 'base')!.view!;
  assert.equal(base(a).key, base(b).key);
  assert.ok(!sameStorageView(base(a), base(b)), 'the same storage key in two files (shards) is two tensors');
  await a.close();
  await b.close();
});

/**
 * A legacy file with storage views (`view_metadata`), as torch <= 0.3 wrote them. torch 1.13 still
 * reads them but no longer writes them (its writer's `is_view` is always False), so the file is
 * pickled here the way the old writer did: persistent ids ('storage', cls, root_key, location, numel,
 * (view_key, offset, view_size)). argv: path, 'good' | 'beyond' (a view past the end of its storage) | 'negative'.
 */
const LEGACY_VIEWS_SCRIPT = String.raw`
import collections, pickle, struct, sys, torch
path, kind = sys.argv[1], sys.argv[2]

class StorageRef:
    def __init__(self, pid):
        self.pid = pid

class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, torch.Size(size), stride, False, collections.OrderedDict())
    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)

class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, StorageRef) else None

root = ('storage', torch.FloatStorage, 'root', 'cpu', 24, None)
view = lambda key, offset, size: ('storage', torch.FloatStorage, 'root', 'cpu', 24, (key, offset, size))
middle = {'good': view('middle', 6, 12), 'beyond': view('middle', 20, 12), 'negative': view('middle', -1, 12)}[kind]
sd = collections.OrderedDict()
sd['whole'] = Tensor(StorageRef(root), 0, [4, 6], (6, 1))
sd['in_view'] = Tensor(StorageRef(middle), 2, [2, 3], (3, 1))  # elements 8..13 of root
sd['same_from_root'] = Tensor(StorageRef(root), 8, [2, 3], (3, 1))  # the same elements through the root
sd['in_view_t'] = Tensor(StorageRef(middle), 2, [3, 2], (1, 3))  # transposed: overlapping, another tensor
sd['other_view'] = Tensor(StorageRef(view('tail', 18, 6)), 0, [6], (1,))
with open(path, 'wb') as f:
    for obj in (0x1950a86a20f9469cfc6c, 1001, dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=8))):
        pickle.dump(obj, f, protocol=2)
    Pickler(f, protocol=2).dump(sd)
    pickle.dump(['root'], f, protocol=2)
    f.write(struct.pack('<q', 24))
    f.write(torch.arange(24, dtype=torch.float32).numpy().tobytes())
`;

test('legacy storage views (view_metadata) read as torch.load reads them; a view and the root over the same elements are one tensor', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tmp();
  const path = join(dir, 'views.pt');
  runPython(python, LEGACY_VIEWS_SCRIPT, [path, 'good']);
  const expected = loadWithTorch(python, path);
  assert.equal(expected.get('in_view')!.dataPtr, expected.get('same_from_root')!.dataPtr, 'torch: one address');
  const source = await openTorchFile(path);
  try {
    assert.equal(source.format, 'torch-legacy');
    assert.deepEqual(
      source.tensors.map((x) => x.name),
      [...expected.keys()],
    );
    for (const tensor of source.tensors) {
      const want = expected.get(tensor.name)!;
      assert.deepEqual(tensor.shape, want.shape, tensor.name);
      assert.deepEqual(Buffer.from(await tensor.read()), Buffer.from(want.bytes), tensor.name);
    }
    const view = (name: string) => source.tensors.find((x) => x.name === name)!.view!;
    assert.deepEqual(
      [view('in_view').key, view('in_view').offset],
      ['root', 8],
      'views are placed in their root storage',
    );
    assert.ok(sameStorageView(view('in_view'), view('same_from_root')));
    assert.ok(!sameStorageView(view('in_view'), view('in_view_t')));
    assert.ok(!sameStorageView(view('in_view'), view('whole')));
    assert.deepEqual(
      Array.from(
        new Float32Array(Uint8Array.from(await source.tensors.find((x) => x.name === 'other_view')!.read()).buffer),
      ),
      [18, 19, 20, 21, 22, 23],
    );
  } finally {
    await source.close();
  }
  const beyond = join(dir, 'beyond.pt');
  runPython(python, LEGACY_VIEWS_SCRIPT, [beyond, 'beyond']);
  await assert.rejects(
    openTorchFile(beyond),
    (e: Tf2TorchError) =>
      e.code === 'E_MALFORMED' &&
      e.message.includes('storage view middle exceeds storage root') &&
      e.message.includes(beyond),
  );
  const negative = join(dir, 'negative.pt');
  runPython(python, LEGACY_VIEWS_SCRIPT, [negative, 'negative']);
  await assert.rejects(
    openTorchFile(negative),
    (e: Tf2TorchError) =>
      e.code === 'E_MALFORMED' && e.message.includes('storage root: view metadata is not (view key, offset, size)'),
  );
});

test('our own writer round-trips through our reader, CRC checked; a flipped byte is a CRC error', async () => {
  const path = join(tmp(), 'pytorch_model.bin');
  const tensors = sampleStateDict();
  await writeTorchFile(path, [
    ...tensors.map((x) => ({ key: x.name, tensor: x })),
    { key: 'alias', aliasOf: tensors[0]!.name },
  ]);
  const source = await openTorchFile(path);
  assert.deepEqual(
    source.tensors.map((x) => x.name),
    [...tensors.map((x) => x.name), 'alias'],
  );
  for (const [i, x] of tensors.entries())
    assert.deepEqual(Buffer.from(await source.tensors[i]!.read()), Buffer.from(await x.read()), x.name);
  assert.deepEqual(Buffer.from(await source.tensors.at(-1)!.read()), Buffer.from(await tensors[0]!.read()));
  await source.close();

  const bytes = readFileSync(path);
  const data0 = bytes.indexOf('pytorch_model/data/0') + 'pytorch_model/data/0'.length;
  const dataStart = Math.ceil(data0 / 64) * 64;
  bytes[dataStart + 1]! ^= 0xff;
  const corrupt = join(tmp(), 'pytorch_model.bin');
  writeFileSync(corrupt, bytes);
  const bad = await openTorchFile(corrupt);
  await assert.rejects(
    bad.tensors[0]!.read(),
    (e: Tf2TorchError) => e.code === 'E_ZIP_CRC' && e.message.includes('pytorch_model/data/0'),
  );
  await bad.close();
});

test('not a torch file: a clear error', async () => {
  const path = join(tmp(), 'x.bin');
  writeFileSync(path, 'hello world, not a checkpoint');
  await assert.rejects(openTorchFile(path), (e: Tf2TorchError) => e.code === 'E_BAD_MAGIC' && e.message.includes(path));
});
