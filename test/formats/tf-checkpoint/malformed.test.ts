/** Hostile and broken inputs, built byte by byte: each must give its stable code and name the culprit. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Tf2TorchError } from '../../../src/errors.js';
import { openTfCheckpoint } from '../../../src/formats/tf-checkpoint/index.js';
import { crc32c, maskCrc } from '../../../src/io/crc32c.js';
import { tempDirs } from '../../support/temp.js';
import {
  encodeBundleEntry,
  encodeBundleHeader,
  type TableEntry,
  writeBundle,
  writeTable,
} from '../../support/tf-bundle-writer.js';

const tmp = tempDirs('bad');
const header: TableEntry = { key: new Uint8Array(0), value: encodeBundleHeader({ numShards: 1 }) };
const key = (s: string) => Buffer.from(s);

async function failure(p: Promise<unknown>): Promise<Tf2TorchError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Tf2TorchError) return e;
    throw e;
  }
  assert.fail('expected a Tf2TorchError');
}

/** An index with hand-written entries and a data file of `data` bytes; returns the prefix. */
async function bundle(entries: TableEntry[], data = new Uint8Array(16)): Promise<string> {
  const prefix = join(tmp(), 'bad');
  await writeTable(`${prefix}.index`, entries);
  writeFileSync(`${prefix}.data-00000-of-00001`, data);
  return prefix;
}

test('truncated index and wrong magic', async () => {
  const prefix = await bundle([header]);
  const bytes = readFileSync(`${prefix}.index`);
  writeFileSync(`${prefix}.index`, bytes.subarray(0, 20));
  let e = await failure(openTfCheckpoint(prefix));
  assert.equal(e.code, 'E_TRUNCATED');
  assert.equal(e.file, `${prefix}.index`);
  const wrong = Buffer.from(bytes);
  wrong[wrong.length - 1] = 0;
  writeFileSync(`${prefix}.index`, wrong);
  e = await failure(openTfCheckpoint(prefix));
  assert.equal(e.code, 'E_BAD_MAGIC');
  assert.match(e.message, /bad\.index/);
});

test('a block handle pointing past the end of the file is E_TRUNCATED; an absurd one E_LIMIT', async () => {
  const prefix = await bundle([header]);
  const bytes = readFileSync(`${prefix}.index`);
  const footer = bytes.length - 48;
  // index handle = second varint pair in the footer; rewrite the whole footer with a far offset
  const far = Buffer.alloc(48);
  far.set([0, 8, 0xff, 0xff, 0x03, 10], 0);
  bytes.copy(far, 40, footer + 40);
  writeFileSync(`${prefix}.index`, Buffer.concat([bytes.subarray(0, footer), far]));
  assert.equal((await failure(openTfCheckpoint(prefix))).code, 'E_TRUNCATED');
  far.set([0, 8, 0, 0xff, 0xff, 0xff, 0xff, 0x0f], 0);
  writeFileSync(`${prefix}.index`, Buffer.concat([bytes.subarray(0, footer), far]));
  assert.equal((await failure(openTfCheckpoint(prefix))).code, 'E_LIMIT');
});

test('malformed varints and protos in an entry are E_MALFORMED / E_TRUNCATED naming the entry', async () => {
  const badVarint = await bundle([
    header,
    { key: key('w'), value: Uint8Array.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) },
  ]);
  let e = await failure(openTfCheckpoint(badVarint));
  assert.equal(e.code, 'E_MALFORMED');
  assert.match(e.message, /entry 'w'/);
  const shortField = await bundle([header, { key: key('w'), value: Uint8Array.from([0x12, 0x10, 0x00]) }]); // shape: 16 bytes announced, 1 there
  e = await failure(openTfCheckpoint(shortField));
  assert.equal(e.code, 'E_TRUNCATED');
  assert.match(e.message, /entry 'w'/);
  const group = await bundle([header, { key: key('w'), value: Uint8Array.from([0x0b]) }]); // wire type 3
  assert.equal((await failure(openTfCheckpoint(group))).code, 'E_MALFORMED');
  const noHeader = await bundle([{ key: key('w'), value: encodeBundleEntry({ dtype: 1, shape: [] }) }]);
  assert.equal((await failure(openTfCheckpoint(noHeader))).code, 'E_MALFORMED');
});

test('unknown dtype, size that disagrees with the shape, absurd shapes, bad shard id', async () => {
  const cases: [string, Uint8Array, string][] = [
    ['q', encodeBundleEntry({ dtype: 11, shape: [4], size: 4 }), 'E_UNKNOWN_DTYPE'],
    ['v', encodeBundleEntry({ dtype: 21, shape: [] }), 'E_UNKNOWN_DTYPE'],
    ['s', encodeBundleEntry({ dtype: 1, shape: [3], size: 8 }), 'E_MALFORMED'],
    ['h', encodeBundleEntry({ dtype: 1, shape: [2 ** 40, 2 ** 40], size: 4 }), 'E_LIMIT'],
    ['n', encodeBundleEntry({ dtype: 1, shape: [-1 as number], size: 4 }), 'E_MALFORMED'],
    ['o', encodeBundleEntry({ dtype: 1, shape: [1], size: 4, offset: 2n ** 62n }), 'E_LIMIT'],
    ['z', encodeBundleEntry({ dtype: 1, shape: [1], size: 4, shardId: 3 }), 'E_MALFORMED'],
  ];
  for (const [name, value, code] of cases) {
    const e = await failure(openTfCheckpoint(await bundle([header, { key: key(name), value }])));
    assert.equal(e.code, code, `${name}: ${e.message}`);
    assert.match(e.message, new RegExp(`'${name}'`), `${name}: ${e.message}`);
  }
});

test('a tensor beyond the end of its data file is E_TRUNCATED naming the tensor and offset', async () => {
  const bytes = Uint8Array.from([1, 2, 3, 4]);
  const prefix = await bundle(
    [
      header,
      {
        key: key('late'),
        value: encodeBundleEntry({ dtype: 1, shape: [1], size: 4, offset: 100, crc32c: maskCrc(crc32c(bytes)) }),
      },
    ],
    bytes,
  );
  const c = await openTfCheckpoint(prefix);
  const e = await failure(c.tensor('late').read());
  assert.equal(e.code, 'E_TRUNCATED');
  assert.equal(e.tensor, 'late');
  assert.equal(e.offset, 100);
  assert.match(e.message, /data-00000-of-00001/);
  await c.close();
});

test('wrong stored crc is E_TENSOR_CHECKSUM; a corrupt string length checksum too', async () => {
  const bytes = Uint8Array.from([1, 2, 3, 4]);
  const prefix = await bundle(
    [
      header,
      {
        key: key('w'),
        value: encodeBundleEntry({ dtype: 1, shape: [1], size: 4, crc32c: maskCrc(crc32c(bytes)) ^ 1 }),
      },
    ],
    bytes,
  );
  const c = await openTfCheckpoint(prefix);
  assert.equal((await failure(c.tensor('w').read())).code, 'E_TENSOR_CHECKSUM');
  assert.equal(
    (await failure(c.tensor('w').readInto?.(new Uint8Array(4)) ?? Promise.resolve())).code,
    'E_TENSOR_CHECKSUM',
  );
  assert.equal((await openTfCheckpoint(prefix, { verify: false }).then((x) => x.tensor('w').read())).length, 4);
  const dir = tmp();
  await writeBundle(join(dir, 's'), [
    { name: 'str', dtype: 'string', shape: [1], bytes: Uint8Array.from([2, 0, 0, 0, 0, 0x61, 0x62]) },
  ]);
  const s = await openTfCheckpoint(join(dir, 's'));
  const e = await failure(s.tensor('str').read());
  assert.equal(e.code, 'E_TENSOR_CHECKSUM');
  assert.match(e.message, /length checksum of string tensor 'str'/);
});

test('a reading of an unknown tensor name is E_TENSOR_NOT_FOUND', async () => {
  const prefix = await bundle([header]);
  const c = await openTfCheckpoint(prefix);
  assert.equal(c.tensors.length, 0);
  assert.throws(() => c.tensor('nope'), { code: 'E_TENSOR_NOT_FOUND' });
});
