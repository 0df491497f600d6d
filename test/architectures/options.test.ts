/** Per-type flags: declared by architectures, listed by `convert --help`, checked and defaulted generically. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ARCHITECTURES, MODEL_TYPES } from '../../src/architectures/index.js';
import { declaredOptions, resolveOptions } from '../../src/architectures/options.js';
import { optionsFromArgv } from '../../src/commands/convert.js';
import { ErrorCode } from '../../src/errors.js';
import type { Architecture } from '../../src/mapping/types.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';

const declaring = {
  modelType: 'declaring',
  options: [
    { name: 'network', choices: ['first', 'second'], help: 'which one' },
    { name: 'encoder_only', help: 'a flag' },
    { name: 'task_name', value: 'NAME', help: 'a free value' },
  ],
} as unknown as Architecture;
const plain = { modelType: 'plain' } as unknown as Architecture;

test('resolveOptions: the first choice by default, a given valid value kept, flags "true" or "false", a free value only when given', () => {
  assert.deepEqual(resolveOptions(declaring, {}), { network: 'first', encoder_only: 'false' });
  assert.deepEqual(resolveOptions(declaring, { network: 'second', encoder_only: 'true', task_name: 'MRPC' }), {
    network: 'second',
    encoder_only: 'true',
    task_name: 'MRPC',
  });
  assert.deepEqual(resolveOptions(plain, {}), {});
});

test('resolveOptions: a value outside the choices, or a flag the type does not declare, is a usage error naming it', () => {
  assert.throws(
    () => resolveOptions(declaring, { network: 'Second' }),
    (e: { code?: string; message?: string }) =>
      e.code === ErrorCode.USAGE && /--network Second: expected one of first, second/.test(e.message ?? ''),
  );
  assert.throws(
    () => resolveOptions(plain, { network: 'first' }),
    (e: { code?: string; message?: string }) =>
      e.code === ErrorCode.USAGE && /--network is not an option of --model_type plain/.test(e.message ?? ''),
  );
  assert.throws(
    () => resolveOptions(plain, { task_name: 'x' }, [plain, declaring]),
    (e: { code?: string; message?: string }) =>
      e.code === ErrorCode.USAGE &&
      e.message === '--task_name is not an option of --model_type plain; only declaring takes it',
  );
});

test('convert --help lists every declared option under its model type, with its choices', () => {
  const help = runCli(['convert', '--help']).stdout;
  const declared = declaredOptions(ARCHITECTURES);
  assert.ok(declared.length > 0, 'electra and funnel declare options');
  for (const { option, types } of declared) {
    const line = help.split('\n').find((l) => l.includes(`--${option.name}`) && !l.includes('--model_type'));
    assert.ok(line, `--${option.name} (${types.join(', ')}) missing from convert --help`);
    for (const c of option.choices ?? []) assert.ok(line.includes(c), `${option.name}: choice ${c}`);
  }
});

/** The types transformers' converters give the task name to, or whose heads it must agree with. */
const TAKE_THE_TASK = ['bert', 'albert', 'xlnet'];

/** `convert --help`'s "Model types" section: each type's lines (its summary, then its flags). */
function helpByType(help: string): Map<string, string[]> {
  const section = help.slice(help.indexOf('\nModel types'));
  const byType = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of section.split('\n').slice(2)) {
    if (line.trim() === '') break;
    const type = /^ {2}(\S+) /.exec(line)?.[1];
    if (type !== undefined) {
      current = [];
      byType.set(type, current);
    }
    current?.push(line);
  }
  return byType;
}

test('convert --help shows --finetuning_task_name NAME under bert, albert and xlnet, and under no other type', () => {
  const byType = helpByType(runCli(['convert', '--help']).stdout);
  assert.deepEqual([...byType.keys()], MODEL_TYPES);
  for (const [type, lines] of byType) {
    const shown = lines.some((l) => /^ +--finetuning_task_name NAME: \S/.test(l));
    assert.equal(shown, TAKE_THE_TASK.includes(type), `${type}: ${lines.join('\n')}`);
  }
  assert.deepEqual(
    declaredOptions(ARCHITECTURES).find((d) => d.option.name === 'finetuning_task_name')?.types,
    TAKE_THE_TASK,
  );
});

test('--finetuning_task_name is refused (usage error, exit 2) by a type that does not take it, in either spelling', () => {
  for (const flag of ['--finetuning_task_name', '--finetuning-task-name']) {
    const r = runCli(['convert', '--model_type', 'gpt2', '--tf_checkpoint', 'x/model.ckpt', flag, 'mrpc', '--dry-run']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error\[E_USAGE\]: --finetuning_task_name is not an option of --model_type gpt2; only bert, albert, xlnet take it$/m,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('--finetuning_task_name on a checkpoint recognised as a type that does not take it is refused too', (t) => {
  const dir = realFixture(t, 'gpt2-117M-indexonly');
  if (!dir) return;
  const r = runCli([
    'convert',
    '--tf_checkpoint',
    join(dir, 'model.ckpt'),
    '--finetuning_task_name',
    'mrpc',
    '--dry-run',
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--finetuning_task_name is not an option of --model_type gpt2; only bert, albert, xlnet/);
});

test('--finetuning_task_name as transformers-cli spells it, or kebab-case; two different values are a usage error', () => {
  for (const flag of ['--finetuning_task_name', '--finetuning-task-name']) {
    const options = optionsFromArgv(['--model_type', 'bert', '--tf_checkpoint', 'x', flag, 'MRPC', '--dry-run']);
    assert.deepEqual(options.modelOptions, { finetuning_task_name: 'MRPC' });
  }
  const r = runCli([
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    'x/bert_model.ckpt',
    '--finetuning_task_name',
    'mrpc',
    '--finetuning-task-name',
    'sts-b',
    '--dry-run',
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /conflicting values: --finetuning_task_name mrpc and --finetuning-task-name sts-b; give --finetuning_task_name once/,
  );
});
