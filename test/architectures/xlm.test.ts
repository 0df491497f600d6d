/**
 * xlm: tiny original-style XLM checkpoints written by the real PyTorch — legacy container with storages
 * tagged 'cuda:0', `params` an instance of a class defined in the writing script, numpy arrays and
 * tensors among the params, a tied LM head — and the zip container; converted through the CLI and
 * compared in Python with transformers' convert_xlm_checkpoint_to_pytorch recomputed there (tensors,
 * plain-dict container, config.json and vocab.json byte for byte). A pickle that calls a function
 * outside the allow-list is refused and nothing runs.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSafetensors } from '../../src/formats/safetensors/read.js';
import { runCli } from '../support/cli.js';
import { WRITE_XLM_CHECKPOINT } from '../support/original-releases.js';
import { runPython, torchPython } from '../support/python.js';
import { tempDir } from '../support/temp.js';

/** transformers' converter recomputed on the original file; compares with our folder, prints 'ok <n>'. */
const CHECK = String.raw`
import json, sys, zipfile, numpy, torch
src, out = sys.argv[1], sys.argv[2]

class AttrDict(dict):  # the class the checkpoint was written with, as the original code base has it
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__ = self

chkpt = torch.load(src, map_location='cpu')
# our addition: XLMModel's position_ids buffer first, as XLMWithLMHeadModel().state_dict() holds it
expected = {'transformer.position_ids': torch.arange(16).expand((1, -1))}
for k, v in chkpt['model'].items():
    expected[k if 'pred_layer' in k else 'transformer.' + k] = v
config = dict((n, v) for n, v in chkpt['params'].items() if not isinstance(v, (torch.FloatTensor, numpy.ndarray)))
# our additions, for AutoConfig and XLMConfig (its default is 512 positions)
config.update(model_type='xlm', architectures=['XLMWithLMHeadModel'], max_position_embeddings=16)
vocab = dict((s + '</w>' if s.find('@@') == -1 and i > 13 else s.replace('@@', ''), i) for s, i in chkpt['dico_word2id'].items())
sd = torch.load(out + '/pytorch_model.bin', weights_only=True)
assert type(sd) is dict
assert list(sd) == list(expected), sorted(set(sd) ^ set(expected)) or 'key order'
for k, v in expected.items():
    assert sd[k].dtype == v.dtype and torch.equal(sd[k], v), k
with zipfile.ZipFile(out + '/pytorch_model.bin') as z:
    pkl = z.read([n for n in z.namelist() if n.endswith('data.pkl')][0])
assert pkl[:3] == b'\x80\x02}', 'a plain dict (EMPTY_DICT), as torch.save(dict) writes it'
# Tied weights: one storage, as torch.save(expected) writes it. Overlapping slices: copies.
def same_tensor(a, b):
    return (a.storage().data_ptr(), a.storage_offset(), a.shape, a.stride()) == (b.storage().data_ptr(), b.storage_offset(), b.shape, b.stride())
keys = list(expected)
tied = [(a, b) for i, a in enumerate(keys) for b in keys[:i] if same_tensor(expected[a], expected[b])]
assert tied == [('pred_layer.proj.weight', 'transformer.embeddings.weight')], tied
assert expected['transformer.lang_embeddings.weight'].data_ptr() == expected['transformer.position_embeddings.weight'].data_ptr()
for i, a in enumerate(keys):
    for b in keys[:i]:
        one = same_tensor(expected[a], expected[b])
        assert same_tensor(sd[a], sd[b]) == one and (sd[a].data_ptr() == sd[b].data_ptr()) == one, (a, b)
        assert (sd[a].storage().data_ptr() == sd[b].storage().data_ptr()) == one, ('storage shared', a, b)
assert open(out + '/config.json', encoding='utf-8').read() == json.dumps(config, indent=2) + '\n', 'config.json'
assert open(out + '/vocab.json', encoding='utf-8').read() == json.dumps(vocab, indent=2) + '\n', 'vocab.json'
print('ok', len(expected))
`;

for (const container of ['legacy', 'zip'] as const) {
  test(`xlm original checkpoint (${container}${container === 'legacy' ? ', cuda:0 storages' : ''}): CLI → the files transformers writes`, async (t) => {
    const python = torchPython(t);
    if (!python) return;
    const work = tempDir(t, 'xlm');
    const pth = join(work, 'mlm_tiny.pth');
    runPython(python, WRITE_XLM_CHECKPOINT, [pth, container, 'clean']);
    const folder = join(work, 'out');
    const r = runCli([
      'convert',
      '--model_type',
      'xlm',
      '--tf_checkpoint',
      pth,
      '--pytorch_dump_output',
      folder,
      '--format',
      'both',
    ]);
    assert.equal(r.code, 0, r.stderr);
    if (container === 'legacy') assert.match(r.stderr + r.stdout, /cuda:0/);
    assert.equal(runPython(python, CHECK, [pth, folder]).trim(), 'ok 40');
    // safetensors holds the tied weight once, under its first key; the slice is a tensor of its own.
    const st = await openSafetensors(join(folder, 'model.safetensors'));
    const names = st.tensors.map((x) => x.name);
    await st.close();
    assert.equal(names.length, 39, names.join(' '));
    assert.ok(names.includes('transformer.embeddings.weight') && !names.includes('pred_layer.proj.weight'));
    assert.ok(
      names.includes('transformer.lang_embeddings.weight') && names.includes('transformer.position_embeddings.weight'),
    );
  });
}

test('xlm: a .pth whose pickle calls a function outside the allow-list is refused, and the call never happens', (t) => {
  const python = torchPython(t);
  if (!python) return;
  const work = tempDir(t, 'xlm');
  const pth = join(work, 'evil.pth');
  const marker = join(work, 'pwned');
  runPython(python, WRITE_XLM_CHECKPOINT, [pth, 'legacy', 'evil', marker]);
  const folder = join(work, 'out');
  const r = runCli(['convert', '--model_type', 'xlm', '--tf_checkpoint', pth, '--pytorch_dump_output', folder]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_PICKLE_FORBIDDEN/);
  assert.match(r.stderr, /(posix|os)\.system/);
  assert.ok(!existsSync(marker), 'nothing from the file was executed');
  assert.ok(!existsSync(folder), 'no output left behind');
});

test('xlm: a checkpoint whose model is empty is refused naming the file, not converted to 0 keys', (t) => {
  const python = torchPython(t);
  if (!python) return;
  const work = tempDir(t, 'xlm');
  const pth = join(work, 'empty.pth');
  runPython(python, WRITE_XLM_CHECKPOINT, [pth, 'zip', 'empty']);
  const folder = join(work, 'out');
  const r = runCli(['convert', '--model_type', 'xlm', '--tf_checkpoint', pth, '--pytorch_dump_output', folder]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error\[E_WRONG_CHECKPOINT_KIND\]: .*empty\.pth: its 'model' holds no tensors \(0 entries\)/m,
  );
  assert.ok(!existsSync(folder), 'nothing written');
});

test('xlm: absurd params in the checkpoint are refused naming the detected type and the file', (t) => {
  const python = torchPython(t);
  if (!python) return;
  const work = tempDir(t, 'xlm');
  const pth = join(work, 'huge.pth');
  runPython(python, WRITE_XLM_CHECKPOINT, [pth, 'zip', 'huge']);
  const folder = join(work, 'out');
  const r = runCli(['convert', '--tf_checkpoint', pth, '--pytorch_dump_output', folder]); // no --model_type
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error\[E_CONFIG\]: the xlm config built from .*huge\.pth: .*n_layers/m);
  assert.ok(!existsSync(folder), 'nothing written');
});
