/** pythonJsonDumps against the real Python json.dumps(indent=2): float spelling, keys, escaping, order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotJsonError, pythonFloatRepr, pythonJsonDumps } from '../../src/architectures/python-json.js';
import { numpyPython, runPython } from '../support/python.js';

const FLOATS = [0.1, 1e-5, 1.5e-7, 0.0001, 123456.789, 1e16, 2.5e16, 1e22, -3.25e-9, 1 / 3, Number.MAX_VALUE, 5e-324];

test('float repr as Python spells it', (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const expected = runPython(python, `import sys; print('\\n'.join(repr(float(x)) for x in sys.argv[1:]))`, FLOATS.map(String)).trim().split('\n');
  assert.deepEqual(FLOATS.map(pythonFloatRepr), expected);
  assert.deepEqual([NaN, Infinity, -Infinity].map(pythonFloatRepr), ['NaN', 'Infinity', '-Infinity']);
});

test('json.dumps(indent=2): insertion order, int/bool/None keys, ensure_ascii, nesting', (t) => {
  const python = numpyPython(t);
  if (!python) return;
  const value = new Map<unknown, unknown>([
    ['z', 1], ['a', [0.25, 'x\u00e9\u{1F600}"\\\n\u007f', null, true, []]],
    [2, new Map<unknown, unknown>([[0, 'en'], [true, {}]])], ['lr', 1e-5], ['n', 12345678901234567890n],
  ]);
  const script = `import json; print(json.dumps({'z': 1, 'a': [0.25, 'x\\u00e9\\U0001F600"\\\\\\n\\x7f', None, True, []], 2: {0: 'en', True: {}}, 'lr': 1e-05, 'n': 12345678901234567890}, indent=2), end='')`;
  assert.equal(pythonJsonDumps(value), runPython(python, script));
  assert.throws(() => pythonJsonDumps(new Map([['s', new Set([1])]])), (e) => e instanceof NotJsonError && e.path === '$.s');
});
