/**
 * XLM `.pth` files (zip and legacy containers, written by the real PyTorch) and an OpenAI GPT release
 * folder (written by the real numpy) converted by https:// and gs:// from a real nginx: the same files as
 * the local conversion, and, by nginx's access log, each byte of the weights fetched once, by ranges
 * fetched ahead (a handful of requests, not one per tensor). A torch file's structure is read apart from
 * its records: the first 512 bytes (what it is), then the zip's last 64 KiB, central directory and
 * `data.pkl`; a legacy file's pickles are parsed from a first window of 16 MiB (the whole of a smaller
 * file), so that much of its storages is fetched twice, each storage's 8-byte element count is a
 * request of its own (several at once), and its storages lie in the order of their keys.
 */
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { type Nginx, startNginx } from '../support/nginx.js';
import { snapshot } from '../support/output-tree.js';
import { numpyPython, runPython, torchPython } from '../support/python.js';
import { tempDir } from '../support/temp.js';

/** An original-style XLM checkpoint: argv[1] path, argv[2] 'zip' | 'legacy'. */
const WRITE_XLM = String.raw`
import collections, sys, torch
path, container = sys.argv[1], sys.argv[2]

class AttrDict(dict):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__ = self

g = torch.Generator().manual_seed(5)
dim, words, layers = 64, 200, 2
model = collections.OrderedDict()
model['position_embeddings.weight'] = torch.randn(32, dim, generator=g)
model['lang_embeddings.weight'] = torch.randn(2, dim, generator=g)
model['embeddings.weight'] = torch.randn(words, dim, generator=g)
model['layer_norm_emb.weight'] = torch.randn(dim, generator=g)
model['layer_norm_emb.bias'] = torch.randn(dim, generator=g)
for i in range(layers):
    for lin in ('q_lin', 'k_lin', 'v_lin', 'out_lin'):
        model['attentions.%d.%s.weight' % (i, lin)] = torch.randn(dim, dim, generator=g)
        model['attentions.%d.%s.bias' % (i, lin)] = torch.randn(dim, generator=g)
    for norm in ('layer_norm1', 'layer_norm2'):
        model['%s.%d.weight' % (norm, i)] = torch.randn(dim, generator=g)
        model['%s.%d.bias' % (norm, i)] = torch.randn(dim, generator=g)
    model['ffns.%d.lin1.weight' % i] = torch.randn(4 * dim, dim, generator=g)
    model['ffns.%d.lin1.bias' % i] = torch.randn(4 * dim, generator=g)
    model['ffns.%d.lin2.weight' % i] = torch.randn(dim, 4 * dim, generator=g)
    model['ffns.%d.lin2.bias' % i] = torch.randn(dim, generator=g)
model['pred_layer.proj.weight'] = model['embeddings.weight'].detach()  # tied, as share_inout_emb saves it
model['pred_layer.proj.bias'] = torch.randn(words, generator=g)
params = AttrDict(emb_dim=dim, n_layers=layers, n_heads=2, dropout=0.1, attention_dropout=0.1, gelu_activation=True,
                  sinusoidal_embeddings=False, asm=False, n_langs=2, use_lang_emb=True, lang2id={'en': 0, 'fr': 1},
                  id2lang={0: 'en', 1: 'fr'}, n_words=words, eos_index=1, pad_index=2, unk_index=3, max_len=32)
tokens = ['<s>', '</s>', '<pad>', '<unk>'] + ['<special%d>' % i for i in range(10)]
tokens += ['w%d@@' % i if i % 3 == 0 else 'w%d' % i for i in range(words - len(tokens))]
word2id = {w: i for i, w in enumerate(tokens)}
checkpoint = {'model': model, 'params': params, 'dico_word2id': word2id,
              'dico_id2word': {i: w for w, i in word2id.items()}, 'dico_counts': {w: 10 for w in tokens}, 'epoch': 7}
torch.save(checkpoint, path, _use_new_zipfile_serialization=(container == 'zip'))
`;

/** An OpenAI GPT release folder (argv[1]): params_shapes.json, three shards cut inside arrays, BPE files. */
const WRITE_GPT = String.raw`
import json, sys, numpy as np
d = sys.argv[1]
e, v, p, L = 24, 20, 6, 2
block = [[1, e, 3 * e], [3 * e], [1, e, e], [e], [e], [e], [1, e, 4 * e], [4 * e], [1, 4 * e, e], [e], [e], [e]]
shapes = [[p, e], [v, e]] + [s for _ in range(L) for s in block]
total = sum(int(np.prod(s)) for s in shapes)
flat = np.random.RandomState(9).standard_normal(total).astype(np.float32)
cuts = [0, 37, total // 2 + 3, total]
for i in range(3):
    np.save('%s/params_%d.npy' % (d, i), flat[cuts[i]:cuts[i + 1]])
json.dump(shapes, open(d + '/params_shapes.json', 'w'))
open(d + '/encoder_bpe_40000.json', 'w').write('{"a</w>": 0}')
open(d + '/vocab_40000.bpe', 'w').write('#version: 0.2\na b\n')
`;

/** What reading a torch file's structure may fetch besides its records (see the top of this file). */
const TORCH_STRUCTURE_BYTES = 96 * 1024;
const LEGACY_FIRST_WINDOW_BYTES = 16 * 1024 * 1024;
/** The storages WRITE_XLM saves: 5 embedding and norm tensors, 16 per layer, the head's bias. */
const STORAGES = 5 + 2 * 16 + 1;

/** Converts `local` and `url` alike into two folders and checks they hold the same files (the card aside). */
function convertAlike(t: TestContext, local: string, url: string, extra: string[], env = process.env) {
  const out = tempDir(t, 'out');
  const a = runCli(['convert', ...extra, '--tf_checkpoint', local, '--pytorch_dump_output', join(out, 'local/')]);
  assert.equal(a.code, 0, a.stderr);
  const b = runCli(['convert', ...extra, '--tf_checkpoint', url, '--pytorch_dump_output', join(out, 'url/')], { env });
  assert.equal(b.code, 0, b.stderr);
  const { 'README.md': _a, ...want } = snapshot(join(out, 'local'));
  const { 'README.md': _b, ...got } = snapshot(join(out, 'url'));
  assert.deepEqual(got, want);
  return b;
}

/** GETs of `uri` in nginx's log since `from` (those of 8 bytes apart: a legacy file's element counts), and the body bytes they carried. */
function rangedGets(nginx: Nginx, uri: string, from: number): { requests: number; counts: number; bytes: number } {
  const lines = nginx
    .accessLog()
    .slice(from)
    .filter((l) => l.uri === uri && l.method === 'GET');
  const counts = lines.filter((l) => l.bodyBytes === 8).length;
  return { requests: lines.length - counts, counts, bytes: lines.reduce((sum, l) => sum + l.bodyBytes, 0) };
}

for (const container of ['zip', 'legacy'] as const) {
  test(`an XLM .pth (${container}) by https:// and gs://: the local conversion's files, each byte fetched once by few requests`, async (t) => {
    const python = torchPython(t);
    if (!python) return;
    {
      const dir = tempDir(t, 'xlm');
      const pth = join(dir, 'mlm_tiny.pth');
      runPython(python, WRITE_XLM, [pth, container]);
      const nginx = await startNginx(t, { '/xlm/': dir });
      if (nginx === undefined) return;
      const size = statSync(pth).size;
      const structure =
        TORCH_STRUCTURE_BYTES + (container === 'legacy' ? Math.min(size, LEGACY_FIRST_WINDOW_BYTES) : 0);
      for (const [url, env] of [
        [`${nginx.origin}/xlm/mlm_tiny.pth`, process.env],
        ['gs://xlm/mlm_tiny.pth', { ...process.env, TF2TORCH_GCS_BASE: nginx.origin }],
      ] as const) {
        for (const format of ['safetensors', 'both']) {
          const from = nginx.accessLog().length;
          convertAlike(t, pth, url, ['--model_type', 'xlm', '--format', format], env);
          const { requests, counts, bytes } = rangedGets(nginx, '/xlm/mlm_tiny.pth', from);
          assert.ok(bytes <= size + structure, `${url} (${format}): fetched ${bytes} bytes of a ${size}-byte file`);
          // a legacy file keeps its storages in the order of their keys, not the model's: coalesced only
          // where the two orders agree
          const most = container === 'legacy' ? STORAGES : 16;
          assert.ok(requests <= most, `${url} (${format}): ${requests} requests`);
          // at most one per storage (the tied head shares the embeddings' storage; with --format both,
          // the bytes the first window fetched are read again from the local copy)
          assert.ok(counts <= (container === 'legacy' ? STORAGES : 0), `${counts} requests of 8 bytes`);
        }
      }
    }
  });
}

test('an OpenAI GPT release folder by https:// and gs://: the local conversion, each shard byte fetched once by few requests', async (t) => {
  const numpy = numpyPython(t);
  if (!numpy) return;
  {
    const dir = tempDir(t, 'gpt');
    const release = join(dir, 'model');
    mkdirSync(release);
    runPython(numpy, WRITE_GPT, [release]);
    const nginx = await startNginx(t, { '/gpt/': dir });
    if (nginx === undefined) return;
    for (const [url, env] of [
      [`${nginx.origin}/gpt/model/`, process.env],
      ['gs://gpt/model/', { ...process.env, TF2TORCH_GCS_BASE: nginx.origin }],
    ] as const) {
      const from = nginx.accessLog().length;
      const r = convertAlike(t, release, url, ['--model_type', 'gpt', '--format', 'both'], env);
      assert.match(r.stdout, /wrote .*vocab\.json/);
      for (let i = 0; i < 3; i++) {
        const shard = join(release, `params_${i}.npy`);
        const { requests, bytes } = rangedGets(nginx, `/gpt/model/params_${i}.npy`, from);
        assert.ok(bytes <= statSync(shard).size, `params_${i}.npy: fetched ${bytes} of ${statSync(shard).size}`);
        assert.ok(requests <= 6, `params_${i}.npy: ${requests} requests`);
      }
    }
  }
});
