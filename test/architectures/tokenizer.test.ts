/**
 * tokenizer_config.json and special_tokens_map.json of every model type with a tokenizer: casing decided
 * from the evidence, the bytes save_pretrained of the real transformers writes for the same tokenizer, and
 * AutoTokenizer loading the files (class, casing, model_max_length, special tokens, a sentence round-tripped).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getArchitecture } from '../../src/architectures/index.js';
import { type TokenizerEvidence, tokenizerConfigFiles } from '../../src/architectures/tokenizer.js';
import type { ModelConfig } from '../../src/mapping/types.js';
import { realFixture } from '../support/fixtures.js';
import { cliText } from '../support/notices.js';
import { tempDir } from '../support/temp.js';
import { runTransformers, trainSentencePiece, transformersPython } from '../support/transformers.js';

const CASED_VOCAB = '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nThe\nthe\nquick\nbrown\nfox\n##es\nHello\nhello\n';
const UNCASED_VOCAB = '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[unused0]\nthe\nquick\nbrown\nfox\n##es\nhello\n';

function evidence(vocab: string | undefined, more: Partial<TokenizerEvidence> = {}): TokenizerEvidence {
  return { releaseNames: ['out', 'bert_model.ckpt'], hasFile: () => true, vocabText: () => vocab, ...more };
}

function configOf(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

test('an uncased vocabulary (no upper-case word pieces) gives do_lower_case true, a cased one false, each with a note', () => {
  const bert = getArchitecture('bert');
  const config = { max_position_embeddings: 512 };
  const uncased = tokenizerConfigFiles(bert, config, evidence(UNCASED_VOCAB));
  assert.equal(configOf(uncased?.files[0]?.text ?? '').do_lower_case, true);
  assert.match(cliText(uncased?.note), /do_lower_case=true \(vocab\.txt has no upper-case word pieces/);
  const cased = tokenizerConfigFiles(bert, config, evidence(CASED_VOCAB));
  assert.equal(configOf(cased?.files[0]?.text ?? '').do_lower_case, false);
  assert.match(cliText(cased?.note), /do_lower_case=false \(vocab\.txt has 2 upper-case word pieces, e\.g\. 'The'/);
  assert.equal(configOf(cased?.files[0]?.text ?? '').model_max_length, 512);
  assert.equal(configOf(cased?.files[0]?.text ?? '').tokenizer_class, 'BertTokenizer');
});

test('a release name saying uncased or cased decides before the vocabulary; --do_lower_case before both', () => {
  const bert = getArchitecture('bert');
  const config = { max_position_embeddings: 512 };
  const lower = (e: TokenizerEvidence) =>
    configOf(tokenizerConfigFiles(bert, config, e)?.files[0]?.text ?? '').do_lower_case;
  assert.equal(
    lower(evidence(UNCASED_VOCAB, { releaseNames: ['multi_cased_L-12_H-768_A-12', 'bert_model.ckpt'] })),
    false,
  );
  assert.equal(lower(evidence(CASED_VOCAB, { releaseNames: ['uncased_L-12_H-768_A-12', 'bert_model.ckpt'] })), true);
  // a word that merely contains "cased" is no evidence
  assert.equal(lower(evidence(UNCASED_VOCAB, { releaseNames: ['showcased', 'bert_model.ckpt'] })), true);
  assert.equal(lower(evidence(CASED_VOCAB, { releaseNames: ['uncased_L-12'], doLowerCase: false })), false);
  const note = cliText(tokenizerConfigFiles(bert, config, evidence(CASED_VOCAB, { doLowerCase: true }))?.note);
  assert.match(note, /do_lower_case=true \(--do_lower_case\)/);
  assert.match(
    cliText(tokenizerConfigFiles(bert, config, evidence(CASED_VOCAB, { releaseNames: ['uncased_L-2', 'x'] }))?.note),
    /release name 'uncased_L-2'/,
  );
});

test('no tokenizer config when a file the tokenizer loads is not beside the checkpoint', () => {
  const files = tokenizerConfigFiles(getArchitecture('bert'), {}, evidence(CASED_VOCAB, { hasFile: () => false }));
  assert.equal(files, undefined);
  assert.equal(
    tokenizerConfigFiles(getArchitecture('transfo_xl'), {}, evidence(undefined)),
    undefined,
    'transfo_xl: no tokenizer',
  );
});

interface Case {
  readonly type: string;
  readonly config: ModelConfig;
  /** (source, name in the folder) */
  readonly files: readonly (readonly [string, string])[];
  readonly sentence: string;
  readonly expectLower?: boolean;
  readonly expectMaxLength: number | null;
  readonly vocab?: string;
}

test('every type: the bytes save_pretrained writes, and AutoTokenizer loads them right', (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const dir = tempDir(t, 'tokenizers');
  const sp = trainSentencePiece(client, dir);
  const cased = join(dir, 'cased-vocab.txt');
  writeFileSync(cased, CASED_VOCAB);
  const gpt2Dir = realFixture(t, 'gpt2-toy-keras-gpt-2');
  const gptDir = realFixture(t, 'openai-gpt-params-shapes');
  if (gpt2Dir === undefined || gptDir === undefined) return;
  const bpe = (d: string, vocab: string, merges: string) =>
    [
      [join(d, vocab), 'vocab.json'],
      [join(d, merges), 'merges.txt'],
    ] as const;
  const wordPiece = (type: string, sentence = 'The quick brown foxes'): Case => ({
    type,
    config: { max_position_embeddings: 64 },
    files: [[cased, 'vocab.txt']],
    sentence,
    expectLower: false,
    expectMaxLength: 64,
    vocab: CASED_VOCAB,
  });
  const cases: Case[] = [
    wordPiece('bert'),
    wordPiece('electra'),
    wordPiece('mobilebert'),
    wordPiece('lxmert'),
    wordPiece('convbert'),
    { ...wordPiece('funnel'), config: {}, expectMaxLength: 512 },
    {
      type: 'albert',
      config: { max_position_embeddings: 32 },
      files: [[sp, 'spiece.model']],
      sentence: 'The quick brown fox',
      expectLower: true,
      expectMaxLength: 32,
    },
    {
      type: 'xlnet',
      config: {},
      files: [[sp, 'spiece.model']],
      sentence: 'The quick brown fox',
      expectLower: false,
      expectMaxLength: null,
    },
    { type: 't5', config: {}, files: [[sp, 'spiece.model']], sentence: 'Hello world', expectMaxLength: 512 },
    {
      type: 'pegasus',
      config: { max_position_embeddings: 512 },
      files: [[sp, 'spiece.model']],
      sentence: 'The quick brown fox',
      expectMaxLength: 512,
    },
    {
      type: 'rembert',
      config: { max_position_embeddings: 48 },
      files: [[sp, 'sentencepiece.model']],
      sentence: 'Hello world',
      expectLower: false,
      expectMaxLength: 48,
    },
    {
      type: 'gpt2',
      config: { n_positions: 20 },
      files: bpe(gpt2Dir, 'encoder.json', 'vocab.bpe'),
      sentence: 'Power, give me more power!',
      expectMaxLength: 20,
    },
    {
      type: 'gpt_neo',
      config: { max_position_embeddings: 2048 },
      files: bpe(gpt2Dir, 'encoder.json', 'vocab.bpe'),
      sentence: 'Power, give me more power!',
      expectMaxLength: 2048,
    },
    {
      type: 'gpt',
      config: { n_positions: 512 },
      files: bpe(gptDir, 'encoder_bpe_40000.json', 'vocab_40000.bpe'),
      sentence: 'The quick brown fox',
      expectLower: true, // OpenAIGPTTokenizer always lowercases
      expectMaxLength: 512,
    },
  ];
  const jobs = cases.map((c, i) => {
    const architecture = getArchitecture(c.type);
    const made = tokenizerConfigFiles(architecture, c.config, evidence(c.vocab));
    assert.ok(made, `${c.type}: tokenizer files`);
    const folder = join(dir, `${i}-${c.type}`);
    const theirs = join(dir, `${i}-${c.type}-saved`);
    mkdirSync(folder);
    for (const [from, to] of c.files) copyFileSync(from, join(folder, to));
    for (const f of made.files) writeFileSync(join(folder, f.name), f.text);
    const ours = configOf(made.files[0]?.text ?? '');
    const kwargs = Object.fromEntries(
      ['do_lower_case', 'model_max_length'].filter((k) => k in ours).map((k) => [k, ours[k]]),
    );
    return {
      c,
      folder,
      theirs,
      className: architecture.tokenizer?.className,
      kwargs,
      files: c.files.map(([, to]) => join(folder, to)),
    };
  });
  const report = JSON.parse(
    runTransformers(
      client,
      `
import json, sys, transformers
from transformers import AutoTokenizer
out = []
for job in json.loads(sys.argv[1]):
    cls = getattr(transformers, job['className'])
    cls(*job['files'], **job['kwargs']).save_pretrained(job['theirs'])
    tok = AutoTokenizer.from_pretrained(job['folder'], use_fast=False)  # no tokenizers package here
    ids = tok.encode(job['c']['sentence'])
    out.append({
        'class': type(tok).__name__,
        'lower': getattr(tok, 'do_lower_case', None),
        'max': tok.model_max_length if tok.model_max_length < 10**29 else None,
        'special': {k: [getattr(x, 'content', x) for x in v] if isinstance(v, list) else getattr(v, 'content', v)
                    for k, v in tok.special_tokens_map_extended.items()},
        'decoded': tok.decode(ids, skip_special_tokens=True),
        'unk': tok.unk_token_id in ids,
    })
print(json.dumps(out))
`,
      [JSON.stringify(jobs)],
    ),
  ) as {
    class: string;
    lower: boolean | null;
    max: number | null;
    special: Record<string, unknown>;
    decoded: string;
    unk: boolean;
  }[];
  for (const [i, job] of jobs.entries()) {
    const got = report[i];
    const { c } = job;
    assert.ok(got);
    assert.equal(got.class, job.className, c.type);
    assert.equal(got.lower, c.expectLower ?? null, `${c.type}: do_lower_case`);
    assert.equal(got.max, c.expectMaxLength, `${c.type}: model_max_length`);
    assert.equal(got.unk, false, `${c.type}: the sentence is in the vocabulary`);
    const lowered = c.expectLower === true;
    assert.equal(got.decoded, lowered ? c.sentence.toLowerCase() : c.sentence, `${c.type}: round trip`);
    for (const name of ['tokenizer_config.json', 'special_tokens_map.json']) {
      const ours = readFileSync(join(job.folder, name), 'utf8');
      let theirs = readFileSync(join(job.theirs, name), 'utf8');
      // a tokenizer without positions: save_pretrained writes its 1e30 default, which we leave out
      if (c.expectMaxLength === null) theirs = theirs.replace(/\n {2}"model_max_length": \d+,/, '');
      assert.equal(ours, theirs, `${c.type}: ${name} as save_pretrained writes it`);
    }
    const special = JSON.parse(readFileSync(join(job.folder, 'special_tokens_map.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    for (const [key, value] of Object.entries(got.special))
      assert.deepEqual(
        typeof special[key] === 'object' && !Array.isArray(special[key])
          ? (special[key] as { content: string }).content
          : special[key],
        value,
        `${c.type}: ${key}`,
      );
  }
});
