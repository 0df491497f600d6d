/** .npy files written by the real numpy: every dtype, header versions, byte orders, Fortran order, 0-d, empty. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openNpy } from '../../../src/formats/npy/npy-file.js';
import { numpyPython, runPython } from '../../support/python.js';
import { tempDir } from '../../support/temp.js';

// Writes one file per case and a manifest with the expected C-order little-endian bytes (hex).
const WRITE_CASES = `
import json, sys, numpy as np
from numpy.lib import format as fmt
out = sys.argv[1]
rng = np.random.default_rng(7)
cases = {}
def add(name, a, version=None):
    path = f"{out}/{name}.npy"
    if version is None:
        np.save(path, a)
    else:
        with open(path, 'wb') as f:
            fmt.write_array(f, a, version=version)
    le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))
    cases[name] = {'shape': list(a.shape), 'hex': le.tobytes().hex(), 'descr': fmt.dtype_to_descr(a.dtype)}
for t in ['f2','f4','f8','i1','i2','i4','i8','u1','u2','u4','u8']:
    add('le_' + t, (rng.standard_normal((3, 5)) * 100).astype('<' + t))
    add('be_' + t, (rng.standard_normal((2, 3)) * 100).astype('>' + t))
add('bool', rng.standard_normal((4, 3)) > 0)
add('fortran_2d', np.asfortranarray(np.arange(12, dtype='<f4').reshape(3, 4)))
add('fortran_3d_be', np.asfortranarray(np.arange(24, dtype='>i4').reshape(2, 3, 4)))
add('scalar', np.array(3.5, dtype='<f8'))
add('empty', np.zeros((0, 7), dtype='<f4'))
add('v2', np.arange(10, dtype='<f4').reshape(2, 5), version=(2, 0))
add('v3', np.arange(6, dtype='<i8'), version=(3, 0))
add('big_chunked', np.arange(1000, dtype='>f4'))
json.dump(cases, open(f"{out}/manifest.json", 'w'))
`;

interface Case {
  shape: number[];
  hex: string;
  descr: string;
}

function collect(chunks: Uint8Array[]): string {
  return Buffer.concat(chunks).toString('hex');
}

test('.npy files written by numpy read back byte-identical (all dtypes, versions, orders)', async (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const dir = tempDir(t, 'npy');
  runPython(python, WRITE_CASES, [dir]);
  const cases = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, Case>;
  assert.ok(Object.keys(cases).length >= 29);
  for (const [name, expected] of Object.entries(cases)) {
    const npy = await openNpy(join(dir, `${name}.npy`), name);
    try {
      assert.equal(npy.header.descr, expected.descr, name);
      assert.deepEqual(npy.tensor.shape, expected.shape, name);
      assert.equal(npy.tensor.byteLength, expected.hex.length / 2, name);
      assert.equal(Buffer.from(await npy.tensor.read()).toString('hex'), expected.hex, `${name}: read()`);
      const chunks: Uint8Array[] = [];
      for await (const c of npy.tensor.stream(12)) chunks.push(Buffer.from(c));
      assert.equal(collect(chunks), expected.hex, `${name}: stream()`);
      assert.equal(npy.trailingBytes, 0);
    } finally {
      await npy.close();
    }
  }
  const dtypes = async (n: string) => {
    const a = await openNpy(join(dir, `${n}.npy`));
    await a.close();
    return [a.tensor.dtype, a.header.byteOrder, a.header.fortranOrder, a.header.version.join('.')];
  };
  assert.deepEqual(await dtypes('be_f2'), ['float16', 'big', false, '1.0']);
  assert.deepEqual(await dtypes('bool'), ['bool', 'little', false, '1.0']);
  assert.deepEqual(await dtypes('le_u8'), ['uint64', 'little', false, '1.0']);
  assert.deepEqual(await dtypes('fortran_3d_be'), ['int32', 'big', true, '1.0']);
  assert.deepEqual(await dtypes('v2'), ['float32', 'little', false, '2.0']);
  assert.deepEqual(await dtypes('v3'), ['int64', 'little', false, '3.0']);
});

test('readElements reads a range without touching the rest; big-endian swapped per element', async (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const dir = tempDir(t, 'npy');
  runPython(python, `import sys, numpy as np; np.save(sys.argv[1], np.arange(100, dtype='>f4'))`, [join(dir, 'a.npy')]);
  const npy = await openNpy(join(dir, 'a.npy'));
  t.after(() => npy.close());
  const part = await npy.readElements(37, 5);
  assert.deepEqual([...new Float32Array(part.buffer, part.byteOffset, 5)], [37, 38, 39, 40, 41]);
  await assert.rejects(npy.readElements(98, 5), { code: 'E_MALFORMED' });
});
