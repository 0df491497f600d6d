import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../src/errors.js';
import { parseJson, parseJsonObject } from '../../src/io/json.js';

const refusal = (code: string, message: RegExp, file: string) => (e: unknown) =>
  e instanceof Tf2TorchError && e.code === code && message.test(e.message) && e.file === file;

test('parseJson: a syntax error names the file (and the part) under the code asked for', () => {
  assert.deepEqual(parseJson('[1, 2]', 'a.json', ErrorCode.MALFORMED), [1, 2]);
  assert.throws(
    () => parseJson('{"a": ', 'dir/config.json', ErrorCode.CONFIG),
    refusal('E_CONFIG', /^dir\/config\.json: not valid JSON \(.+\)$/, 'dir/config.json'),
  );
  assert.throws(
    () => parseJson('{x}', 'm.safetensors', ErrorCode.MALFORMED, 'safetensors header'),
    refusal('E_MALFORMED', /^m\.safetensors: safetensors header: not valid JSON/, 'm.safetensors'),
  );
});

test('parseJsonObject: only an object passes; arrays, null and scalars are refused by file', () => {
  assert.deepEqual(parseJsonObject('{"n_embd": 768}', 'hparams.json', ErrorCode.CONFIG), { n_embd: 768 });
  for (const text of ['[]', 'null', '"text"', '3'])
    assert.throws(
      () => parseJsonObject(text, 'hparams.json', ErrorCode.CONFIG),
      refusal('E_CONFIG', /^hparams\.json: expected a JSON object$/, 'hparams.json'),
      text,
    );
});
