/**
 * Pickles built to break the reader rather than to be read: huge APPENDS, deep nesting, code named through
 * the instance opcodes (INST, OBJ, NEWOBJ, NEWOBJ_EX) and torch zips with two records of one name.
 * Opcode bytes follow Python's Lib/pickletools.py.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { CHECKPOINT_POLICY, WEIGHTS_POLICY } from '../../../src/formats/torch/allow-list.js';
import { OP } from '../../../src/formats/torch/pickle-opcodes.js';
import { openTorchFile } from '../../../src/formats/torch/read.js';
import { unpickle } from '../../../src/formats/torch/unpickler.js';
import { MAX_INT_DIGITS } from '../../../src/io/py-int.js';
import { runCli } from '../../support/cli.js';
import { tempDir } from '../../support/temp.js';
import { writeTorchZip } from '../../support/torch-pickle.js';

const context = { rebuildTensor: () => assert.fail('no tensors here') };
const weights = { policy: WEIGHTS_POLICY, file: 'evil.pkl', context };
const checkpoint = { policy: CHECKPOINT_POLICY, file: 'evil.pkl', context };
const latin1 = (text: string) => [...Buffer.from(text, 'latin1')];
const shortString = (text: string) => [OP.SHORT_BINUNICODE, text.length, ...latin1(text)];

test('one APPENDS of 200k items is read (it overflowed the call stack as a spread)', () => {
  const n = 200_000;
  const body = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) body.set([OP.BININT1, i & 0xff], 2 * i);
  const pickle = Uint8Array.from([OP.PROTO, 2, OP.EMPTY_LIST, OP.MARK, ...body, OP.APPENDS, OP.STOP]);
  for (const options of [weights, checkpoint]) {
    const value = unpickle(pickle, options).value as number[];
    assert.equal(value.length, n);
    assert.equal(value[n - 1], (n - 1) & 0xff);
  }
});

/** `{'x': [[[…]]]}` nested `depth` lists deep, built bottom-up with APPEND. */
function nestedListsPickle(depth: number): Uint8Array {
  const bytes = [OP.PROTO, 2, OP.EMPTY_DICT, ...shortString('x')];
  for (let i = 0; i < depth; i++) bytes.push(OP.EMPTY_LIST);
  for (let i = 1; i < depth; i++) bytes.push(OP.APPEND);
  bytes.push(OP.SETITEM, OP.STOP);
  return Uint8Array.from(bytes);
}

test('200k nested lists in a torch file are opened and inspected (the tensor walk recursed)', async (t) => {
  const dir = tempDir(t, 'pickle');
  const path = join(dir, 'nested.bin');
  await writeTorchZip(path, [['data.pkl', nestedListsPickle(200_000)]]);
  const source = await openTorchFile(path, { policy: 'checkpoint' });
  assert.equal(source.tensors.length, 0);
  await source.close();
  const r = runCli(['inspect', path]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /total: +0 tensors/);
});

test('INST, OBJ, NEWOBJ and NEWOBJ_EX of os.system are refused like REDUCE, naming the global and the file', () => {
  const command = shortString('echo pwned');
  const cases: Record<string, number[]> = {
    INST: [OP.MARK, ...command, OP.INST, ...latin1('os\nsystem\n'), OP.STOP],
    OBJ: [OP.MARK, OP.GLOBAL, ...latin1('os\nsystem\n'), ...command, OP.OBJ, OP.STOP],
    NEWOBJ: [OP.PROTO, 2, OP.GLOBAL, ...latin1('os\nsystem\n'), ...command, OP.TUPLE1, OP.NEWOBJ, OP.STOP],
    NEWOBJ_EX: [
      [OP.PROTO, 4, ...shortString('posix'), ...shortString('system'), OP.STACK_GLOBAL],
      [...command, OP.TUPLE1, OP.EMPTY_DICT, OP.NEWOBJ_EX, OP.STOP],
    ].flat(),
    'copyreg._reconstructor': [
      [OP.PROTO, 2, OP.GLOBAL, ...latin1('copyreg\n_reconstructor\n')],
      [OP.GLOBAL, ...latin1('subprocess\nPopen\n'), OP.GLOBAL, ...latin1('builtins\nobject\n'), OP.NONE],
      [OP.TUPLE3, OP.REDUCE, OP.STOP],
    ].flat(),
  };
  for (const [opcode, bytes] of Object.entries(cases)) {
    for (const options of [weights, checkpoint]) {
      assert.throws(
        () => unpickle(Uint8Array.from(bytes), options),
        (e: Tf2TorchError) => {
          assert.equal(e.code, 'E_PICKLE_FORBIDDEN', `${opcode}: ${e.message}`);
          assert.match(e.message, /^evil\.pkl: pickle at offset \d+: /);
          assert.match(e.message, /'(os\.system|posix\.system|subprocess\.Popen|copyreg\._reconstructor)'/);
          return true;
        },
        opcode,
      );
    }
  }
  // A class-like name outside the acting modules stays an inert record under the 'checkpoint' policy.
  const inert = [OP.PROTO, 2, OP.GLOBAL, ...latin1('argparse\nNamespace\n'), OP.EMPTY_TUPLE, OP.NEWOBJ, OP.STOP];
  assert.deepEqual(unpickle(Uint8Array.from(inert), checkpoint).value, { __class__: 'argparse.Namespace', args: [] });
});

test('a torch zip with two data.pkl records is refused (torch reads the last, a first-match reader the first)', async (t) => {
  const dir = tempDir(t, 'pickle');
  const path = join(dir, 'twice.bin');
  const dict = (key: string) =>
    Uint8Array.from([OP.PROTO, 2, OP.EMPTY_DICT, ...shortString(key), OP.NONE, OP.SETITEM, OP.STOP]);
  await writeTorchZip(path, [
    ['data.pkl', dict('first')],
    ['data.pkl', dict('second')],
  ]);
  await assert.rejects(openTorchFile(path), (e: Tf2TorchError) => {
    assert.equal(e.code, 'E_MALFORMED');
    assert.equal(e.file, path);
    assert.match(e.message, /two entries named archive\/data\.pkl/);
    return true;
  });
});

test("INT, LONG, PUT and GET text ints beyond Python's 4,300 digits are E_LIMIT; 4,300 digits are read exactly", () => {
  const digits = '9'.repeat(MAX_INT_DIGITS);
  for (const [name, op, suffix] of [
    ['INT', OP.INT, ''],
    ['LONG', OP.LONG, 'L'],
  ] as const) {
    const pickle = (text: string) => Uint8Array.from([op, ...latin1(`${text}${suffix}\n`), OP.STOP]);
    for (const options of [weights, checkpoint]) {
      assert.equal(unpickle(pickle(`-${digits}`), options).value, -BigInt(digits));
      assert.equal(unpickle(pickle('+0042'), options).value, 42);
      const cases: [string, string][] = [
        [`${digits}1`, '4301 digits'],
        [`${digits}123`, `${4303 + suffix.length} characters`],
      ];
      for (const [text, length] of cases)
        assert.throws(
          () => unpickle(pickle(text), options),
          (e: Tf2TorchError) =>
            e.code === 'E_LIMIT' &&
            e.message ===
              `evil.pkl: pickle at offset 1: ${name} of ${length} exceeds Python's limit of 4300 digits${length.includes('char') ? " (a sign and 'L' aside)" : ''}`,
          `${name} ${length}`,
        );
    }
  }
  for (const op of ['p', 'g'])
    assert.throws(
      () => unpickle(Uint8Array.from([OP.NONE, ...latin1(`${op}${digits}1\n`), OP.STOP]), checkpoint),
      (e: Tf2TorchError) => e.code === 'E_LIMIT' && /of 4301 digits exceeds Python's limit/.test(e.message),
    );
});

test('inspect refuses an INT of 50 M digits at once (it took 14.5 s and 390 MB to read)', async (t) => {
  const dir = tempDir(t, 'pickle');
  const path = join(dir, 'long-int.bin');
  const digits = 50_000_000;
  const pickle = new Uint8Array(digits + 5).fill(0x37);
  pickle.set([OP.PROTO, 2, OP.INT]);
  pickle.set([0x0a, OP.STOP], digits + 3);
  await writeTorchZip(path, [['data.pkl', pickle]]);
  const started = performance.now();
  const r = runCli(['inspect', path]);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error\[E_LIMIT\]: .*long-int\.bin: pickle at offset 3: INT of 50000000 characters exceeds Python's limit of 4300 digits/m,
  );
  t.diagnostic(`refused in ${seconds.toFixed(2)} s`);
});
