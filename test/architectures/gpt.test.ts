/**
 * gpt (OpenAI GPT release folders): a tiny release written by the real numpy, converted through the
 * CLI and checked in PyTorch against transformers' algorithm recomputed in Python (concatenate the
 * shards, split by params_shapes.json, squeeze, arrays 0/1 → positions/tokens; the model's buffers beside them);
 * and the golden plan of the real release's params_shapes.json over sparse shards (no weight bytes on disk).
 */
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';
import { WRITE_OPENAI_GPT_RELEASE } from '../support/original-releases.js';
import { numpyPython, runPython, torchPython } from '../support/python.js';
import { tempDir } from '../support/temp.js';

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
expected = {k: torch.from_numpy(a) for k, a in expected.items()}
# the buffers model.state_dict() holds beside the arrays: OpenAIGPTModel's position_ids, each Attention's mask
p = shapes[0][0]
expected['position_ids'] = torch.arange(p)
for n in range((len(arrays) - 2) // 12):
    expected['h.%d.attn.bias' % n] = torch.tril(torch.ones(p, p)).view(1, 1, p, p)
sd = torch.load(out, map_location='cpu', weights_only=True)
assert set(sd) == set(expected), sorted(set(sd) ^ set(expected))
for k, a in expected.items():
    assert sd[k].dtype == a.dtype and torch.equal(sd[k], a), k
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
    runPython(numpy, WRITE_OPENAI_GPT_RELEASE, [release, variant]);
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
    assert.equal(runPython(python, CHECK_IN_TORCH, [release, join(folder, 'pytorch_model.bin')]).trim(), '29'); // 26 arrays, position_ids and 2 masks;
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      [config.model_type, config.n_embd, config.n_layer, config.vocab_size, config.n_positions, config.n_head],
      ['openai-gpt', 24, 2, 20, 6, 12],
    );
    assert.equal(readFileSync(join(folder, 'vocab.json'), 'utf8'), '{"a</w>": 0}');
    assert.equal(readFileSync(join(folder, 'merges.txt'), 'utf8'), '#version: 0.2\na b\n');
    if (variant === 'names') {
      // --dtype float16 casts the generated float mask with the weights (model.half()); position_ids stay int64
      const half = join(work, 'half');
      const h = runCli([
        'convert',
        '--tf_checkpoint',
        release,
        '--pytorch_dump_output',
        half,
        '--dtype',
        'float16',
        '--format',
        'pytorch',
      ]);
      assert.equal(h.code, 0, h.stderr);
      const out = runPython(python, CHECK_HALF, [join(half, 'pytorch_model.bin')]).trim();
      assert.equal(out, 'torch.float16 torch.float16 torch.int64 True');
    }
  });
}

const CHECK_HALF = String.raw`
import sys, torch
sd = torch.load(sys.argv[1], weights_only=True)
mask = sd['h.1.attn.bias']
print(sd['h.1.attn.c_attn.weight'].dtype, mask.dtype, sd['position_ids'].dtype,
      torch.equal(mask, torch.tril(torch.ones(6, 6)).view(1, 1, 6, 6).half()))
`;

test('gpt: parameters_names.json out of the release order is refused, naming the entry', (t) => {
  const numpy = numpyPython(t);
  if (!numpy) return;
  const work = tempDir(t, 'gpt');
  runPython(numpy, `import os; os.makedirs(${JSON.stringify(join(work, 'm'))})`);
  runPython(numpy, WRITE_OPENAI_GPT_RELEASE, [join(work, 'm'), 'names']);
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
