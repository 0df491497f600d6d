/** Per-type flags: declared by architectures, listed by `convert --help`, checked and defaulted generically. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ARCHITECTURES } from '../../src/architectures/index.js';
import { declaredOptions, resolveOptions } from '../../src/architectures/options.js';
import { ErrorCode } from '../../src/errors.js';
import type { Architecture } from '../../src/mapping/types.js';
import { runCli } from '../support/cli.js';

const declaring = {
  modelType: 'declaring',
  options: [
    { name: 'network', choices: ['first', 'second'], help: 'which one' },
    { name: 'encoder_only', help: 'a flag' },
  ],
} as unknown as Architecture;
const plain = { modelType: 'plain' } as unknown as Architecture;

test('resolveOptions: the first choice by default, a given valid value kept, flags "true" or "false"', () => {
  assert.deepEqual(resolveOptions(declaring, {}), { network: 'first', encoder_only: 'false' });
  assert.deepEqual(resolveOptions(declaring, { network: 'second', encoder_only: 'true' }), {
    network: 'second',
    encoder_only: 'true',
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
