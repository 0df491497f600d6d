/**
 * XLM `params` with keys JavaScript objects treat specially, in checkpoints built opcode by opcode
 * (no PyTorch needed): config.json must be what transformers' converter writes, `json.dumps(params,
 * indent=2)` (plus `model_type` and `architectures`), whatever the keys are called; keys json.dumps refuses are
 * left out with a note.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OP } from '../../src/formats/torch/pickle-opcodes.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { pickleDict, pickleInt, pickleString, writeXlmCheckpoint } from '../support/torch-pickle.js';

/** Converts a crafted checkpoint with these params; returns the run and its config.json text. */
async function convertWithParams(t: { after: (fn: () => void) => void }, params: number[]) {
  const dir = tempDir(t, 'xlm-params');
  const pth = join(dir, 'mlm.pth');
  await writeXlmCheckpoint(pth, params);
  const out = join(dir, 'out');
  const r = runCli(['convert', '--model_type', 'xlm', '--tf_checkpoint', pth, '--pytorch_dump_output', out]);
  assert.equal(r.code, 0, r.stderr);
  return { ...r, config: readFileSync(join(out, 'config.json'), 'utf8') };
}

/** config.json: the params as json.dumps writes them, then the two fields we add for AutoConfig. */
const configText = (params: string) =>
  `{\n${params},\n  "model_type": "xlm",\n  "architectures": [\n    "XLMWithLMHeadModel"\n  ]\n}\n`;

/** BINFLOAT (big-endian float64). */
const pickleFloat = (x: number) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, x, false);
  return [OP.BINFLOAT, ...bytes];
};

test("params named __proto__ (holding a dict or a string), constructor and toString are kept as Python's json.dumps writes them", async (t) => {
  const asDict = await convertWithParams(
    t,
    pickleDict([
      [pickleString('emb_dim'), pickleInt(2)],
      [pickleString('__proto__'), pickleDict([[pickleString('a'), pickleInt(1)]])],
      [pickleString('constructor'), pickleString('c')],
      [pickleString('toString'), pickleDict([])],
    ]),
  );
  assert.equal(
    asDict.config,
    configText('  "emb_dim": 2,\n  "__proto__": {\n    "a": 1\n  },\n  "constructor": "c",\n  "toString": {}'),
  );
  const asString = await convertWithParams(
    t,
    pickleDict([
      [pickleString('__proto__'), pickleString('x')],
      [pickleString('n_words'), pickleInt(16)],
    ]),
  );
  assert.equal(asString.config, configText('  "__proto__": "x",\n  "n_words": 16'));
});

test('params keys as json.dumps converts them (2.0 → "2.0", True → "true"); a tuple key, which it refuses, is left out with a note', async (t) => {
  const r = await convertWithParams(
    t,
    pickleDict([
      [pickleFloat(2), pickleString('two')],
      [[OP.NEWTRUE], pickleInt(1)],
      [[...pickleInt(1), ...pickleInt(2), OP.TUPLE2], pickleString('pair')],
      [pickleString('emb_dim'), pickleInt(2)],
    ]),
  );
  assert.equal(r.config, configText('  "2.0": "two",\n  "true": 1,\n  "emb_dim": 2'));
  assert.match(r.stderr, /xlm: params left out of config\.json \(not JSON-serializable\): \(1, 2\) key/);
});

test('params and a vocabulary id nested 2,000 lists deep: the param is left out with a note, the vocabulary is E_MALFORMED (was exit 70)', async (t) => {
  const deep = [...Array(2000).fill(OP.EMPTY_LIST), ...Array(1999).fill(OP.APPEND)];
  const params = pickleDict([
    [pickleString('emb_dim'), pickleInt(2)],
    [pickleString('deep'), deep],
  ]);
  const r = await convertWithParams(t, params);
  assert.equal(r.config, configText('  "emb_dim": 2'));
  assert.match(r.stderr, /params left out of config\.json \(not JSON-serializable\): deep/);

  const dir = tempDir(t, 'xlm-params');
  const pth = join(dir, 'mlm.pth');
  await writeXlmCheckpoint(pth, params, deep);
  const bad = runCli([
    'convert',
    '--model_type',
    'xlm',
    '--tf_checkpoint',
    pth,
    '--pytorch_dump_output',
    join(dir, 'out'),
  ]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(
    bad.stderr,
    /^error\[E_MALFORMED\]: the XLM checkpoint's dico_word2id: \$\.a(\[0\])+ nests deeper than 1000 levels$/m,
  );
});
