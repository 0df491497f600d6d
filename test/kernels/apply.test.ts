/**
 * Transforms on bytes checked against the real numpy / torch: N-d transposes, selects, concats, and
 * every float cast on bit patterns that include NaN payloads, infinities, subnormals and ties.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyTransforms } from '../../src/kernels/apply.js';
import { castBytes } from '../../src/kernels/cast.js';
import { runPython, torchPython } from '../support/python.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

test('transpose (any rank), select, slice and concat agree with numpy', (t) => {
  const python = torchPython(t);
  if (!python) return;
  const rand = seeded(7);
  const a = new Float32Array(2 * 3 * 5);
  for (let i = 0; i < a.length; i++) a[i] = (rand() % 1000) / 7;
  const b = new Uint8Array(a.buffer);
  const input = { dtype: 'float32' as const, shape: [2, 3, 5], bytes: b };
  const cases = {
    t: applyTransforms([input], [{ op: 'transpose' }]),
    p: applyTransforms([input], [{ op: 'transpose', axes: [1, 0, 2] }]),
    s: applyTransforms([input], [{ op: 'select', axis: 1, index: 2 }]),
    f: applyTransforms([input], [{ op: 'slice', axis: 0, start: 0, end: 1 }]),
    g: applyTransforms([input], [{ op: 'slice', axis: 2, start: 1, end: 4 }]),
    c: applyTransforms(
      [input, input],
      [
        { op: 'concat', axis: 2 },
        { op: 'transpose', axes: [2, 0, 1] },
      ],
    ),
    // a source with one axis fewer is one slice: numpy's concatenate([a, b[None]]) (ImageGPT's sos row)
    l: applyTransforms([input, { ...input, shape: [3, 5], bytes: b.slice(0, 60) }], [{ op: 'concat', axis: 0 }]),
    i: applyTransforms([input, { ...input, shape: [2, 5], bytes: b.slice(0, 40) }], [{ op: 'concat', axis: 1 }]),
    m: applyTransforms(
      [{ dtype: 'float64', shape: [3, 4], bytes: new Uint8Array(new Float64Array(12).map((_, i) => i * 1.5).buffer) }],
      [{ op: 'transpose' }],
    ),
  };
  const out = runPython(
    python,
    `import numpy as np, sys, json
a = np.frombuffer(bytes.fromhex(sys.argv[1]), dtype='<f4').reshape(2, 3, 5)
m = (np.arange(12, dtype='<f8') * 1.5).reshape(3, 4)
r = {'t': a.T, 'p': a.transpose(1, 0, 2), 's': a[:, 2, :], 'f': a[:1], 'g': a[:, :, 1:4], 'c': np.concatenate([a, a], axis=2).transpose(2, 0, 1), 'm': m.T,
     'l': np.concatenate([a, a.reshape(-1)[:15].reshape(3, 5)[None]]), 'i': np.concatenate([a, a.reshape(-1)[:10].reshape(2, 5)[:, None]], axis=1)}
print(json.dumps({k: [list(v.shape), np.ascontiguousarray(v).tobytes().hex()] for k, v in r.items()}))`,
    [hex(b)],
  );
  const expected = JSON.parse(out) as Record<string, [number[], string]>;
  for (const [k, got] of Object.entries(cases)) {
    assert.deepEqual(got.shape, expected[k]?.[0], `${k} shape`);
    assert.equal(hex(got.bytes), expected[k]?.[1], `${k} bytes`);
  }
});

test('float casts are bit-identical to numpy (float16, float32, float64) and torch (bfloat16)', (t) => {
  const python = torchPython(t);
  if (!python) return;
  const rand = seeded(42);
  const specials = [
    0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc12345, 0x00000001, 0x00400000, 0x33000000,
    0x33000001, 0x387fc000, 0x477fe000, 0x477ff000, 0x3f808000, 0x3f818000, 0x3f80c000,
  ];
  const f32 = new Uint32Array(4096);
  f32.set(specials);
  for (let i = specials.length; i < f32.length; i++)
    f32[i] = i % 3 === 0 ? rand() : (0x30000000 + (rand() % 0x18000000)) >>> 0;
  const f32b = new Uint8Array(f32.buffer);
  const f16 = new Uint16Array(2048).map((_, i) => (i * 37 + (rand() & 0xffff)) & 0xffff);
  f16.set([0x7c00, 0xfc00, 0x7e01, 0xfd55, 0x0001, 0x03ff, 0x8001]);
  const f16b = new Uint8Array(f16.buffer);
  const f64 = new Float64Array(1024).map(() => (rand() / 2 ** 32 - 0.5) * 2 ** ((rand() % 60) - 30));
  f64.set([NaN, Infinity, -Infinity, 65519.99, 65520, 2 ** -25, 2 ** -25 + 2 ** -80, 1 + 2 ** -11 + 2 ** -40]);
  const f64b = new Uint8Array(f64.buffer);
  const ours = {
    f32_f16: castBytes(f32b, 'float32', 'float16'),
    f32_f64: castBytes(f32b, 'float32', 'float64'),
    f32_bf16: castBytes(f32b, 'float32', 'bfloat16'),
    f16_f32: castBytes(f16b, 'float16', 'float32'),
    bf16_f32: castBytes(f16b, 'bfloat16', 'float32'),
    f64_f16: castBytes(f64b, 'float64', 'float16'),
    f64_f32: castBytes(f64b, 'float64', 'float32'),
    f16_bf16: castBytes(f16b, 'float16', 'bfloat16'),
  };
  const out = runPython(
    python,
    `import numpy as np, torch, sys, json
f32 = np.frombuffer(bytes.fromhex(sys.argv[1]), dtype='<f4')
f16 = np.frombuffer(bytes.fromhex(sys.argv[2]), dtype='<f2')
f64 = np.frombuffer(bytes.fromhex(sys.argv[3]), dtype='<f8')
bf = torch.from_numpy(f16.view('<i2').copy()).view(torch.bfloat16)
with np.errstate(all='ignore'):
    r = {'f32_f16': f32.astype('<f2'), 'f32_f64': f32.astype('<f8'),
         'f32_bf16': torch.from_numpy(f32.copy()).to(torch.bfloat16).view(torch.int16).numpy(),
         'f16_f32': f16.astype('<f4'), 'bf16_f32': bf.to(torch.float32).numpy(),
         'f64_f16': f64.astype('<f2'), 'f64_f32': f64.astype('<f4'),
         'f16_bf16': torch.from_numpy(f16.copy()).to(torch.bfloat16).view(torch.int16).numpy()}
print(json.dumps({k: v.tobytes().hex() for k, v in r.items()}))`,
    [hex(f32b), hex(f16b), hex(f64b)],
  );
  const expected = JSON.parse(out) as Record<string, string>;
  for (const [k, got] of Object.entries(ours)) {
    const want = Buffer.from(expected[k] as string, 'hex');
    const g = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
    const itemSize = k.endsWith('f64') ? 8 : k.endsWith('f32') ? 4 : 2;
    for (let i = 0; i < want.length; i += itemSize) {
      if (!g.subarray(i, i + itemSize).equals(want.subarray(i, i + itemSize))) {
        assert.fail(
          `${k}: element ${i / itemSize}: ours ${g.subarray(i, i + itemSize).toString('hex')}, reference ${want.subarray(i, i + itemSize).toString('hex')}`,
        );
      }
    }
    assert.equal(g.length, want.length, k);
  }
});

test('misaligned views (Buffer pools) transform like aligned copies', () => {
  const f = new Float32Array([1.5, -2.25, 3e-8, 65536.5, 7, 8]);
  const aligned = new Uint8Array(f.buffer);
  const padded = Buffer.alloc(aligned.length + 3);
  padded.set(aligned, 3);
  const odd = padded.subarray(3);
  const input = (bytes: Uint8Array) => ({ dtype: 'float32' as const, shape: [2, 3], bytes });
  for (const ops of [
    [{ op: 'transpose' as const }],
    [{ op: 'cast' as const, dtype: 'float16' as const }],
    [{ op: 'transpose' as const }, { op: 'cast' as const, dtype: 'bfloat16' as const }],
  ]) {
    assert.equal(hex(applyTransforms([input(odd)], ops).bytes), hex(applyTransforms([input(aligned)], ops).bytes));
  }
});

test('2-D transposes of every item width and of shapes around the row groups and tiles match index arithmetic', () => {
  const next = seeded(7);
  const shapes = [
    [1, 1],
    [1, 9],
    [9, 1],
    [7, 13],
    [8, 8],
    [15, 200],
    [16, 65],
    [17, 300],
    [31, 64],
    [48, 129],
    [130, 257],
    [264, 16],
    [512, 96],
  ];
  for (const dtype of ['int8', 'float16', 'float32', 'float64'] as const) {
    const itemSize = { int8: 1, float16: 2, float32: 4, float64: 8 }[dtype];
    for (const [rows, cols] of shapes as [number, number][]) {
      const bytes = new Uint8Array(rows * cols * itemSize).map(() => next() & 0xff);
      const got = applyTransforms([{ dtype, shape: [rows, cols], bytes }], [{ op: 'transpose' }]);
      assert.deepEqual(got.shape, [cols, rows]);
      const want = new Uint8Array(bytes.length);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++)
          want.set(bytes.subarray((r * cols + c) * itemSize, (r * cols + c + 1) * itemSize), (c * rows + r) * itemSize);
      }
      assert.equal(hex(got.bytes), hex(want), `${dtype} [${rows}, ${cols}]`);
    }
  }
});
