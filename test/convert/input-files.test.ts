/**
 * The files a conversion reads, as `checkpointFiles` lists them for each kind of checkpoint path, and
 * `InputFiles.find` recognising them under any spelling (trailing '/', '..', symlink, hard link).
 */
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkpointFiles, InputFiles } from '../../src/convert/output/input-files.js';
import { tempDir } from '../support/temp.js';

test('checkpointFiles: a TF prefix, a V1 file, a release folder, a sharded index; others beside them are not inputs', (t) => {
  const dir = tempDir(t, 'inputs');
  const names = [
    'model.ckpt-100.index',
    'model.ckpt-100.data-00000-of-00002',
    'model.ckpt-100.data-00001-of-00002',
    'model.ckpt-100.meta',
    'checkpoint',
    'model.ckpt-200.index',
    'pytorch_model.bin',
    'notes.txt',
  ];
  for (const n of names) writeFileSync(join(dir, n), n);
  const prefix = join(dir, 'model.ckpt-100');
  assert.deepEqual(
    checkpointFiles(prefix)
      .map((p) => p.slice(dir.length + 1))
      .sort(),
    [
      'checkpoint',
      'model.ckpt-100',
      'model.ckpt-100.data-00000-of-00002',
      'model.ckpt-100.data-00001-of-00002',
      'model.ckpt-100.index',
      'model.ckpt-100.meta',
    ],
  );
  const release = join(dir, 'release');
  mkdirSync(release);
  for (const n of ['params_shapes.json', 'params_0.npy', 'encoder_bpe_40000.json']) writeFileSync(join(release, n), n);
  assert.deepEqual(
    checkpointFiles(release)
      .map((p) => p.slice(release.length + 1))
      .sort(),
    ['encoder_bpe_40000.json', 'params_0.npy', 'params_shapes.json'],
  );
  const hf = join(dir, 'hf');
  mkdirSync(hf);
  for (const n of [
    'model.safetensors.index.json',
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
    'vocab.txt',
  ])
    writeFileSync(join(hf, n), n);
  assert.deepEqual(
    checkpointFiles(join(hf, 'model.safetensors.index.json'))
      .map((p) => p.slice(hf.length + 1))
      .sort(),
    ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json'],
  );
});

test('InputFiles.find: the same file under another spelling is found; another file with equal bytes is not', (t) => {
  const dir = tempDir(t, 'inputs');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'vocab.txt'), 'words');
  writeFileSync(join(dir, 'copy.txt'), 'words');
  symlinkSync(join(dir, 'vocab.txt'), join(dir, 'sub/link.txt'));
  linkSync(join(dir, 'vocab.txt'), join(dir, 'sub/hard.txt'));
  const inputs = new InputFiles().add(join(dir, 'vocab.txt'), join(dir, 'absent.json'), dir);
  for (const spelling of ['sub/../vocab.txt', 'vocab.txt/', 'sub/link.txt', 'sub/hard.txt'])
    assert.equal(inputs.find(join(dir, spelling)), join(dir, 'vocab.txt'), spelling);
  assert.equal(inputs.find(join(dir, 'copy.txt')), undefined);
  assert.equal(inputs.find(join(dir, 'absent.json')), undefined);
  assert.equal(inputs.find(dir), undefined, 'folders are not inputs: only files are replaced');
  assert.deepEqual(inputs.paths, [join(dir, 'vocab.txt')]);
});
