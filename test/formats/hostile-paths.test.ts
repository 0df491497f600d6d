/**
 * Paths that are not what the entry point expects: a directory for a file, empty files of each kind,
 * a symlink loop, a `checkpoint` naming a path that is not there, a `.index` that is a directory.
 * Each must be a Tf2TorchError naming the path (never a bare EISDIR / ELOOP).
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { readGinFile } from '../../src/config/gin.js';
import type { Tf2TorchError } from '../../src/errors.js';
import { openNpy } from '../../src/formats/npy/npy-file.js';
import { openTensorSource } from '../../src/formats/open.js';
import { openSafetensors } from '../../src/formats/safetensors/read.js';
import { openTfCheckpoint } from '../../src/formats/tf-checkpoint/index.js';
import { openTorchFile } from '../../src/formats/torch/read.js';
import { tempDir } from '../support/temp.js';

function folder(t: TestContext): string {
  const dir = tempDir(t, 'paths');
  return dir;
}

async function rejectsNaming(p: Promise<unknown>, code: string, path: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: Tf2TorchError) => {
    assert.equal(e.name, 'Tf2TorchError', String(e));
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.includes(path), `${e.message} names ${path}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('a directory where a file is expected is E_IS_A_DIRECTORY "is a folder", for every file opener', async (t) => {
  const dir = join(folder(t), 'model.bin');
  mkdirSync(dir);
  for (const open of [openTorchFile, openSafetensors, openNpy, readGinFile]) {
    await rejectsNaming(open(dir), 'E_IS_A_DIRECTORY', dir, /model\.bin is a folder; a regular file is expected here/);
  }
  await rejectsNaming(openTensorSource(dir), 'E_NOT_FOUND', dir, /not a checkpoint tf2torch can read/);
});

test('a `.index` that is a directory is E_IS_A_DIRECTORY naming it', async (t) => {
  const dir = folder(t);
  mkdirSync(join(dir, 'model.ckpt.index'));
  await rejectsNaming(openTensorSource(dir), 'E_IS_A_DIRECTORY', join(dir, 'model.ckpt.index'), /is a folder/);
  await rejectsNaming(openTensorSource(join(dir, 'model.ckpt')), 'E_NOT_FOUND', join(dir, 'model.ckpt'));
});

test('empty files of each kind: a code naming the file', async (t) => {
  const dir = folder(t);
  const empty = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, '');
    return path;
  };
  await rejectsNaming(
    openTensorSource(empty('model.ckpt.index')),
    'E_TRUNCATED',
    'model.ckpt.index',
    /too short for a table/,
  );
  await rejectsNaming(openTorchFile(empty('pytorch_model.bin')), 'E_BAD_MAGIC', 'pytorch_model.bin');
  await rejectsNaming(openTensorSource(join(dir, 'pytorch_model.bin')), 'E_UNSUPPORTED', 'pytorch_model.bin');
  await rejectsNaming(openSafetensors(empty('model.safetensors')), 'E_TRUNCATED', 'model.safetensors');
  await rejectsNaming(openNpy(empty('params_0.npy')), 'E_BAD_MAGIC', 'params_0.npy');
  await rejectsNaming(
    openTensorSource(empty('params_shapes.json')),
    'E_MALFORMED',
    'params_shapes.json',
    /not valid JSON/,
  );
  assert.equal(
    (await readGinFile(empty('operative_config.gin'))).bindings.length,
    0,
    'an empty gin file is a valid, empty config',
  );
});

test('a symlink loop is E_FILE_SYSTEM naming the link', async (t) => {
  const dir = folder(t);
  const [a, b] = [join(dir, 'a.bin'), join(dir, 'b.bin')];
  symlinkSync(b, a);
  symlinkSync(a, b);
  await rejectsNaming(openTorchFile(a), 'E_FILE_SYSTEM', a, /symbolic links \(ELOOP\)/);
  await rejectsNaming(readGinFile(a), 'E_FILE_SYSTEM', a);
  await rejectsNaming(openTensorSource(a), 'E_FILE_SYSTEM', a);
});

test('a `checkpoint` file naming a path that is not there: E_NOT_FOUND quoting it', async (t) => {
  const dir = folder(t);
  writeFileSync(
    join(dir, 'checkpoint'),
    'model_checkpoint_path: "/trained/elsewhere/model.ckpt-5"\nall_model_checkpoint_paths: "/trained/elsewhere/model.ckpt-5"\n',
  );
  await rejectsNaming(
    openTfCheckpoint(dir),
    'E_NOT_FOUND',
    dir,
    /names "\/trained\/elsewhere\/model\.ckpt-5", which is not there/,
  );
  writeFileSync(join(dir, 'checkpoint'), '');
  await rejectsNaming(openTensorSource(dir), 'E_NOT_FOUND', dir, /no \*\.index file/);
});

test('an unreadable file is E_PERMISSION naming it (skipped as root, who reads anything)', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('running as root: chmod 000 does not stop reads');
    return;
  }
  const path = join(folder(t), 'pytorch_model.bin');
  writeFileSync(path, 'PK\x03\x04', { mode: 0o000 });
  await rejectsNaming(openTorchFile(path), 'E_PERMISSION', path, /EACCES/);
});
