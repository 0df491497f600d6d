/**
 * The output target, decided once from `--pytorch_dump_output`: kind, folder, file name and the
 * checkpoint paths it must never touch; `checkTarget` refuses what an output may never be.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { checkTarget, outputTarget, withInputs } from '../../src/convert/output/output-target.js';
import { isTf2TorchError } from '../../src/errors.js';
import { tempDir } from '../support/temp.js';

const refusal = (code: string, pattern: RegExp) => (error: unknown) =>
  isTf2TorchError(error) && error.code === code && pattern.test(error.message);

test('the kind, folder and file name come from the path once; trailing separators only mark a folder', (t) => {
  const dir = tempDir(t, 'target');
  const ckpt = join(dir, 'ck', 'model.ckpt');
  const folder = outputTarget(`${join(dir, 'hf')}//`, ckpt);
  assert.equal(folder.kind, 'folder');
  assert.equal(folder.folder, join(dir, 'hf'));
  assert.equal(folder.bare, join(dir, 'hf'));
  const file = outputTarget(join(dir, 'out', 'pytorch_model.bin'), ckpt);
  assert.equal(file.kind, 'torch-file');
  assert.equal(file.folder, resolve(dir, 'out'));
  assert.equal(file.fileName, 'pytorch_model.bin');
  assert.equal(outputTarget(join(dir, 'm.safetensors'), ckpt).kind, 'safetensors-file');
  // An absent checkpoint path as typed: the path and its folder are what the output must never be.
  assert.deepEqual(file.inputs, [ckpt, join(dir, 'ck')]);
  assert.throws(() => outputTarget(join(dir, 'm.bin'), ckpt, 'safetensors'), refusal('E_USAGE', /does not fit/));
});

test('checkTarget: never the checkpoint, never a file as a folder, an existing output only with --force', (t) => {
  const dir = tempDir(t, 'target');
  mkdirSync(join(dir, 'ck'));
  const ckpt = join(dir, 'ck', 'model.ckpt');
  writeFileSync(join(dir, 'taken.bin'), 'x');
  assert.throws(
    () => checkTarget(outputTarget(`${join(dir, 'ck')}/`, ckpt), true),
    refusal('E_OUTPUT_EXISTS', /holds the checkpoint/),
  );
  assert.throws(
    () => checkTarget(outputTarget(`${join(dir, 'taken.bin')}/`, ckpt), true),
    refusal('E_OUTPUT_EXISTS', /is a file/),
  );
  assert.throws(
    () => checkTarget(outputTarget(join(dir, 'taken.bin'), ckpt), false),
    refusal('E_OUTPUT_EXISTS', /--force/),
  );
  checkTarget(outputTarget(join(dir, 'taken.bin'), ckpt), true);
  // What opening resolved counts too: a folder output over the checkpoint's real folder.
  const elsewhere = outputTarget(`${join(dir, 'real')}/`, ckpt);
  checkTarget(elsewhere, false);
  assert.throws(
    () => checkTarget(withInputs(elsewhere, [join(dir, 'real', 'model.ckpt')]), false),
    refusal('E_OUTPUT_EXISTS', /holds the checkpoint/),
  );
});
