/** The OpenAI GPT release folder: a tiny one written by numpy, hostile variants, and the real params_shapes.json. */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type OpenAIGptSource,
  openOpenAIGptFolder,
  parameterNameOf,
  readParamsShapes,
} from '../../../src/formats/npy/openai-gpt.js';
import { openTensorSource } from '../../../src/formats/open.js';
import { numElements } from '../../../src/tensor.js';
import { realFixture } from '../../support/fixtures.js';
import { numpyPython, runPython } from '../../support/python.js';
import { tempDir } from '../../support/temp.js';

// The release's pattern (positions, tokens, then 12 arrays per layer), tiny: d=4, ctx=5, vocab=7, 2 layers.
// Split as transformers splits it; 3 shards cut at 150 and 300, plus 3 trailing elements it drops.
const WRITE_GPT = `
import json, sys, numpy as np
out, dtype = sys.argv[1], sys.argv[2]
d, ctx, vocab, layers = 4, 5, 7, 2
shapes = [[ctx, d], [vocab, d]]
names = ['model/we:0']
for n in range(layers):
    for part, shape in [('attn/c_attn/w', [1, d, 3*d]), ('attn/c_attn/b', [3*d]), ('attn/c_proj/w', [1, d, d]), ('attn/c_proj/b', [d]),
                        ('ln_1/g', [d]), ('ln_1/b', [d]), ('mlp/c_fc/w', [1, d, 4*d]), ('mlp/c_fc/b', [4*d]),
                        ('mlp/c_proj/w', [1, 4*d, d]), ('mlp/c_proj/b', [d]), ('ln_2/g', [d]), ('ln_2/b', [d])]:
        shapes.append(shape)
        names.append(f'model/h{n}/{part}:0')
sizes = [int(np.prod(s)) for s in shapes]
flat = np.random.default_rng(3).standard_normal(sum(sizes) + 3).astype(dtype)
for i, piece in enumerate(np.split(flat, [150, 300])):
    np.save(f'{out}/params_{i}.npy', piece)
json.dump(shapes, open(f'{out}/params_shapes.json', 'w'))
json.dump(names, open(f'{out}/parameters_names.json', 'w'))
# exactly transformers' algorithm: concatenate, split at the cumulative sizes, drop the remainder, reshape
params = np.split(np.concatenate([np.load(f'{out}/params_{i}.npy') for i in range(3)], 0), np.cumsum(sizes))[:-1]
params = [p.reshape(s) for p, s in zip(params, shapes)]
json.dump([p.astype('<f4').tobytes().hex() for p in params], open(f'{out}/expected.json', 'w'))
`;

function tinyFolder(t: { after(fn: () => void): void }, python: string, dtype = '<f4'): string {
  const dir = tempDir(t, 'gpt');
  runPython(python, WRITE_GPT, [dir, dtype]);
  return dir;
}

test('a tiny GPT folder reads byte-identical to transformers’ split, across shard boundaries', async (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const dir = tinyFolder(t, python);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as string[];
  const source = (await openTensorSource(dir)) as OpenAIGptSource;
  t.after(() => source.close());
  assert.equal(source.format, 'openai-npy');
  assert.equal(source.shardFiles.length, 3);
  assert.equal(source.tensors.length, 26);
  assert.equal(expected.length, 26);
  assert.deepEqual(source.tensors[2]!.shape, [1, 4, 12]);
  assert.deepEqual(source.tensors.map((x) => x.name).slice(0, 3), ['params/0', 'params/1', 'params/2']);
  assert.equal(parameterNameOf(source.names, 0), 'model/we:0');
  assert.equal(parameterNameOf(source.names, 1), 'model/we:0');
  assert.equal(parameterNameOf(source.names, 2), 'model/h0/attn/c_attn/w:0');
  assert.equal(parameterNameOf(source.names, 25), 'model/h1/ln_2/b:0');
  assert.ok(
    source.notes.some((n) => /3 elements after the last listed array are dropped/.test(n)),
    source.notes.join('\n'),
  );
  // array 8 (h0 mlp/c_fc/w, elements 136..200) spans the boundary between shards 0 and 1 at element 150
  let start = 0;
  let spanning = 0;
  for (const [i, tensor] of source.tensors.entries()) {
    const n = numElements(tensor.shape);
    if ((start < 150 && start + n > 150) || (start < 300 && start + n > 300)) spanning++;
    start += n;
    assert.equal(Buffer.from(await tensor.read()).toString('hex'), expected[i], `${tensor.name} read()`);
    const chunks: Buffer[] = [];
    for await (const c of tensor.stream(20)) chunks.push(Buffer.from(c));
    assert.equal(Buffer.concat(chunks).toString('hex'), expected[i], `${tensor.name} stream()`);
  }
  assert.ok(spanning >= 2, 'the fixture must exercise arrays spanning two shards');
});

test('the opener accepts a path to one of the folder’s files, and reads big-endian shards too', async (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const dir = tinyFolder(t, python, '>f4');
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as string[];
  const source = await openTensorSource(join(dir, 'params_1.npy'));
  t.after(() => source.close());
  assert.equal(source.format, 'openai-npy');
  assert.equal(Buffer.from(await source.tensors[8]!.read()).toString('hex'), expected[8]);
});

test('shards must be 1-D float32; shapes must fit in the shards; shards consecutive from 0', async (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const f8 = tinyFolder(t, python, '<f8');
  await assert.rejects(openOpenAIGptFolder(f8), {
    code: 'E_UNSUPPORTED',
    message: /params_0\.npy: expected a 1-D float32 array, found <f8/,
  });

  const tooMany = tinyFolder(t, python);
  writeFileSync(join(tooMany, 'params_shapes.json'), JSON.stringify([[100, 4], [200]]));
  await assert.rejects(openOpenAIGptFolder(tooMany), {
    code: 'E_SHAPE_MISMATCH',
    message: /array 1 \[200\] ends at element 600 but the shards hold only 539/,
  });

  const gap = tinyFolder(t, python);
  rmSync(join(gap, 'params_1.npy'));
  await assert.rejects(openOpenAIGptFolder(gap), { code: 'E_MISSING_SHARD', message: /params_1\.npy is missing/ });

  const badShape = tinyFolder(t, python);
  writeFileSync(join(badShape, 'params_shapes.json'), '[[3, -1]]');
  await assert.rejects(openOpenAIGptFolder(badShape), {
    code: 'E_MALFORMED',
    message: /shape 0 is not a list of non-negative integers/,
  });
});

test('the real release params_shapes.json: 146 arrays listed; opening names the missing params_0.npy', async (t) => {
  const dir = realFixture(t, 'openai-gpt-params-shapes');
  if (!dir) return;
  const shapes = await readParamsShapes(dir);
  assert.equal(shapes.length, 146);
  assert.deepEqual(shapes[0], [512, 768]);
  assert.deepEqual(shapes[1], [40478, 768]);
  assert.deepEqual(shapes[2], [1, 768, 2304]);
  assert.deepEqual(shapes[145], [768]);
  // 12 layers of 12 arrays after the two embeddings
  assert.equal(shapes.length, 2 + 12 * 12);
  assert.equal(
    shapes.reduce((sum, s) => sum + numElements(s), 0),
    116_534_784,
  );
  await assert.rejects(openTensorSource(dir), { code: 'E_MISSING_SHARD', message: /params_0\.npy is missing/ });
  await assert.rejects(openTensorSource(join(dir, 'params_shapes.json')), { code: 'E_MISSING_SHARD' });
});
