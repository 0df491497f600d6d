/**
 * Tiny checkpoints in the original non-TF formats, written by the real numpy / PyTorch as the original projects'
 * code writes them (run with runPython): an OpenAI GPT release folder (finetune-transformer-lm's
 * params_shapes.json + params_N.npy) and a Facebook XLM `.pth` (XLM's `torch.save({model, params, dico_*})`); and
 * the net_config.json of the Funnel test checkpoint.
 */

/** Writes the tiny release (2 blocks, n_embd 24, vocab 20, 6 positions) into argv[1]; argv[2] = 'names' adds parameters_names.json. */
export const WRITE_OPENAI_GPT_RELEASE = String.raw`
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

/** argv: output path, 'legacy' | 'zip', 'clean' | 'evil' | 'empty' (argv[4]: marker file the evil pickle would create). */
export const WRITE_XLM_CHECKPOINT = String.raw`
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

/**
 * A tiny Funnel's net_config.json as the original (laiguokun/Funnel_Transformer) writes it: blocks of 2 and 1 layers,
 * one decoder layer; d_model = n_head × d_head (square attention kernels, as in the released models).
 */
export const FUNNEL_NET_CONFIG = {
  block_size: '2_1',
  d_embed: 8,
  d_head: 4,
  d_inner: 16,
  d_model: 8,
  decoder_size: '1',
  dropact: 0.0,
  dropatt: 0.1,
  dropout: 0.1,
  ff_activation: 'gelu',
  init: 'truncated_normal',
  init_range: 0.1,
  init_std: 0.02,
  n_head: 2,
  pool_q_only: true,
  pooling_size: 2,
  pooling_type: 'mean',
  rel_attn_type: 'factorized',
  separate_cls: true,
  vocab_size: 20,
};
