/**
 * Data shards are opened once however many reads start at the same time, and close() releases every
 * file descriptor: a second handle opened by a concurrent first read used to be dropped unclosed
 * (Node then warns "Closing file descriptor … on garbage collection").
 */
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTfCheckpoint } from '../../../src/formats/tf-checkpoint/index.js';
import { realFixture } from '../../support/fixtures.js';

/** This process's open descriptors on files under `dir` (Linux /proc, which shows paths with links resolved). */
function descriptorsUnder(dir: string): number {
  const real = realpathSync(dir);
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(real);
    } catch {
      return false; // closed meanwhile (the listing's own descriptor)
    }
  }).length;
}

test('concurrent first reads of one shard share one handle, and close() releases it', async (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  if (!dir) return;
  const ckpt = await openTfCheckpoint(join(dir, 'bert_model.ckpt'));
  const values = await Promise.all(ckpt.tensors.map((tensor) => tensor.read()));
  assert.equal(values.length, 139);
  assert.equal(descriptorsUnder(dir), 1, 'one descriptor for the one data shard');
  await ckpt.close();
  assert.equal(descriptorsUnder(dir), 0, 'close() released every descriptor');
});
