/** pythonJsonDumps against the real Python json.dumps(indent=2): float spelling, keys, escaping, order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PyFloat } from '../../src/io/py-float.js';
import { NotJsonError, pythonFloatRepr, pythonJsonDumps } from '../../src/io/python-json.js';
import { numpyPython, runPython } from '../support/python.js';

const FLOATS = [
  0.1,
  1e-5,
  1.5e-7,
  0.0001,
  123456.789,
  1e16,
  2.5e16,
  1e22,
  -3.25e-9,
  1 / 3,
  Number.MAX_VALUE,
  5e-324,
  0,
  -0,
  1,
  -2,
  100,
  1e15,
  2 ** 53,
  9999999999999998,
];

test('float repr as Python spells it', (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const expected = runPython(
    python,
    `import sys; print('\\n'.join(repr(float(x)) for x in sys.argv[1:]))`,
    FLOATS.map((x) => (Object.is(x, -0) ? '-0' : String(x))),
  )
    .trim()
    .split('\n');
  assert.deepEqual(FLOATS.map(pythonFloatRepr), expected);
  assert.deepEqual(expected.slice(12, 16), ['0.0', '-0.0', '1.0', '-2.0']);
  assert.deepEqual([NaN, Infinity, -Infinity].map(pythonFloatRepr), ['NaN', 'Infinity', '-Infinity']);
});

test('json.dumps(indent=2): insertion order, int/bool/None keys, ensure_ascii, nesting', (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const value = new Map<unknown, unknown>([
    ['z', 1],
    ['a', [0.25, 'x\u00e9\u{1F600}"\\\n\u007f', null, true, []]],
    [
      2,
      new Map<unknown, unknown>([
        [0, 'en'],
        [true, {}],
      ]),
    ],
    ['lr', 1e-5],
    ['n', 12345678901234567890n],
  ]);
  const script = `import json; print(json.dumps({'z': 1, 'a': [0.25, 'x\\u00e9\\U0001F600"\\\\\\n\\x7f', None, True, []], 2: {0: 'en', True: {}}, 'lr': 1e-05, 'n': 12345678901234567890}, indent=2), end='')`;
  assert.equal(pythonJsonDumps(value), runPython(python, script));
  assert.throws(
    () => pythonJsonDumps(new Map([['s', new Set([1])]])),
    (e) => e instanceof NotJsonError && e.path === '$.s',
  );
});

test('json.dumps(indent=2): PyFloat prints as a float whatever its value, plain integral numbers as ints', (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const f = (x: number) => new PyFloat(x);
  const value = new Map<unknown, unknown>([
    ['dropout', f(0)],
    ['lambda_mlm', f(1)],
    ['neg', f(-0)],
    ['big', f(1e16)],
    ['n', 3],
    ['m', -0],
    ['safe', 2 ** 53 - 1],
    ['list', [f(2), 2, f(0.5)]],
    [f(1), 'float key'],
    [2, 'int key'],
  ]);
  const script = `import json; print(json.dumps({'dropout': 0.0, 'lambda_mlm': 1.0, 'neg': -0.0, 'big': 1e16, 'n': 3, 'm': -0.0, 'safe': 2**53 - 1, 'list': [2.0, 2, 0.5], 1.0: 'float key', 2: 'int key'}, indent=2), end='')`;
  assert.equal(pythonJsonDumps(value), runPython(python, script));
  assert.equal(JSON.stringify({ x: f(1) }), '{"x":1}');
  assert.equal((f(1.5) as unknown as number) * 2, 3);
});

test('values nested deeper than Python can dump (or containing themselves) are NotJsonError, not a stack overflow', () => {
  let deep: unknown[] = [];
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.throws(
    () => pythonJsonDumps(deep),
    (e: Error) => e instanceof NotJsonError && /nests deeper than 1000 levels/.test(e.message),
  );
  const loop: unknown[] = [];
  loop.push(loop);
  assert.throws(() => pythonJsonDumps(new Map([['self', loop]])), NotJsonError);
  let fine: unknown[] = [];
  for (let i = 0; i < 900; i++) fine = [fine];
  assert.ok(pythonJsonDumps(fine).startsWith('[\n  [\n'));
});

test('sort_keys as Python sorts: int keys by value, str keys by code point (past U+FFFF too)', (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const ints = new Map<unknown, unknown>([10, 2, 1, 0, 11].map((k) => [k, k]));
  const strings = new Map<unknown, unknown>(['\u{1F600}', '\uFF5E', 'b', 'a'].map((k) => [k, 1]));
  const script = `import json; print(json.dumps({10: 10, 2: 2, 1: 1, 0: 0, 11: 11}, indent=2, sort_keys=True) + json.dumps({'\\U0001F600': 1, '\\uff5e': 1, 'b': 1, 'a': 1}, indent=2, sort_keys=True), end='')`;
  assert.equal(pythonJsonDumps(ints, 2, true) + pythonJsonDumps(strings, 2, true), runPython(python, script));
});
