/**
 * A converted folder's tokenizer, end to end through the CLI: a cased and an uncased BERT vocabulary beside
 * a tiny BERT checkpoint, the real GPT-2 toy release (encoder.json / vocab.bpe), the real XLNet checkpoint
 * with a SentencePiece model beside it; each folder loaded by the real transformers' AutoTokenizer.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { copyFixture, tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertWeights } from '../support/tiny-bert.js';
import { loadTokenizer as load, runTransformers, transformersPython } from '../support/transformers.js';

// 15 entries: TINY_BERT_CONFIG's vocab_size
const CASED = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'Hello',
  'hello',
  'World',
  'world',
  'The',
  'the',
  'fox',
  '##es',
  ',',
  '!',
];
const UNCASED = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  '[unused0]',
  'hello',
  'world',
  'the',
  'quick',
  'fox',
  '##es',
  ',',
  '!',
  '.',
];

async function tinyBert(dir: string, vocab: readonly string[] | undefined): Promise<string> {
  const prefix = join(dir, 'bert_model.ckpt');
  await writeBundle(prefix, tinyBertWeights(31));
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(TINY_BERT_CONFIG));
  if (vocab) writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  return prefix;
}

function convertTo(checkpoint: string, out: string, ...more: string[]): string {
  const r = runCli(['convert', '--tf_checkpoint', checkpoint, '--pytorch_dump_output', out, ...more]);
  assert.equal(r.code, 0, r.stderr);
  return r.stderr;
}

const BERT_SPECIAL = {
  cls_token: '[CLS]',
  mask_token: '[MASK]',
  pad_token: '[PAD]',
  sep_token: '[SEP]',
  unk_token: '[UNK]',
};

test('a cased and an uncased BERT vocabulary: casing decided from the vocabulary, with a note; AutoTokenizer agrees', async (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const tmp = tempDir(t, 'tok-bert');
  for (const [name, vocab, lower, sentence] of [
    ['cased', CASED, false, 'Hello World, the foxes!'],
    ['uncased', UNCASED, true, 'Hello World, the quick foxes.'],
  ] as const) {
    // folder names that say nothing of casing: the vocabulary decides
    const src = join(tmp, `src-${name === 'cased' ? 'a' : 'b'}`);
    mkdirSync(src);
    const out = join(tmp, `out-${name}`);
    const stderr = convertTo(await tinyBert(src, vocab), out);
    assert.match(
      stderr,
      lower
        ? /note: tokenizer_config\.json: BertTokenizer, do_lower_case=true \(vocab\.txt has no upper-case word pieces;/
        : /note: tokenizer_config\.json: BertTokenizer, do_lower_case=false \(vocab\.txt has 3 upper-case word pieces, e\.g\. 'Hello';/,
    );
    const got = load(client, out, sentence);
    assert.equal(got.class, 'BertTokenizer');
    assert.equal(got.lower, lower, `${name}: do_lower_case`);
    assert.equal(got.max, TINY_BERT_CONFIG.max_position_embeddings);
    assert.deepEqual(got.special, BERT_SPECIAL);
    assert.equal(got.unk, false, `${name}: every piece of the sentence is in the vocabulary`);
    assert.equal(got.decoded, lower ? sentence.toLowerCase() : sentence);
  }
});

test('--do_lower_case overrides the vocabulary, in either spelling', async (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const tmp = tempDir(t, 'tok-flag');
  const prefix = await tinyBert(tmp, CASED);
  const out = join(tmp, 'out');
  const stderr = convertTo(prefix, out, '--do-lower-case', 'true');
  assert.match(stderr, /do_lower_case=true \(--do_lower_case\)/);
  assert.equal(load(client, out, 'hello world').lower, true);
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--dry-run', '--do_lower_case', 'yes']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error\[E_USAGE\]: --do_lower_case yes: expected true or false/);
});

test('a release folder named uncased decides over the vocabulary', async (t) => {
  const tmp = tempDir(t, 'tok-name');
  const dir = join(tmp, 'uncased_L-1_H-4_A-2');
  mkdirSync(dir);
  const out = join(tmp, 'out');
  const stderr = convertTo(await tinyBert(dir, CASED), out);
  assert.match(stderr, /do_lower_case=true \(the release name 'uncased_L-1_H-4_A-2';/);
  assert.equal(JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')).do_lower_case, true);
});

test('no vocab.txt beside the checkpoint: no tokenizer config, and the warning says so', async (t) => {
  const tmp = tempDir(t, 'tok-none');
  const out = join(tmp, 'out');
  const r = runCli(['convert', '--tf_checkpoint', await tinyBert(tmp, undefined), '--pytorch_dump_output', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no vocab\.txt beside the checkpoint: the folder has no vocab\.txt/);
  assert.doesNotMatch(r.stderr, /note: tokenizer_config\.json/);
  for (const name of ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'])
    assert.equal(existsSync(join(out, name)), false, name);
});

test('the real GPT-2 toy release: vocab.json, merges.txt and GPT2Tokenizer with n_positions', (t) => {
  const fixture = realFixture(t, 'gpt2-toy-keras-gpt-2');
  const client = fixture && transformersPython(t);
  if (!fixture || !client) return;
  const out = join(tempDir(t, 'tok-gpt2'), 'out');
  convertTo(join(fixture, 'model.ckpt'), out, '--model_type', 'gpt2');
  assert.deepEqual(readFileSync(join(out, 'vocab.json')), readFileSync(join(fixture, 'encoder.json')));
  assert.deepEqual(readFileSync(join(out, 'merges.txt')), readFileSync(join(fixture, 'vocab.bpe')));
  const got = load(client, out, 'Power, give me more power!');
  assert.equal(got.class, 'GPT2Tokenizer');
  assert.equal(got.max, 20);
  assert.deepEqual(got.special, { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' });
  assert.equal(got.decoded, 'Power, give me more power!');
});

test('the real XLNet checkpoint with a SentencePiece model beside it: spiece.model, XLNetTokenizer, no model_max_length', (t) => {
  const fixture = realFixture(t, 'xlnet-tiny-untied-lmhead');
  const client = fixture && transformersPython(t);
  if (!fixture || !client) return;
  const src = copyFixture(t, fixture, 'tok-xlnet-src');
  runTransformers(
    client,
    `
import sys, sentencepiece as spm
open(sys.argv[1] + '/corpus.txt', 'w').write('\\n'.join(['The quick brown fox jumps over the lazy dog.'] * 50))
spm.SentencePieceTrainer.train(input=sys.argv[1] + '/corpus.txt', model_prefix=sys.argv[1] + '/sp', vocab_size=60,
  hard_vocab_limit=False, minloglevel=2, user_defined_symbols=['<cls>', '<sep>', '<mask>', '<eod>', '<eop>'])
`,
    [src],
  );
  copyFileSync(join(src, 'sp.model'), join(src, 'spiece.model'));
  const out = join(tempDir(t, 'tok-xlnet'), 'out');
  const stderr = convertTo(join(src, 'xlnet_model.ckpt'), out, '--model_type', 'xlnet');
  assert.match(
    stderr,
    /XLNetTokenizer, do_lower_case=false .*no model_max_length \(the model has no absolute positions\)/,
  );
  assert.deepEqual(readFileSync(join(out, 'spiece.model')), readFileSync(join(src, 'sp.model')));
  const got = load(client, out, 'The quick brown fox');
  assert.equal(got.class, 'XLNetTokenizer');
  assert.equal(got.lower, false);
  assert.equal(got.max, null);
  assert.equal(got.special.cls_token, '<cls>');
  assert.deepEqual(got.special.additional_special_tokens, ['<eop>', '<eod>']);
  assert.equal(got.decoded, 'The quick brown fox');
});
