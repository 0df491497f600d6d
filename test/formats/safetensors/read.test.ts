import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { openTensorSource } from '../../../src/formats/open.js';
import { openSafetensors } from '../../../src/formats/safetensors/read.js';
import { writeSafetensorsFile } from '../../../src/formats/safetensors/write.js';
import { sampleStateDict } from '../../support/sample-tensors.js';
import { tempDirs } from '../../support/temp.js';

const tmp = tempDirs('str');

function file(header: object, buffer = Buffer.alloc(0), declared?: bigint): string {
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(declared ?? BigInt(json.length));
  const path = join(tmp(), 'm.safetensors');
  writeFileSync(path, Buffer.concat([head, json, buffer]));
  return path;
}

test('round trip through our writer and reader, metadata included', async () => {
  const path = join(tmp(), 'model.safetensors');
  const tensors = sampleStateDict(['float32', 'bfloat16', 'int64', 'bool', 'uint8', 'complex64']);
  await writeSafetensorsFile(
    path,
    tensors.map((x) => ({ key: x.name, tensor: x })),
    { metadata: { a: 'b' } },
  );
  const source = await openSafetensors(path);
  assert.deepEqual({ ...source.metadata }, { a: 'b', format: 'pt' });
  assert.deepEqual(
    source.tensors.map((x) => x.name),
    tensors.map((x) => x.name),
  );
  for (const [i, x] of tensors.entries()) {
    assert.deepEqual(source.tensors[i]!.shape, x.shape);
    assert.deepEqual(Buffer.from(await source.tensors[i]!.read()), Buffer.from(await x.read()));
  }
  await source.close();
});

test('hostile headers are refused before reading tensors', async () => {
  const code = (c: string, text: RegExp) => (e: Tf2TorchError) => e.code === c && text.test(e.message);
  await assert.rejects(
    openSafetensors(file({}, Buffer.alloc(0), 10n ** 12n)),
    code('E_LIMIT', /header of 1000000000000 bytes/),
  );
  await assert.rejects(openSafetensors(file({}, Buffer.alloc(0), 500n)), code('E_TRUNCATED', /safetensors header/));
  await assert.rejects(
    openSafetensors(file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(4))),
    code('E_MALFORMED', /tensor w: data_offsets \[0, 4\] hold 4 bytes/),
  );
  await assert.rejects(
    openSafetensors(file({ w: { dtype: 'Q9', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4))),
    code('E_UNKNOWN_DTYPE', /tensor w .*Q9/),
  );
  await assert.rejects(
    openSafetensors(
      file(
        { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } },
        Buffer.alloc(3),
      ),
    ),
    code('E_MALFORMED', /hole or overlap at 1/),
  );
  await assert.rejects(
    openSafetensors(file({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, Buffer.alloc(5))),
    code('E_MALFORMED', /buffer is 5 bytes, the tensors cover 2/),
  );
  await assert.rejects(
    openSafetensors(file({ __metadata__: { format: 1 } })),
    code('E_MALFORMED', /__metadata__.format is not a string/),
  );
});

test('a .safetensors announcing a 2^62-byte header is E_LIMIT through the opener registry too, not "not found"', async () => {
  const path = file({}, Buffer.alloc(0), 2n ** 62n);
  for (const open of [openSafetensors, openTensorSource]) {
    await assert.rejects(open(path), (e: Tf2TorchError) => {
      assert.equal(e.code, 'E_LIMIT', e.message);
      assert.equal(e.file, path);
      assert.match(e.message, /header of 4611686018427387904 bytes exceeds/);
      return true;
    });
  }
});

test('metadata keys named __proto__ or constructor are kept as ordinary keys (a "__proto__" vanished)', async () => {
  // JSON.parse keeps "__proto__" as an own key; the reader's own object used to drop it on assignment.
  const header = JSON.parse('{"__metadata__": {"__proto__": "x", "constructor": "c", "format": "pt"}}');
  const source = await openSafetensors(file(header));
  assert.deepEqual(Object.entries(source.metadata), [
    ['__proto__', 'x'],
    ['constructor', 'c'],
    ['format', 'pt'],
  ]);
});
