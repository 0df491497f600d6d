/**
 * The model card of a folder output: front matter that parses as YAML with what the Hub reads, the digests of
 * the very files read, a license only when one lies beside the checkpoint, `huggingface_hub.ModelCard` loading
 * it, a README.md the user wrote kept; and the lines printed after a conversion, run as printed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { MODEL_CARD_MARKER } from '../../src/convert/output/model-card-text.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { copyFixture, tempDir } from '../support/temp.js';
import { runTransformers, transformersPython } from '../support/transformers.js';

const READ_CARD = String.raw`
import json, sys, yaml
from huggingface_hub import ModelCard
text = open(sys.argv[1], encoding='utf-8').read()
assert text.startswith('---\n'), 'no front matter'
meta = yaml.safe_load(text.split('---\n')[1])
card = ModelCard.load(sys.argv[1])
print(json.dumps({'meta': meta, 'hub': card.data.to_dict(), 'content': card.content == text}))
`;

function convertBertTiny(t: TestContext, extra: string[] = [], lead?: (dir: string) => void) {
  const fixture = realFixture(t, 'bert-tiny-keras-bert');
  if (!fixture) return undefined;
  const dir = copyFixture(t, fixture, 'card-in');
  lead?.(dir);
  const cwd = tempDir(t, 'card-out');
  const args = ['convert', '--tf_checkpoint', join(dir, 'bert_model.ckpt'), '--pytorch_dump_output', 'bert out/'];
  const r = runCli([...args, ...extra], { cwd });
  assert.equal(r.code, 0, r.stderr);
  return { dir, cwd, out: join(cwd, 'bert out'), r };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('the model card: YAML the Hub reads, the digest of every file read, the command, skips by kind; ModelCard loads it', (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const run = convertBertTiny(t, ['--format', 'both']);
  if (!run) return;
  const card = join(run.out, 'README.md');
  const text = readFileSync(card, 'utf8');
  const read = JSON.parse(runTransformers(client, READ_CARD, [card]));
  assert.deepEqual(read.meta, { library_name: 'transformers', tags: ['tf2torch', 'bert', 'google-research/bert'] });
  assert.equal(read.hub.library_name, 'transformers');
  assert.equal(read.content, true);
  // every input, with its size and its sha256 as computed here from the bytes
  const inputs = ['bert_config.json', 'bert_model.ckpt.data-00000-of-00001', 'bert_model.ckpt.index', 'vocab.txt'];
  assert.deepEqual(
    readdirSync(run.dir).filter((n) => text.includes(`\`${n}\``)),
    inputs,
    'the files read, no other',
  );
  for (const name of inputs) {
    const path = join(run.dir, name);
    const row = `| \`${name}\` | ${readFileSync(path).byteLength} bytes | \`${sha256(path)}\` |`;
    assert.ok(text.includes(row), `${row} not in:\n${text}`);
  }
  assert.ok(text.includes(MODEL_CARD_MARKER));
  assert.match(
    text,
    /^tf2torch convert --tf_checkpoint \S+bert_model\.ckpt --pytorch_dump_output 'bert out\/' --format both$/m,
  );
  assert.match(text, /^- 92 × optimizer slots \(training state, not weights\)$/m);
  assert.match(text, /^- 1 × training bookkeeping/m);
  assert.match(text, /^- config: .*bert_config\.json \(found beside the checkpoint/m);
  assert.match(run.r.stdout, /^ {2}wrote bert out\/README\.md$/m);
});

test("the inputs' rows in code-unit order of their names, whatever the locale (upper case before lower)", (t) => {
  const fixture = realFixture(t, 'bert-tiny-keras-bert');
  if (!fixture) return;
  const dir = copyFixture(t, fixture, 'card-order');
  for (const name of readdirSync(dir).filter((n) => n.startsWith('bert_model.ckpt')))
    renameSync(join(dir, name), join(dir, name.replace('bert_model', 'BERT_model')));
  const out = join(tempDir(t, 'card-order-out'), 'hf');
  const r = runCli(['convert', '--tf_checkpoint', join(dir, 'BERT_model.ckpt'), '--pytorch_dump_output', `${out}/`]);
  assert.equal(r.code, 0, r.stderr);
  const rows = readFileSync(join(out, 'README.md'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('`')[1]);
  // a collation (localeCompare) would put bert_config.json first: b-e-r-t-_-c before b-e-r-t-_-m
  assert.deepEqual(rows, [
    'BERT_model.ckpt.data-00000-of-00001',
    'BERT_model.ckpt.index',
    'bert_config.json',
    'vocab.txt',
  ]);
});

test('the model card names the license only when the release states one beside the checkpoint', (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const run = convertBertTiny(t, [], (dir) =>
    writeFileSync(
      join(dir, 'LICENSE'),
      '\n                                 Apache License\n                           Version 2.0, January 2004\n',
    ),
  );
  if (!run) return;
  const read = JSON.parse(runTransformers(client, READ_CARD, [join(run.out, 'README.md')]));
  assert.equal(read.meta.license, 'apache-2.0');
  assert.equal(read.hub.license, 'apache-2.0');
  assert.match(readFileSync(join(run.out, 'README.md'), 'utf8'), /License: apache-2\.0, as stated by LICENSE beside/);
});

test('a README.md the user wrote is kept (with a warning); ours is rewritten by --force', (t) => {
  const fixture = realFixture(t, 'bert-tiny-keras-bert');
  if (!fixture) return;
  const out = join(tempDir(t, 'card-user'), 'out');
  mkdirSync(out);
  const convert = () =>
    runCli([
      'convert',
      '--tf_checkpoint',
      join(fixture, 'bert_model.ckpt'),
      '--pytorch_dump_output',
      `${out}/`,
      '--force',
    ]);
  assert.equal(convert().code, 0);
  const ours = readFileSync(join(out, 'README.md'), 'utf8');
  writeFileSync(join(out, 'README.md'), ours.replace('Converted by', 'Rewritten by'));
  assert.equal(convert().code, 0);
  assert.equal(readFileSync(join(out, 'README.md'), 'utf8'), ours, 'our own card is rewritten');
  const mine = '# My model\n\nNotes I wrote.\n';
  writeFileSync(join(out, 'README.md'), mine);
  const r = convert();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'README.md'), 'utf8'), mine);
  assert.match(r.stderr, /^warning: \S+README\.md was not written by tf2torch: kept as it is, with no model card/m);
  assert.doesNotMatch(r.stdout, /wrote .*README\.md/);
});

test('after a folder conversion: the from_pretrained line (which loads it, as printed) and the upload command', (t) => {
  const client = transformersPython(t);
  if (!client) return;
  // both formats: 4.29.2 without the safetensors package loads pytorch_model.bin
  const run = convertBertTiny(t, ['--format', 'both']);
  if (!run) return;
  const load = /^ {2}load it: {2}(from transformers import BertForPreTraining; .*)$/m.exec(run.r.stdout)?.[1];
  assert.equal(
    load,
    'from transformers import BertForPreTraining; model = BertForPreTraining.from_pretrained("bert out")',
  );
  assert.match(run.r.stdout, /^ {2}share it: huggingface-cli upload <your-name>\/bert-out 'bert out'$/m);
  // the printed line, run where the user ran tf2torch
  const script = `import os; os.chdir(${JSON.stringify(run.cwd)}); ${load}; print(type(model).__name__)`;
  assert.equal(runTransformers(client, script).trim(), 'BertForPreTraining');
  const file = runCli([
    'convert',
    '--tf_checkpoint',
    join(run.dir, 'bert_model.ckpt'),
    '--pytorch_dump_output',
    join(run.cwd, 'x.bin'),
  ]);
  assert.doesNotMatch(file.stdout, /load it:|share it:/, 'a single file is no folder to share');
});
