import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../src/errors.js';
import { MAX_JSON_DEPTH, parseJson, parseJsonObject } from '../../src/io/json.js';
import { PyFloat } from '../../src/io/py-float.js';
import { MAX_INT_DIGITS } from '../../src/io/py-int.js';
import { pythonJsonDumps } from '../../src/io/python-json.js';

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
  assert.deepEqual({ ...parseJsonObject('{"n_embd": 768}', 'hparams.json', ErrorCode.CONFIG) }, { n_embd: 768 });
  for (const text of ['[]', 'null', '"text"', '3'])
    assert.throws(
      () => parseJsonObject(text, 'hparams.json', ErrorCode.CONFIG),
      refusal('E_CONFIG', /^hparams\.json: expected a JSON object$/, 'hparams.json'),
      text,
    );
});

test('objects have no prototype: __proto__, constructor and toString are ordinary keys, nothing else is found', () => {
  const text = '{"__proto__": {"a": 1}, "constructor": "c", "toString": 2, "x": 1, "x": 3}';
  const config = parseJsonObject(text, 'config.json', ErrorCode.CONFIG);
  assert.equal(Object.getPrototypeOf(config), null);
  assert.deepEqual(Object.keys(config), ['__proto__', 'constructor', 'toString', 'x']);
  const inner = Object.entries(config)[0]?.[1] as object;
  assert.equal(Object.getPrototypeOf(inner), null);
  assert.deepEqual({ ...inner }, { a: 1 });
  assert.equal(config.x, 3, 'a repeated key: last value wins, first place kept');
  assert.equal(config.hasOwnProperty, undefined);
  assert.equal(
    pythonJsonDumps(config),
    '{\n  "__proto__": {\n    "a": 1\n  },\n  "constructor": "c",\n  "toString": 2,\n  "x": 3\n}',
  );
});

test("numbers as Python's json reads them: exact big ints, NaN and Infinity, whole floats stay floats", () => {
  const text =
    '[123456789012345678901234567890, -9007199254740993, 9007199254740991, -0, 1.0, 1e400, -0.0, NaN, Infinity, -Infinity, 0.1, 2e-5]';
  const values = parseJson(text, 'config.json', ErrorCode.CONFIG) as unknown[];
  assert.equal(values[0], 123456789012345678901234567890n);
  assert.equal(values[1], -9007199254740993n);
  assert.equal(values[2], 9007199254740991);
  assert.ok(values[4] instanceof PyFloat);
  // json.dumps(json.loads(text)) in Python 3.12
  assert.equal(
    pythonJsonDumps(values, null),
    '[123456789012345678901234567890, -9007199254740993, 9007199254740991, 0, 1.0, Infinity, -0.0, NaN, Infinity, -Infinity, 0.1, 2e-05]',
  );
});

test("ints beyond Python's 4,300 digits and nesting beyond MAX_JSON_DEPTH are refused, naming the file", () => {
  const digits = '7'.repeat(MAX_INT_DIGITS);
  assert.equal(parseJson(digits, 'c.json', ErrorCode.CONFIG), BigInt(digits));
  assert.throws(
    () => parseJson(`{"n": -${digits}1}`, 'dir/c.json', ErrorCode.CONFIG),
    refusal(
      'E_CONFIG',
      /^dir\/c\.json: not valid JSON \(an integer of 4301 digits exceeds Python's limit of 4300 digits: line 1 column 7 \(char 6\)\)$/,
      'dir/c.json',
    ),
  );
  const nested = (n: number) => `${'{"a": ['.repeat(n / 2)}${']}'.repeat(n / 2)}`;
  assert.ok(parseJson(nested(MAX_JSON_DEPTH), 'c.json', ErrorCode.CONFIG));
  assert.throws(
    () => parseJson(nested(MAX_JSON_DEPTH + 2), 'bert_config.json', ErrorCode.CONFIG),
    refusal(
      'E_CONFIG',
      /^bert_config\.json: not valid JSON \(nested deeper than 1000 levels \(MAX_JSON_DEPTH\)/,
      'bert_config.json',
    ),
  );
  assert.throws(
    () => parseJson('['.repeat(1_000_000), 'm.safetensors', ErrorCode.MALFORMED, 'safetensors header'),
    refusal('E_MALFORMED', /^m\.safetensors: safetensors header: not valid JSON \(nested deeper/, 'm.safetensors'),
  );
});

test("what Python's json refuses is refused: BOM, control characters, single quotes, trailing commas, bad escapes", () => {
  for (const text of [
    '\ufeff{}',
    '{"a": "x\ny"}',
    "{'a': 1}",
    '{"a": 1,}',
    '[1,]',
    '{"a": "\\x"}',
    '01',
    '1.',
    '.5',
    '+1',
    'nan',
    '{} {}',
    '',
  ]) {
    assert.throws(
      () => parseJson(text, 'c.json', ErrorCode.CONFIG),
      refusal('E_CONFIG', /^c\.json: not valid JSON/, 'c.json'),
      JSON.stringify(text),
    );
  }
  assert.equal(parseJson(' "\\ud83d\\ude00 \\u00e9\\/" ', 'c.json', ErrorCode.CONFIG), '\u{1f600} \u00e9/');
});
