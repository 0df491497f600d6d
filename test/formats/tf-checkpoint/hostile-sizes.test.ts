/**
 * Sizes read from a TensorFlow file that used to size an allocation before they were checked (found by
 * test/formats/fuzz.test.ts). The allocation guard turns any such allocation into a test failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBlock } from '../../../src/formats/tf-checkpoint/sstable.js';
import { installAllocationGuard } from '../../support/allocation-guard.js';

const GUARD_BYTES = 1024 * 1024;

function guarded<T>(fn: () => T): T {
  const guard = installAllocationGuard(GUARD_BYTES);
  try {
    return fn();
  } finally {
    guard.restore();
  }
}

/** One table block: the given entry bytes, then one restart at 0 and the restart count. */
function block(entryBytes: number[]): Uint8Array {
  return Uint8Array.from([...entryBytes, 0, 0, 0, 0, 1, 0, 0, 0]);
}

test('a table entry whose key length exceeds its block is E_TRUNCATED, without allocating the key', () => {
  // shared 0, non_shared 2^32 - 1, value_len 0, then 3 bytes of key
  const bytes = block([0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61, 0x62, 0x63]);
  assert.throws(() => guarded(() => parseBlock(bytes, 'x.index: data block at offset 0', 'x.index')), {
    name: 'Tf2TorchError',
    code: 'E_TRUNCATED',
    message: /^x\.index: data block at offset 0: key needs 4294967295 bytes at offset 7/,
  });
});
