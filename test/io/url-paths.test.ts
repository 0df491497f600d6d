import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../src/errors.js';
import { checkUrl, httpUrlOf, isUrl, redactUrl, urlPaths } from '../../src/io/url-paths.js';

const paths = urlPaths(path);

test('URL paths split, join and resolve after their origin; local paths go to the fallback', () => {
  const prefix = 'gs://bert_models/2018_10_18/uncased_L-12_H-768_A-12/bert_model.ckpt';
  assert.equal(paths.dirname(prefix), 'gs://bert_models/2018_10_18/uncased_L-12_H-768_A-12');
  assert.equal(paths.basename(prefix), 'bert_model.ckpt');
  assert.equal(paths.extname(`${prefix}.index`), '.index');
  assert.equal(paths.join('https://h.example/a/', 'b', '../c'), 'https://h.example/a/c');
  assert.equal(paths.resolve('https://h.example/run/'), 'https://h.example/run');
  assert.equal(paths.resolve('https://h.example/run', 'model.ckpt'), 'https://h.example/run/model.ckpt');
  assert.equal(paths.dirname('https://h.example/x'), 'https://h.example/');
  assert.ok(paths.isAbsolute('https://h.example/x') && !isUrl('/x'));
  assert.equal(paths.join('a', 'b'), path.join('a', 'b'));
  assert.equal(paths.resolve('rel'), path.resolve('rel'));
});

test('gs:// URLs are fetched from the public endpoint (or the given base), names percent-encoded', () => {
  assert.equal(httpUrlOf('gs://b/dir/model.ckpt.index'), 'https://storage.googleapis.com/b/dir/model.ckpt.index');
  assert.equal(httpUrlOf('gs://b/a b/c', 'http://127.0.0.1:9/'), 'http://127.0.0.1:9/b/a%20b/c');
  assert.equal(httpUrlOf('https://h.example/x'), 'https://h.example/x');
});

test('credentials never reach a message; URLs that cannot name a checkpoint are usage errors', () => {
  assert.equal(redactUrl('https://me:secret@h.example/x'), 'https://***@h.example/x');
  const refuse = (url: string, why: RegExp) =>
    assert.throws(
      () => checkUrl(url, '--tf_checkpoint'),
      (e: unknown) =>
        e instanceof Tf2TorchError &&
        e.code === ErrorCode.USAGE &&
        why.test(e.message) &&
        !e.message.includes('secret'),
    );
  refuse('https://me:secret@h.example/x', /credentials in a URL.*TF2TORCH_HTTP_AUTHORIZATION/);
  refuse('https://h.example/x?sig=secret', /query or fragment/);
  refuse('gs:///x', /no host or bucket/);
  assert.doesNotThrow(() => checkUrl('gs://bucket/x', '--tf_checkpoint'));
});
