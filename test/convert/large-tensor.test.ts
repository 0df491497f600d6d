/**
 * A tensor of 2 GiB or more, in a sparse data file (zeros but for a few known values): `inspect
 * --tensor` summarises it in chunks, and a transposed kernel of that size is produced in bands through
 * strided reads — where reading it whole would hand fs.read a length beyond 32 bits and abort Node.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { planToStateDict } from '../../src/convert/pipeline/plan-to-state-dict.js';
import { openTfCheckpoint } from '../../src/formats/tf-checkpoint/index.js';
import { dataShardPath } from '../../src/formats/tf-checkpoint/paths.js';
import type { Plan } from '../../src/mapping/plan.js';
import { DTYPES, numElements } from '../../src/tensor.js';
import { runCli } from '../support/cli.js';
import { encodeBundleEntry, encodeBundleHeader, writeTable } from '../support/tf-bundle-writer.js';

const ROWS = 16;
const COLS = 2 ** 25 + 1; // 16 × (2^25 + 1) float32 = 2 GiB + 64 bytes
const KNOWN = new Map<number, number>([
  [0, 1.5],
  [1, -2.25],
  [COLS + 3, 7],
  [5 * COLS + 123_456, -9.5],
  [ROWS * COLS - 1, 3.125],
]);

/** One float32 tensor without a checksum (TF's writer may omit it), stored sparse but for KNOWN. */
async function writeSparseBundle(t: TestContext, prefix: string): Promise<boolean> {
  const size = ROWS * COLS * 4;
  const fd = openSync(dataShardPath(prefix, 0, 1), 'w');
  try {
    for (const [index, value] of KNOWN) {
      const b = Buffer.alloc(4);
      b.writeFloatLE(value, 0);
      writeSync(fd, b, 0, 4, index * 4);
    }
    writeSync(fd, Buffer.alloc(1), 0, 1, size - 1 + 0); // the last byte: the file is `size` long
    const last = Buffer.alloc(4);
    last.writeFloatLE(KNOWN.get(ROWS * COLS - 1) as number, 0);
    writeSync(fd, last, 0, 4, size - 4);
  } catch (e) {
    t.skip(`filesystem cannot hold a sparse 2 GiB file: ${(e as Error).message}`);
    return false;
  } finally {
    closeSync(fd);
  }
  await writeTable(`${prefix}.index`, [
    { key: new Uint8Array(0), value: encodeBundleHeader({ numShards: 1 }) },
    {
      key: Buffer.from('big/kernel', 'utf8'),
      value: encodeBundleEntry({ dtype: DTYPES.float32.tf, shape: [ROWS, COLS], offset: 0, size }),
    },
  ]);
  return true;
}

test('inspect --tensor summarises a tensor of 2 GiB or more', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tf2torch-large-'));
  try {
    if (!(await writeSparseBundle(t, join(dir, 'model.ckpt')))) return;
    const r = runCli(['inspect', join(dir, 'model.ckpt'), '--tensor', 'big/kernel', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.count, ROWS * COLS);
    assert.deepEqual(info.first.slice(0, 3), [1.5, -2.25, 0]);
    assert.equal(info.min, -9.5);
    assert.equal(info.max, 7);
    const sum = [...KNOWN.values()].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(info.mean - sum / (ROWS * COLS)) < 1e-15);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a transposed kernel of 2 GiB or more is produced in bands, every value in place', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tf2torch-large-'));
  try {
    if (!(await writeSparseBundle(t, join(dir, 'model.ckpt')))) return;
    const ckpt = await openTfCheckpoint(join(dir, 'model.ckpt'));
    try {
      const plan = {
        outputs: [
          {
            kind: 'tensor',
            key: 'big.weight',
            sources: [{ name: 'big/kernel', dtype: 'float32', shape: [ROWS, COLS] }],
            transforms: [{ op: 'transpose' }],
            shape: [COLS, ROWS],
            dtype: 'float32',
          },
        ],
      } as unknown as Plan;
      const [entry] = planToStateDict(plan, ckpt.tensors);
      assert.ok(entry && 'tensor' in entry);
      // Output element (c, r) is source element (r, c).
      const wanted = new Map([...KNOWN].map(([i, v]) => [(i % COLS) * ROWS + Math.floor(i / COLS), v]));
      let at = 0;
      let nonZero = 0;
      let largest = 0;
      for await (const band of entry.tensor.stream()) {
        largest = Math.max(largest, band.byteLength);
        const f = new Float32Array(band.buffer, band.byteOffset, band.byteLength / 4);
        for (let i = 0; i < f.length; i++) {
          if (f[i] === 0) continue;
          nonZero++;
          assert.equal(f[i], wanted.get(at + i), `output element ${at + i}`);
        }
        at += f.length;
      }
      assert.equal(at, numElements([COLS, ROWS]));
      assert.equal(nonZero, KNOWN.size);
      assert.ok(largest <= 8 * 1024 * 1024, `bands of at most 8 MiB (largest ${largest})`);
    } finally {
      await ckpt.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
