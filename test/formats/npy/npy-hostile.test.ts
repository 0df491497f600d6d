/** Hostile .npy files, built byte by byte here on purpose: each must fail with its exact code. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_HEADER_BYTES } from '../../../src/formats/npy/header.js';
import { openNpy } from '../../../src/formats/npy/npy-file.js';
import { tempDir } from '../../support/temp.js';

/** A v1.0 (or v2.0) file with the given header text and data bytes, padded like numpy pads. */
function npyBytes(header: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  let text = header;
  while ((pre + text.length + 1) % 64 !== 0) text += ' ';
  text += '\n';
  const out = new Uint8Array(pre + text.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(Buffer.from(text, 'latin1'), pre);
  out.set(data, pre + text.length);
  return out;
}

function withFile(t: { after(fn: () => void): void }, bytes: Uint8Array): string {
  const dir = tempDir(t, 'npy-bad');
  const path = join(dir, 'bad.npy');
  writeFileSync(path, bytes);
  return path;
}

test('a well-formed hand-built file reads (the builder itself is right)', async (t) => {
  const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
  const npy = await openNpy(withFile(t, npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data)));
  t.after(() => npy.close());
  assert.deepEqual([...new Float32Array(new Uint8Array(await npy.tensor.read()).buffer)], [1, 2, 3]);
});

test('bad magic → E_BAD_MAGIC', async (t) => {
  const bytes = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }");
  bytes[1] = 0x4d;
  await assert.rejects(openNpy(withFile(t, bytes)), { code: 'E_BAD_MAGIC', message: /\\x93NUMPY/ });
  await assert.rejects(openNpy(withFile(t, new Uint8Array([0x93, 0x4e]))), { code: 'E_BAD_MAGIC' });
});

test('unknown version → E_UNSUPPORTED', async (t) => {
  const bytes = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }");
  bytes[6] = 4;
  await assert.rejects(openNpy(withFile(t, bytes)), { code: 'E_UNSUPPORTED', message: /version 4\.0/ });
});

test('header longer than the limit → E_LIMIT, before reading it', async (t) => {
  const bytes = new Uint8Array(12);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
  new DataView(bytes.buffer).setUint32(8, 0xfffffff0, true);
  await assert.rejects(openNpy(withFile(t, bytes)), {
    code: 'E_LIMIT',
    message: new RegExp(`limit of ${MAX_HEADER_BYTES}`),
  });
});

test('header running past the end of the file → E_TRUNCATED', async (t) => {
  const bytes = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }").subarray(0, 40);
  await assert.rejects(openNpy(withFile(t, bytes)), { code: 'E_TRUNCATED' });
});

test('shape larger than the file → E_TRUNCATED naming the sizes (nothing allocated)', async (t) => {
  const huge = npyBytes(
    "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000), }",
    new Uint8Array(16),
  );
  await assert.rejects(openNpy(withFile(t, huge)), {
    code: 'E_TRUNCATED',
    message: /needs 8000000000000000000 bytes but only 16/,
  });
  const short = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", new Uint8Array(19));
  await assert.rejects(openNpy(withFile(t, short)), { code: 'E_TRUNCATED', message: /needs 20 bytes but only 19/ });
});

test('object arrays are refused → E_UNSUPPORTED', async (t) => {
  const bytes = npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([0x80, 0x02]), 2);
  await assert.rejects(openNpy(withFile(t, bytes)), { code: 'E_UNSUPPORTED', message: /object arrays/ });
});

test('structured and unknown dtypes', async (t) => {
  const structured = npyBytes(
    "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }",
    new Uint8Array(8),
  );
  await assert.rejects(openNpy(withFile(t, structured)), { code: 'E_UNSUPPORTED', message: /structured/ });
  const text = npyBytes("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(12));
  await assert.rejects(openNpy(withFile(t, text)), { code: 'E_UNKNOWN_DTYPE', message: /'<U3'/ });
});

test('headers that are not a plain literal → E_MALFORMED (never evaluated)', async (t) => {
  for (const header of [
    "__import__('os').system('echo hi')",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } extra",
    "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': ('3',), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'evil': 1}",
    "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
  ]) {
    await assert.rejects(openNpy(withFile(t, npyBytes(header, new Uint8Array(12)))), { code: 'E_MALFORMED' }, header);
  }
});

test('Python 2 long integers and double quotes are accepted, as numpy accepts them', async (t) => {
  const npy = await openNpy(
    withFile(t, npyBytes('{"descr": "<i2", "fortran_order": False, "shape": (2L, 1L)}', new Uint8Array([1, 0, 2, 0]))),
  );
  t.after(() => npy.close());
  assert.deepEqual(npy.tensor.shape, [2, 1]);
  assert.equal(npy.tensor.dtype, 'int16');
});
