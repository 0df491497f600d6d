/**
 * The model type recognised without --model_type: `inspect` names every real fixture (index-only ones
 * included; those that are no model of ours get an honest "not recognised"), `convert` without
 * --model_type converts every fixture that has data exactly as with it, ambiguity and a contradicting
 * --model_type are errors that say what the names look like.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { bert } from '../../src/architectures/bert.js';
import { detectArchitecture } from '../../src/architectures/detect.js';
import { MODEL_TYPES } from '../../src/architectures/index.js';
import type { Architecture, TensorInfo } from '../../src/mapping/types.js';
import { runCli } from '../support/cli.js';
import { FIXTURES_DIR, realFixture } from '../support/fixtures.js';
import { runPython, torchPython } from '../support/python.js';
import { tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';

/** What `inspect` says of each real fixture (its second line). A new fixture must be added here. */
const RECOGNISED: Readonly<Record<string, RegExp>> = {
  'albert-small-zh-google-indexonly': /^albert checkpoint: AlbertForPreTraining; 64 optimizer slots$/,
  'bert-base-uncased-pretrain-adam-indexonly': /^bert checkpoint: BertForPreTraining; 412 optimizer slots$/,
  'bert-tiny-keras-bert': /^bert checkpoint: BertForPreTraining; 92 optimizer slots$/,
  'gpt2-117M-indexonly': /^gpt2 checkpoint: GPT2Model; 0 optimizer slots$/,
  'gpt2-toy-keras-gpt-2': /^gpt2 checkpoint: GPT2Model; 0 optimizer slots$/,
  'openai-gpt-params-shapes':
    /: gpt checkpoint: OpenAIGPTModel \(recognised by its openai-npy layout; its tensors cannot be listed\)$/,
  't2t-transformer-2shards':
    /^not recognised as a model tf2torch converts: no variable is named as the original code of .* names them \(250 variables: /,
  't5-mtf-tiny-indexonly': /^t5 checkpoint: T5ForConditionalGeneration; 52 optimizer slots$/,
  'tf-v1-format-single-file': /^not recognised .*\(2 variables: Variable, Variable_1\)$/,
  'tf1-savedmodel-variables': /^not recognised .*\(5 variables: a, a2, b, …\)$/,
  'tf2-keras-bert-objgraph-indexonly': /^not recognised .*a TF2 object-based checkpoint/,
  'tf2-savedmodel-objgraph-variables': /^not recognised .*a TF2 object-based checkpoint/,
  'transfo-xl-tiny-div-1': /^transfo_xl checkpoint: TransfoXLLMHeadModel; 0 optimizer slots$/,
  'transfo-xl-tiny-div-2': /^transfo_xl checkpoint: TransfoXLLMHeadModel; 0 optimizer slots$/,
  'xlnet-tiny-untied-lmhead': /^xlnet checkpoint: XLNetLMHeadModel; 0 optimizer slots$/,
};

function fixtureNames(t: TestContext): string[] {
  if (!realFixture(t, 'bert-tiny-keras-bert')) return [];
  return readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

test('inspect names the type of every real fixture, index-only ones included, or says honestly it is none', (t) => {
  const names = fixtureNames(t);
  for (const name of names) {
    const expected = RECOGNISED[name];
    assert.ok(expected, `${name}: a fixture this test does not know yet; add what inspect should say of it`);
    const r = runCli(['inspect', join(FIXTURES_DIR, name)]);
    const line = r.stdout.split('\n').find((l) => expected.test(l));
    assert.ok(line, `${name}: inspect said:\n${r.stdout.slice(0, 400)}\n${r.stderr}`);
    if (name !== 'openai-gpt-params-shapes') assert.equal(r.code, 0, r.stderr);
  }
});

test('convert without --model_type converts every real fixture that has data, byte-identical to --model_type', (t) => {
  const names = fixtureNames(t);
  if (names.length === 0) return;
  const out = tempDir(t, 'detect-walk');
  let converted = 0;
  for (const name of names) {
    const dir = join(FIXTURES_DIR, name);
    const listed = runCli(['inspect', dir, '--json']);
    const report = listed.code === 0 ? JSON.parse(listed.stdout) : {};
    if (!report.model?.recognised || report.notes.some((n: string) => /missing/.test(n))) continue;
    const detected = runCli(['convert', '--tf_checkpoint', dir, '--pytorch_dump_output', join(out, name, 'auto/')]);
    assert.equal(detected.code, 0, `${name}: ${detected.stderr}`);
    assert.match(detected.stderr, new RegExp(`^note: ${report.model.modelType} checkpoint: .*\\(detected from `, 'm'));
    const typed = runCli([
      'convert',
      '--model_type',
      report.model.modelType,
      '--tf_checkpoint',
      dir,
      '--pytorch_dump_output',
      join(out, name, 'typed/'),
    ]);
    assert.equal(typed.code, 0, `${name}: ${typed.stderr}`);
    // the model card records the command line, which differs
    for (const file of readdirSync(join(out, name, 'typed')).filter((f) => f !== 'README.md'))
      assert.deepEqual(
        readFileSync(join(out, name, 'auto', file)),
        readFileSync(join(out, name, 'typed', file)),
        `${name}/${file}`,
      );
    converted++;
  }
  // bert-tiny, gpt2-toy, xlnet-tiny, transfo-xl div 1 and 2: every fixture with complete data of a model of ours
  assert.equal(converted, 5);
});

test('a --model_type the names contradict is refused, saying what they look like', (t) => {
  const dir = realFixture(t, 'gpt2-toy-keras-gpt-2');
  if (!dir) return;
  const r = runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', dir, '--dry-run']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^error\[E_WRONG_CHECKPOINT_KIND\]: \S+model\.ckpt: --model_type bert, but these variables look like a gpt2 checkpoint \(model\/h0\/attn\/c_attn\/w …\), not bert: leave --model_type out, or pass --model_type gpt2$/m,
  );
  const t2t = realFixture(t, 't2t-transformer-2shards');
  if (!t2t) return;
  const none = runCli(['convert', '--tf_checkpoint', t2t, '--dry-run']);
  assert.equal(none.code, 1);
  assert.match(
    none.stderr,
    /^error\[E_WRONG_CHECKPOINT_KIND\]: \S+: not recognised as a checkpoint of any model type/m,
  );
  assert.ok(none.stderr.includes(`pass --model_type (one of ${MODEL_TYPES.join(', ')})`), none.stderr);
});

test('names two types share: an error listing both and how to choose; the release config beside decides', async (t) => {
  const dir = tempDir(t, 'ambiguous');
  const prefix = join(dir, 'model.ckpt');
  const f = (name: string, shape: number[]) => ({
    name,
    dtype: 'float32' as const,
    shape,
    bytes: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)),
  });
  // BERT's layer scope (modeling.py transformer_model) next to ALBERT's factorised embedding mapping.
  await writeBundle(prefix, [
    f('bert/encoder/layer_0/attention/self/query/kernel', [4, 4]),
    f('bert/encoder/embedding_hidden_mapping_in/kernel', [2, 4]),
  ]);
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /the model type is ambiguous; it could be bert \(bert\/encoder\/layer_0\/attention\/self\/query\/kernel\) or albert \(bert\/encoder\/embedding_hidden_mapping_in\/kernel\): choose with --model_type bert\|albert/,
  );
  const inspect = JSON.parse(runCli(['inspect', prefix, '--json']).stdout);
  assert.deepEqual([inspect.model.recognised, inspect.model.candidates], [false, ['bert', 'albert']]);
  writeFileSync(join(dir, 'albert_config.json'), '{}');
  const decided = JSON.parse(runCli(['inspect', prefix, '--json']).stdout);
  assert.equal(decided.model.modelType, 'albert');
});

test('an original XLM .pth (train.py save_checkpoint: model, params, dico_*) is recognised from its dict', (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tempDir(t, 'xlm-detect');
  const pth = join(dir, 'mlm_tiny.pth');
  // XLM's trainer.py save_checkpoint: data['params'] = {k: v for k, v in self.params.__dict__.items()}
  runPython(
    python,
    String.raw`
import sys, torch
g = torch.Generator().manual_seed(5)
model = {'embeddings.weight': torch.randn(20, 4, generator=g), 'pred_layer.proj.bias': torch.randn(20, generator=g)}
words = ['<s>', '</s>', '<pad>', '<unk>'] + ['<special%d>' % i for i in range(10)] + ['w%d' % i for i in range(6)]
torch.save({'model': model, 'params': {'emb_dim': 4, 'n_layers': 0, 'n_words': 20}, 'dico_id2word': dict(enumerate(words)),
            'dico_word2id': {w: i for i, w in enumerate(words)}, 'dico_counts': {w: 1 for w in words}}, sys.argv[1])
`,
    [pth],
  );
  const inspect = runCli(['inspect', pth]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /^xlm checkpoint: XLMWithLMHeadModel; 0 optimizer slots$/m);
  const auto = runCli(['convert', '--tf_checkpoint', pth, '--pytorch_dump_output', join(dir, 'auto/')]);
  assert.equal(auto.code, 0, auto.stderr);
  const typed = runCli([
    'convert',
    '--model_type',
    'xlm',
    '--tf_checkpoint',
    pth,
    '--pytorch_dump_output',
    join(dir, 'typed/'),
  ]);
  assert.equal(typed.code, 0, typed.stderr);
  for (const file of ['config.json', 'model.safetensors', 'vocab.json']) {
    assert.ok(existsSync(join(dir, 'typed', file)), file);
    assert.deepEqual(readFileSync(join(dir, 'auto', file)), readFileSync(join(dir, 'typed', file)), file);
  }
});

test("a name declared absent rules a type out: BERT's scopes with or without the position table", () => {
  // a type on BERT's scopes that encodes positions by rotation (as RoFormer does), so has no position table
  const rotary: Architecture = {
    ...bert,
    modelType: 'rotary',
    detect: {
      names: ['^bert/encoder/layer_\\d+/'],
      absent: ['^bert/embeddings/position_embeddings$'],
      specialises: ['bert'],
      baseClass: 'RotaryModel',
    },
  };
  const t = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'float32', shape });
  const rotaryListing = [
    t('bert/embeddings/word_embeddings', [11, 4]),
    t('bert/embeddings/token_type_embeddings', [2, 4]),
    t('bert/encoder/layer_0/attention/self/query/kernel', [4, 4]),
  ];
  const bertListing = [...rotaryListing, t('bert/embeddings/position_embeddings', [16, 4])];
  const detect = (listing: TensorInfo[], registry: readonly Architecture[]) => {
    const d = detectArchitecture({ listing, format: 'tf-bundle-v2', hasSidecar: () => false }, registry);
    return d.kind === 'recognised' ? d.recognition.architecture.modelType : d.kind;
  };
  assert.equal(detect(rotaryListing, [bert, rotary]), 'rotary');
  assert.equal(detect(bertListing, [bert, rotary]), 'bert');
  assert.equal(detect(bertListing, [rotary]), 'unrecognised');
});
