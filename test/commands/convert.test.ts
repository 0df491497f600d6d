/**
 * `tf2torch convert` as a user meets it, on the real bert-tiny-keras-bert checkpoint: outputs in
 * folders that do not exist yet, outputs that would replace the checkpoint, --config given a folder,
 * flags the model type ignores, --dry-run beside an existing output, paths in the summary, exit codes.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ARCHITECTURES } from '../../src/architectures/index.js';
import { optionsFromArgv } from '../../src/commands/convert.js';
import { planConversion } from '../../src/convert/index.js';
import { displayPath } from '../../src/convert/output/output-target.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { tempDir } from '../support/temp.js';

function setup(t: TestContext) {
  const fixture = realFixture(t, 'bert-tiny-keras-bert');
  if (!fixture) return undefined;
  const cwd = tempDir(t, 'cli');
  const ckpt = join(fixture, 'bert_model.ckpt');
  const run = (...args: string[]) => runCli(['convert', '--model_type', 'bert', ...args], { cwd });
  return { fixture, cwd, ckpt, run };
}

test('an output file in folders that do not exist yet: created, and the summary says where each file went', (t) => {
  const s = setup(t);
  if (!s) return;
  const r = s.run('--tf_checkpoint', s.ckpt, '--pytorch_dump_output', 'new/deeper/pytorch_model.bin');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(s.cwd, 'new/deeper/pytorch_model.bin')));
  assert.match(r.stdout, /→ new\/deeper\/pytorch_model\.bin\n/);
  assert.match(r.stdout, /^ {2}wrote new\/deeper\/pytorch_model\.bin$/m);
  assert.match(r.stdout, /^ {2}wrote new\/deeper\/config\.json$/m);
  assert.doesNotMatch(r.stderr, /internal error|garbage collection/);
});

test('a folder output onto the checkpoint folder (or a parent of it) is refused even with --force; a file inside it is fine', (t) => {
  const s = setup(t);
  if (!s) return;
  cpSync(s.fixture, join(s.cwd, 'ck'), { recursive: true });
  const before = readdirSync(join(s.cwd, 'ck')).sort();
  for (const out of ['ck/', 'ck', '.']) {
    const r = s.run('--tf_checkpoint', 'ck/bert_model.ckpt', '--pytorch_dump_output', out, '--force');
    assert.equal(r.code, 1, `${out}: ${r.stderr}`);
    assert.match(r.stderr, /error\[E_OUTPUT_EXISTS\]: --pytorch_dump_output \S+ holds the checkpoint being converted/);
    assert.deepEqual(readdirSync(join(s.cwd, 'ck')).sort(), before, `${out}: the checkpoint folder is untouched`);
  }
  const folderTyped = s.run('--tf_checkpoint', 'ck', '--pytorch_dump_output', 'ck/', '--force');
  assert.equal(folderTyped.code, 1);
  const inside = s.run('--tf_checkpoint', 'ck/bert_model.ckpt', '--pytorch_dump_output', 'ck/pytorch_model.bin');
  assert.equal(inside.code, 0, inside.stderr);
  assert.ok(existsSync(join(s.cwd, 'ck/bert_model.ckpt.index')));
  assert.ok(existsSync(join(s.cwd, 'ck/pytorch_model.bin')));
});

test('--config given a folder: a usage error naming the file to give', (t) => {
  const s = setup(t);
  if (!s) return;
  const r = s.run('--tf_checkpoint', s.ckpt, '--config', s.fixture, '--pytorch_dump_output', 'out/');
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /error\[E_USAGE\]: --config \S+ is a folder: give the file itself, e.g\. --config \S+\/bert_config\.json/,
  );
  assert.equal(existsSync(join(s.cwd, 'out')), false);
});

test('a config found beside the checkpoint and an ignored --finetuning_task_name are told as notes', (t) => {
  const s = setup(t);
  if (!s) return;
  const r = s.run('--tf_checkpoint', s.ckpt, '--finetuning_task_name', 'mrpc', '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^note: config: \S+\/bert_config\.json \(found beside the checkpoint/m);
  assert.match(
    r.stderr,
    /^note: --finetuning_task_name mrpc is ignored: the checkpoint has no fine-tuned head, so it converts as BertForPreTraining/m,
  );
  const given = s.run('--tf_checkpoint', s.ckpt, '--config', join(s.fixture, 'bert_config.json'), '--dry-run');
  assert.doesNotMatch(given.stderr, /note: config:|finetuning/);
});

test('--dry-run beside an existing output: the plan, plus a note that a real run would stop; nothing written', (t) => {
  const s = setup(t);
  if (!s) return;
  mkdirSync(join(s.cwd, 'out'));
  writeFileSync(join(s.cwd, 'out/keep.txt'), 'mine');
  const r = s.run('--tf_checkpoint', s.ckpt, '--pytorch_dump_output', 'out/', '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^model_type: bert \(BertForPreTraining\)$/m);
  assert.match(r.stderr, /^note: a real run would stop: out\/ already exists \(use --force to overwrite it\)$/m);
  assert.deepEqual(readdirSync(join(s.cwd, 'out')), ['keep.txt']);
  const badKind = s.run('--tf_checkpoint', s.ckpt, '--pytorch_dump_output', 'model.txt', '--dry-run');
  assert.equal(badKind.code, 2, 'an output path of no known kind is a usage error in a dry run too');
});

test('usage mistakes exit 2 with a hint: --format both for one file, a shard size that is not one', (t) => {
  const s = setup(t);
  if (!s) return;
  const both = s.run('--tf_checkpoint', s.ckpt, '--pytorch_dump_output', 'x.bin', '--format', 'both');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--format both does not fit x\.bin .*end the path with '\/'/);
  const shard = s.run('--tf_checkpoint', s.ckpt, '--pytorch_dump_output', 'o/', '--max-shard-size', 'lots');
  assert.equal(shard.code, 2);
  assert.match(shard.stderr, /invalid shard size 'lots'.*e\.g\. 5GB/);
  assert.deepEqual(readdirSync(s.cwd), [], 'nothing written');
});

test('a checkpoint path that does not exist is said so, not "not a checkpoint"', () => {
  for (const command of [
    ['inspect', 'nowhere/model.ckpt'],
    ['convert', '--model_type', 'bert', '--tf_checkpoint', 'nowhere/model.ckpt', '--dry-run'],
  ]) {
    const r = runCli(command);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error\[E_NOT_FOUND\]: nowhere\/model\.ckpt: no such file or folder \(nor model\.ckpt\.index beside it\)$/m,
    );
  }
});

test('exit codes are documented in --help; no command at all is a usage error on stderr', () => {
  for (const args of [['--help'], ['convert', '--help']]) {
    const r = runCli(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit status: 0 done, 1 bad input .* 2 usage mistake, 130 interrupted/s, args.join(' '));
  }
  const none = runCli([]);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /Usage: tf2torch <command>/);
});

test('convert --help teaches every model type: what it reads and what it makes', () => {
  const help = runCli(['convert', '--help']).stdout;
  for (const a of ARCHITECTURES) assert.ok(help.includes(`  ${a.modelType}`) && help.includes(a.summary), a.modelType);
});

test("convert --help names, on each type's line, every class its detection declares (base class and heads)", () => {
  const lines = runCli(['convert', '--help']).stdout.split('\n');
  for (const a of ARCHITECTURES) {
    // a type's readers each have a line: the first names the type, the others follow it
    const line = lines.find((l) => l.startsWith('  ') && l.endsWith(`  ${a.summary}`));
    assert.ok(line, a.modelType);
    const classes = [a.detect?.baseClass, ...(a.detect?.heads ?? []).map((h) => h.modelClass)];
    for (const c of classes) if (c !== undefined) assert.ok(line.includes(c), `${a.modelType}: ${c} not in "${line}"`);
  }
});

test('displayPath: relative under the working directory, absolute elsewhere', () => {
  assert.equal(displayPath('/work/x/out/config.json', '/work/x'), 'out/config.json');
  assert.equal(displayPath('out/', '/work/x'), 'out');
  assert.equal(displayPath('/work/x', '/work/x'), '.');
  assert.equal(displayPath('../y/model.ckpt', '/work/x'), '/work/y/model.ckpt');
  assert.equal(displayPath('/data/bert/bert_model.ckpt', '/work/x'), '/data/bert/bert_model.ckpt');
});

test('xlnet: a --finetuning_task_name that selects no head is told, and the LM head is kept as transformers does', async (t) => {
  const dir = realFixture(t, 'xlnet-tiny-untied-lmhead');
  if (!dir) return;
  const { plan, notes } = await planConversion({
    modelType: 'xlnet',
    checkpoint: join(dir, 'xlnet_model.ckpt'),
    modelOptions: { finetuning_task_name: 'imdb' },
  });
  assert.equal(plan.modelClass, 'XLNetLMHeadModel');
  assert.ok(
    notes.some((n) => /^--finetuning_task_name imdb is neither a GLUE task \(cola, .*\) nor contains 'squad'/.test(n)),
    notes.join('\n'),
  );
  const glue = await planConversion({
    modelType: 'xlnet',
    checkpoint: join(dir, 'xlnet_model.ckpt'),
    modelOptions: { finetuning_task_name: 'sts-b' },
  });
  assert.ok(!glue.notes.some((n) => n.includes('finetuning_task_name')));
});

test('one flag in two spellings (or twice) with different values is a usage error naming both; equal values are fine', () => {
  const conflict = runCli([
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    'x/bert_model.ckpt',
    '--model-type',
    'gpt2',
    '--dry-run',
  ]);
  assert.equal(conflict.code, 2, conflict.stderr);
  assert.match(
    conflict.stderr,
    /^error\[E_USAGE\]: conflicting values: --model_type bert and --model-type gpt2; give --model_type once/m,
  );
  const twice = runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', 'a', '--tf_checkpoint=b', '--dry-run']);
  assert.equal(twice.code, 2, twice.stderr);
  assert.match(twice.stderr, /conflicting values: --tf_checkpoint a and --tf_checkpoint b/);
  const options = optionsFromArgv([
    '--model_type',
    'bert',
    '--model-type',
    'bert',
    '--tf_checkpoint',
    'x',
    '--dry-run',
    '--dry_run',
  ]);
  assert.equal(options.modelType, 'bert');
  assert.equal(options.dryRun, true);
});

test('absurd config numbers (1e9 layers, negative, fractional, text, huge) are E_CONFIG naming the file and field, before any plan', (t) => {
  const s = setup(t);
  if (!s) return;
  const base = JSON.parse(readFileSync(join(s.fixture, 'bert_config.json'), 'utf8')) as Record<string, unknown>;
  const cases: [string, unknown, string][] = [
    ['num_hidden_layers', 1e9, '1000000000'],
    ['num_hidden_layers', -1, '-1'],
    ['num_attention_heads', 2.5, '2.5'],
    ['vocab_size', '30522', '"30522"'],
    ['hidden_size', 1e12, '1000000000000'],
    ['intermediate_size', true, 'true'],
  ];
  for (const [field, value, shown] of cases) {
    writeFileSync(join(s.cwd, 'bad_config.json'), JSON.stringify({ ...base, [field]: value }));
    const r = runCli(
      ['convert', '--model_type', 'bert', '--tf_checkpoint', s.ckpt, '--config', 'bad_config.json', '--dry-run'],
      { cwd: s.cwd, nodeArgs: ['--max-old-space-size=256'] },
    );
    assert.equal(r.code, 1, `${field}=${shown}: exit ${r.code}\n${r.stderr.slice(0, 1000)}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^error\\[E_CONFIG\\]: bad_config\\.json: '${field}' is ${shown.replace(/[.]/g, '\\.')}: a whole number`,
        'm',
      ),
    );
  }
});
