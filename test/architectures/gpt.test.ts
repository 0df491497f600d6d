/**
 * gpt (OpenAI GPT release folders): a tiny release written by the real numpy, converted through the
 * CLI and checked in PyTorch against transformers' algorithm recomputed in Python (concatenate the
 * shards, split by params_shapes.json, squeeze, arrays 0/1 → positions/tokens); and the golden plan of
 * the real release's params_shapes.json over sparse shards (no weight bytes on disk).
 */
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';
import { numpyPython, runPython, torchPython } from '../support/python.js';
import { tempDir } from '../support/temp.js';

/** Writes the tiny release (2 blocks, n_embd 24, vocab 20, 6 positions) into argv[1]; argv[2] = 'names' adds parameters_names.json. */
const WRITE_RELEASE = String.raw`
import json, sys, numpy as np
d, names_too = sys.argv[1], sys.argv[2] == 'names'
e, v, p, L = 24, 20, 6, 2
block = [('attn/c_attn/w', [1, e, 3 * e]), ('attn/c_attn/b', [3 * e]), ('attn/c_proj/w', [1, e, e]), ('attn/c_proj/b', [e]),
         ('ln_1/g', [e]), ('ln_1/b', [e]), ('mlp/c_fc/w', [1, e, 4 * e]), ('mlp/c_fc/b', [4 * e]),
         ('mlp/c_proj/w', [1, 4 * e, e]), ('mlp/c_proj/b', [e]), ('ln_2/g', [e]), ('ln_2/b', [e])]
shapes = [[p, e], [v, e]] + [s for _ in range(L) for _, s in block]
names = ['model/we:0'] + ['model/h%d/%s:0' % (n, b) for n in range(L) for b, _ in block]
total = sum(int(np.prod(s)) for s in shapes)
flat = np.random.RandomState(7).standard_normal(total + 5).astype(np.float32)  # 5 trailing values are dropped
cuts = [0, 37, total // 2 + 3, total + 5]  # shards cut inside arrays
for i in range(3):
    np.save('%s/params_%d.npy' % (d, i), flat[cuts[i]:cuts[i + 1]])
json.dump(shapes, open(d + '/params_shapes.json', 'w'))
if names_too:
    json.dump(names, open(d + '/parameters_names.json', 'w'))
open(d + '/encoder_bpe_40000.json', 'w').write('{"a</w>": 0}')
open(d + '/vocab_40000.bpe', 'w').write('#version: 0.2\na b\n')
`;

/** transformers' load_tf_weights_in_openai_gpt, recomputed; prints how many keys matched exactly. */
const CHECK_IN_TORCH = String.raw`
import json, sys, numpy as np, torch
d, out = sys.argv[1], sys.argv[2]
shapes = json.load(open(d + '/params_shapes.json'))
offsets = np.cumsum([np.prod(s) for s in shapes])
flat = np.concatenate([np.load('%s/params_%d.npy' % (d, i)) for i in range(3)], 0)
arrays = [a.reshape(s).squeeze() for a, s in zip(np.split(flat, offsets)[:-1], shapes)]
block = ['attn.c_attn.weight', 'attn.c_attn.bias', 'attn.c_proj.weight', 'attn.c_proj.bias', 'ln_1.weight', 'ln_1.bias',
         'mlp.c_fc.weight', 'mlp.c_fc.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias', 'ln_2.weight', 'ln_2.bias']
expected = {'positions_embed.weight': arrays[0], 'tokens_embed.weight': arrays[1]}
for i, a in enumerate(arrays[2:]):
    expected['h.%d.%s' % (i // 12, block[i % 12])] = a
sd = torch.load(out, map_location='cpu', weights_only=True)
assert set(sd) == set(expected), sorted(set(sd) ^ set(expected))
for k, a in expected.items():
    assert sd[k].dtype == torch.float32 and torch.equal(sd[k], torch.from_numpy(a)), k
print(len(expected))
`;

for (const variant of ['names', 'no-names'] as const) {
  test(`gpt tiny release written by numpy (${variant}): CLI → PyTorch equals transformers' split/squeeze`, (t) => {
    const numpy = numpyPython(t);
    if (!numpy) return;
    const python = torchPython(t);
    if (!python) return;
    const work = tempDir(t, 'gpt');
    const release = join(work, 'model');
    runPython(numpy, `import os; os.makedirs(${JSON.stringify(release)})`);
    runPython(numpy, WRITE_RELEASE, [release, variant]);
    const folder = join(work, 'out');
    const r = runCli([
      'convert',
      '--model_type',
      'gpt',
      '--tf_checkpoint',
      release,
      '--pytorch_dump_output',
      folder,
      '--format',
      'pytorch',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /derived from the array shapes: vocab_size=20, n_positions=6, n_embd=24, n_layer=2/);
    assert.equal(runPython(python, CHECK_IN_TORCH, [release, join(folder, 'pytorch_model.bin')]).trim(), '26');
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      [config.model_type, config.n_embd, config.n_layer, config.vocab_size, config.n_positions, config.n_head],
      ['openai-gpt', 24, 2, 20, 6, 12],
    );
    assert.equal(readFileSync(join(folder, 'vocab.json'), 'utf8'), '{"a</w>": 0}');
    assert.equal(readFileSync(join(folder, 'merges.txt'), 'utf8'), '#version: 0.2\na b\n');
  });
}

test('gpt: parameters_names.json out of the release order is refused, naming the entry', (t) => {
  const numpy = numpyPython(t);
  if (!numpy) return;
  const work = tempDir(t, 'gpt');
  runPython(numpy, `import os; os.makedirs(${JSON.stringify(join(work, 'm'))})`);
  runPython(numpy, WRITE_RELEASE, [join(work, 'm'), 'names']);
  const namesPath = join(work, 'm', 'parameters_names.json');
  const names = JSON.parse(readFileSync(namesPath, 'utf8')) as string[];
  [names[5], names[6]] = [names[6]!, names[5]!];
  writeFileSync(namesPath, JSON.stringify(names));
  const r = runCli(['convert', '--model_type', 'gpt', '--tf_checkpoint', join(work, 'm'), '--dry-run']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_CONFIG/);
  assert.match(
    r.stderr,
    /parameters_names\.json: entry 5 \(array params\/6\) is "model\/h0\/ln_1\/b:0", expected 'model\/h0\/ln_1\/g:0'/,
  );
});

/** A float32 1-D .npy (format 1.0) of `count` elements whose data is a hole: sparse, no bytes on disk. */
function writeSparseNpy(path: string, count: number): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${count},), }`;
  header += `${' '.repeat(64 - ((10 + header.length + 1) % 64))}\n`;
  const fd = openSync(path, 'w');
  try {
    const pre = Buffer.alloc(10);
    pre.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    pre.writeUInt16LE(header.length, 8);
    writeSync(fd, pre);
    writeSync(fd, Buffer.from(header, 'latin1'));
    ftruncateSync(fd, 10 + header.length + count * 4);
  } finally {
    closeSync(fd);
  }
}

test('gpt golden plan (--dry-run) of the real release params_shapes.json (146 arrays, 10 shards)', (t) => {
  const dir = realFixture(t, 'openai-gpt-params-shapes');
  if (!dir) return;
  const work = tempDir(t, 'gpt-real');
  copyFileSync(join(dir, 'params_shapes.json'), join(work, 'params_shapes.json'));
  const shapes = JSON.parse(readFileSync(join(dir, 'params_shapes.json'), 'utf8')) as number[][];
  const total = shapes.reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
  const per = Math.ceil(total / 10);
  for (let i = 0; i < 10; i++) writeSparseNpy(join(work, `params_${i}.npy`), Math.min(per, total - i * per));
  const r = runCli(['convert', '--model_type', 'gpt', '--tf_checkpoint', work, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /vocab_size=40478, n_positions=512, n_embd=768, n_layer=12/);
  checkGolden('openai-gpt-release.plan.txt', r.stdout);
});
