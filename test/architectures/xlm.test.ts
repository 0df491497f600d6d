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
import { runPython, torchPython } from '../support/python.js';
import { tempDir } from '../support/temp.js';

/** argv: output path, 'legacy' | 'zip', 'clean' | 'evil' | 'empty' (argv[4]: marker file the evil pickle would create). */
const WRITE_CHECKPOINT = String.raw`
import collections, os, sys, numpy as np, torch, torch.serialization as ser
path, container, kind = sys.argv[1], sys.argv[2], sys.argv[3]

class AttrDict(dict):
    """XLM's params: a dict whose keys are also attributes."""
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__ = self

class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + sys.argv[4],))

g = torch.Generator().manual_seed(3)
dim, words, layers = 8, 30, 2
model = collections.OrderedDict()
model['position_embeddings.weight'] = torch.randn(16, dim, generator=g)
model['lang_embeddings.weight'] = torch.randn(2, dim, generator=g)
model['embeddings.weight'] = torch.randn(words, dim, generator=g)
model['layer_norm_emb.weight'] = torch.randn(dim, generator=g)
model['layer_norm_emb.bias'] = torch.randn(dim, generator=g)
for i in range(layers):
    for lin in ('q_lin', 'k_lin', 'v_lin', 'out_lin'):
        model['attentions.%d.%s.weight' % (i, lin)] = torch.randn(dim, dim, generator=g)
        model['attentions.%d.%s.bias' % (i, lin)] = torch.randn(dim, generator=g)
    model['layer_norm1.%d.weight' % i] = torch.randn(dim, generator=g)
    model['layer_norm1.%d.bias' % i] = torch.randn(dim, generator=g)
    model['ffns.%d.lin1.weight' % i] = torch.randn(4 * dim, dim, generator=g)
    model['ffns.%d.lin1.bias' % i] = torch.randn(4 * dim, generator=g)
    model['ffns.%d.lin2.weight' % i] = torch.randn(dim, 4 * dim, generator=g)
    model['ffns.%d.lin2.bias' % i] = torch.randn(dim, generator=g)
    model['layer_norm2.%d.weight' % i] = torch.randn(dim, generator=g)
    model['layer_norm2.%d.bias' % i] = torch.randn(dim, generator=g)
# share_inout_emb: state_dict() returns another tensor object over the embeddings' storage.
model['pred_layer.proj.weight'] = model['embeddings.weight'].detach()
# A slice of another weight's storage overlaps it without being the same tensor.
model['lang_embeddings.weight'] = model['position_embeddings.weight'][:2]
model['pred_layer.proj.bias'] = torch.randn(words, generator=g)

params = AttrDict(emb_dim=dim, n_layers=layers, n_heads=2, dropout=0.1, attention_dropout=0.05, gelu_activation=True,
                  sinusoidal_embeddings=False, asm=False, n_langs=2, use_lang_emb=True, lgs='en-fr', word_pred=0.15,
                  lang2id={'en': 0, 'fr': 1}, id2lang={0: 'en', 1: 'fr'}, langs=['en', 'fr'], max_vocab=-1, lr=1e-05,
                  mask_scores=np.array([0.8, 0.1, 0.1]), pred_probs=torch.FloatTensor([0.8, 0.1, 0.1]),
                  dump_path='/checkpoints/x\u00e9', n_words=words, eos_index=1, pad_index=2, unk_index=3,
                  # whole-valued floats stay floats (0.0, not 0); ints, bools, None, nesting, int and float keys
                  word_dropout=0.0, lambda_mlm=1.0, clip_grad_norm=5.0, neg_zero=-0.0, huge=1e16, tiny=1.5e-7,
                  inf=float('inf'), max_len=256, min_count=0, amp=-1, big_int=2**70, fp16=False, reload_model='', debug_slurm=None,
                  betas=[0.9, 0.98, 1.0, 2], mono_steps=[('en', None), ('fr', None)],
                  nested={'a': {1: 2.0, 'b': [1.0, 2, None, True, '\u00e9\u4e2d\U0001F600']}, 0.5: 'half', 2.0: 'two', True: {}},
                  lgs_text='fran\u00e7ais \u65e5\u672c')
if kind == 'evil':
    params['hook'] = Evil()
if kind == 'empty':
    model = collections.OrderedDict()
if kind == 'huge':
    params['n_layers'] = 10**9
specials = ['<s>', '</s>', '<pad>', '<unk>'] + ['<special%d>' % i for i in range(10)]
tokens = specials + ['the', 'hel@@', 'lo', 'w\u00f6rld', 'x@@', '@@', 'a@@b', ',', 'y'] + ['t%d' % i for i in range(7)]
word2id = {w: i for i, w in enumerate(tokens)}
checkpoint = {'model': model, 'params': params, 'dico_word2id': word2id, 'dico_id2word': {i: w for w, i in word2id.items()},
              'dico_counts': {w: 10 for w in tokens}, 'epoch': 7}

if container == 'legacy':
    ser.location_tag = lambda storage: 'cuda:0'  # as saved from a GPU (there is none here)
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)
else:
    torch.save(checkpoint, path)
`;

/** transformers' converter recomputed on the original file; compares with our folder, prints 'ok <n>'. */
const CHECK = String.raw`
import json, sys, zipfile, numpy, torch
src, out = sys.argv[1], sys.argv[2]

class AttrDict(dict):  # the class the checkpoint was written with, as the original code base has it
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__ = self

chkpt = torch.load(src, map_location='cpu')
expected = {}
for k, v in chkpt['model'].items():
    expected[k if 'pred_layer' in k else 'transformer.' + k] = v
config = dict((n, v) for n, v in chkpt['params'].items() if not isinstance(v, (torch.FloatTensor, numpy.ndarray)))
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
    runPython(python, WRITE_CHECKPOINT, [pth, container, 'clean']);
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
    assert.equal(runPython(python, CHECK, [pth, folder]).trim(), 'ok 39');
    // safetensors holds the tied weight once, under its first key; the slice is a tensor of its own.
    const st = await openSafetensors(join(folder, 'model.safetensors'));
    const names = st.tensors.map((x) => x.name);
    await st.close();
    assert.equal(names.length, 38, names.join(' '));
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
  runPython(python, WRITE_CHECKPOINT, [pth, 'legacy', 'evil', marker]);
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
  runPython(python, WRITE_CHECKPOINT, [pth, 'zip', 'empty']);
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
  runPython(python, WRITE_CHECKPOINT, [pth, 'zip', 'huge']);
  const folder = join(work, 'out');
  const r = runCli(['convert', '--tf_checkpoint', pth, '--pytorch_dump_output', folder]); // no --model_type
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error\[E_CONFIG\]: the xlm config built from .*huge\.pth: .*n_layers/m);
  assert.ok(!existsSync(folder), 'nothing written');
});
