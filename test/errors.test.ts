import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, isTf2TorchError, Tf2TorchError } from '../src/errors.js';

test('Tf2TorchError carries a stable code and its context', () => {
  const e = new Tf2TorchError(ErrorCode.TRUNCATED, 'x.index: too short', { file: 'x.index', offset: 12 });
  assert.ok(isTf2TorchError(e));
  assert.equal(e.code, 'E_TRUNCATED');
  assert.equal(e.file, 'x.index');
  assert.equal(e.offset, 12);
  assert.ok(!isTf2TorchError(new Error('plain')));
});
