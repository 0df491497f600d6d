/** Per-type flags: declared by architectures, checked and defaulted generically. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveOptions } from '../../src/architectures/options.js';
import { ErrorCode } from '../../src/errors.js';
import type { Architecture } from '../../src/mapping/types.js';

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
