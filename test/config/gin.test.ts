/** The gin parser on every construct, its errors, and T5Config fields from the real Mesh TF T5 test checkpoint. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ginBinding,
  ginParam,
  parseGin,
  parseMeshModelInfo,
  readGinFile,
  resolveGinValue,
  t5ConfigFromGin,
} from '../../src/config/gin.js';
import type { Tf2TorchError } from '../../src/errors.js';
import { realFixture } from '../support/fixtures.js';
import { tempDir } from '../support/temp.js';

const SAMPLE = `import mesh_tensorflow.transformer.transformer_layers
include 'base.gin'   # an include
# Macros:
d_model = 32
eps = 1e-06
name = "double \\"quoted\\"\\tstring"
neg = -0.5

# Bindings
encoder/Unitransformer.d_model = %d_model
Unitransformer.d_model = 16
a/b/Thing.items = \\
    [@layers.SelfAttention,
     @layers.DenseReluDense(),   # trailing comments inside brackets
     %d_model]
run.batch_size = ('tokens_per_batch', 16384)
run.single = (7)
run.one_tuple = (7,)
run.empty = ()
run.sequence_length = {'inputs': 512, 'targets': 512}
run.flags = [True, False, None]
run.float = 10000.0
run.text = '''multi
line'''
learning_rate_schedules.constant.value = 1.0
Unitransformer.d_model = 24
`;

test('every gin construct parses into plain data', () => {
  const gin = parseGin(SAMPLE, 'sample.gin');
  assert.deepEqual(gin.imports, ['mesh_tensorflow.transformer.transformer_layers']);
  assert.deepEqual(gin.includes, ['base.gin']);
  assert.deepEqual([...gin.macros.keys()], ['d_model', 'eps', 'name', 'neg']);
  assert.equal(gin.macros.get('eps')!.value, 1e-6);
  assert.equal(gin.macros.get('name')!.value, 'double "quoted"\tstring');
  assert.equal(gin.macros.get('neg')!.value, -0.5);
  const byKey = new Map(gin.bindings.map((b) => [`${b.scope}|${b.configurable}.${b.param}`, b]));
  assert.deepEqual(byKey.get('a/b|Thing.items')!.value, [
    { kind: 'reference', name: 'layers.SelfAttention', evaluate: false },
    { kind: 'reference', name: 'layers.DenseReluDense', evaluate: true },
    { kind: 'macro', name: 'd_model' },
  ]);
  assert.equal(byKey.get('a/b|Thing.items')!.line, 12);
  assert.deepEqual(byKey.get('|run.batch_size')!.value, { kind: 'tuple', items: ['tokens_per_batch', 16384] });
  assert.equal(byKey.get('|run.single')!.value, 7);
  assert.deepEqual(byKey.get('|run.one_tuple')!.value, { kind: 'tuple', items: [7] });
  assert.deepEqual(byKey.get('|run.empty')!.value, { kind: 'tuple', items: [] });
  assert.deepEqual(byKey.get('|run.sequence_length')!.value, {
    kind: 'dict',
    entries: [
      ['inputs', 512],
      ['targets', 512],
    ],
  });
  assert.deepEqual(byKey.get('|run.flags')!.value, [true, false, null]);
  assert.equal(byKey.get('|run.float')!.value, 10000);
  assert.equal(byKey.get('|run.text')!.value, 'multi\nline');
  assert.equal(byKey.get('|learning_rate_schedules.constant.value')!.value, 1);
  // lookups: scoped beats unscoped, the later unscoped binding wins, module paths match short names
  assert.equal(ginParam(gin, 'Unitransformer', 'd_model', 'encoder')!.value, 32);
  assert.equal(ginParam(gin, 'Unitransformer', 'd_model', 'decoder')!.value, 24);
  assert.equal(ginParam(gin, 'Unitransformer', 'd_model')!.value, 24);
  assert.match(
    ginParam(gin, 'Unitransformer', 'd_model', 'encoder')!.from,
    /^encoder\/Unitransformer\.d_model \(sample\.gin:10\)$/,
  );
  assert.equal(ginBinding(gin, 'transformer.Unitransformer', 'd_model')!.line, 26);
  assert.equal(ginParam(gin, 'constant', 'value')!.value, 1);
  assert.equal((resolveGinValue(gin, byKey.get('a/b|Thing.items')!.value) as unknown[])[2], 32);
});

test('malformed gin → E_MALFORMED with file:line; unknown macros → E_CONFIG', () => {
  const cases: [string, RegExp][] = [
    ['a.b = [1, 2', /x\.gin:1: expected ',' or '\]'/],
    ['\n\nrun.x 5', /x\.gin:3: expected '=' after 'run\.x'/],
    ["run.x = 'open", /x\.gin:1: unterminated string/],
    ['run.x = 1 2', /x\.gin:1: unexpected text after the value/],
    ['run.x = 12abc', /malformed number/],
    ['run.x = __import__("os")', /expected a value/],
    ['= 3', /expected a binding/],
    [`run.x = ${'['.repeat(100)}${']'.repeat(100)}`, /nested deeper than 64/],
  ];
  for (const [text, message] of cases)
    assert.throws(() => parseGin(text, 'x.gin'), { code: 'E_MALFORMED', message }, text);
  const gin = parseGin('run.x = %nope\na = %b\nb = %a', 'y.gin');
  assert.throws(() => ginParam(gin, 'run', 'x'), {
    code: 'E_CONFIG',
    message: /macro %nope is used but never defined/,
  });
  assert.throws(() => resolveGinValue(gin, { kind: 'macro', name: 'a' }), { code: 'E_CONFIG', message: /cycle/ });
});

test('T5Config from the gin alone, and the errors of a bad gin', () => {
  const relu = parseGin(`num_heads = 8
encoder/SelfAttention.num_heads = %num_heads
decoder/SelfAttention.num_heads = %num_heads
encoder/DenseReluDense.activation = 'relu'
Unitransformer.d_model = 512`);
  const r = t5ConfigFromGin(relu);
  assert.deepEqual(r.config, { num_heads: 8, feed_forward_proj: 'relu', d_model: 512 });
  assert.ok(r.missing.includes('vocab_size') && r.missing.includes('d_ff'));
  const mismatch = parseGin('encoder/SelfAttention.num_heads = 8\ndecoder/SelfAttention.num_heads = 4', 'm.gin');
  assert.throws(() => t5ConfigFromGin(mismatch), {
    code: 'E_CONFIG',
    message:
      /encoder\/SelfAttention\.num_heads \(m\.gin:1\) = 8 but decoder\/SelfAttention\.num_heads \(m\.gin:2\) = 4/,
  });
  assert.throws(() => t5ConfigFromGin(parseGin("DenseReluDense.activation = ['tanh', 'linear']")), {
    code: 'E_CONFIG',
    message: /no T5Config feed_forward_proj/,
  });
  assert.equal(
    t5ConfigFromGin(parseGin("DenseReluDense.activation = ('swish', 'linear')")).config.feed_forward_proj,
    'gated-silu',
  );
  // names found on Object.prototype are no activation (one became a function as feed_forward_proj)
  for (const name of ['constructor', '__proto__', 'toString'])
    assert.throws(() => t5ConfigFromGin(parseGin(`DenseReluDense.activation = '${name}'`)), {
      code: 'E_CONFIG',
      message: /no T5Config feed_forward_proj/,
    });
});

test('the real t5-mtf-tiny operative_config.gin and model-info.txt', async (t) => {
  const dir = realFixture(t, 't5-mtf-tiny-indexonly');
  if (!dir) return;
  const gin = await readGinFile(join(dir, 'operative_config.gin'));
  assert.equal(gin.imports.length, 8);
  assert.equal(gin.macros.get('MIXTURE_NAME')!.value, 'c4_v020_unsupervised');
  assert.equal(
    ginParam(gin, 'run', 'layout_rules')!.value,
    'ensemble:ensemble,batch:batch,d_ff:model,heads:model,vocab:model,experts:batch',
  );
  assert.equal((ginParam(gin, 'make_layer_stack', 'layers', 'decoder')!.value as unknown[]).length, 3);
  assert.equal(ginParam(gin, 'get_variable_dtype', 'master_dtype')!.value, 'bfloat16');

  const fromGin = t5ConfigFromGin(gin);
  assert.deepEqual(fromGin.config, {
    d_model: 32,
    d_ff: 64,
    d_kv: 64,
    num_heads: 2,
    num_layers: 2,
    num_decoder_layers: 2,
    feed_forward_proj: 'gated-gelu',
    dropout_rate: 0,
    layer_norm_epsilon: 1e-6,
    relative_attention_num_buckets: 32,
    tie_word_embeddings: false,
  });
  assert.deepEqual(fromGin.missing, ['vocab_size']);
  assert.match(fromGin.sources.num_heads!, /^gin: encoder\/SelfAttention\.num_heads \(.*operative_config\.gin:\d+\)$/);

  const listing = parseMeshModelInfo(readFileSync(join(dir, 'model-info.txt'), 'utf8'));
  assert.equal(listing.length, 52);
  assert.deepEqual(
    listing.find((v) => v.name === 'shared/embedding'),
    { name: 'shared/embedding', shape: [32128, 32], dims: ['vocab', 'd_model'] },
  );
  const full = t5ConfigFromGin(gin, listing);
  assert.equal(full.config.vocab_size, 32128);
  assert.equal(full.sources.vocab_size, 'checkpoint: shared/embedding shape[0]');
  assert.deepEqual(full.missing, []);

  // the listing contradicting the gin is an error naming both
  const wrongHeads = listing.map((v) => (v.name.endsWith('relative_attention_bias') ? { ...v, shape: [4, 32] } : v));
  assert.throws(() => t5ConfigFromGin(gin, wrongHeads), {
    code: 'E_CONFIG',
    message: /num_heads: the gin says 2 .* says 4/,
  });
  const ungated = listing
    .filter((v) => !/wi_[01]/.test(v.name))
    .concat([{ name: 'encoder/block_000/layer_001/DenseReluDense/wi/kernel', shape: [32, 64], dims: [] }]);
  assert.throws(() => t5ConfigFromGin(gin, ungated), { code: 'E_CONFIG', message: /feed_forward_proj 'gated-gelu'/ });
  const tied = listing.filter((v) => v.name !== 'decoder/logits/kernel');
  assert.throws(() => t5ConfigFromGin(gin, tied), {
    code: 'E_CONFIG',
    message: /tie_word_embeddings: the gin says false/,
  });
});

test('a gin file that is not UTF-8 is refused naming it (gin reads UTF-8 and fails; it became U+FFFD)', async (t) => {
  const path = join(tempDir(t, 'gin'), 'operative_config.gin');
  writeFileSync(path, Buffer.from("run.model_dir = 'caf\u00e9'\n", 'latin1'));
  await assert.rejects(readGinFile(path), (e: Tf2TorchError) => {
    assert.equal(e.code, 'E_MALFORMED');
    assert.equal(e.file, path);
    assert.match(e.message, /operative_config\.gin: not valid UTF-8 text/);
    return true;
  });
});
