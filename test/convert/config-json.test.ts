/**
 * Config files read and written as Python's json reads and writes them (transformers' from_json_file
 * and to_json_string): exact big ints, NaN and Infinity, whole floats, prototype-named keys; what
 * Python refuses (invalid UTF-8, nesting past its recursion limit) is refused with a coded error
 * naming the file. Each runs the CLI on a tiny BERT checkpoint with a config file the test writes.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertWeights } from '../support/tiny-bert.js';

/** A tiny BERT checkpoint and `bert_config.json` holding `configText`; the CLI's result. */
async function convertWithConfig(t: { after: (fn: () => void) => void }, configBytes: string | Uint8Array) {
  const dir = tempDir(t, 'config-json');
  const prefix = join(dir, 'bert_model.ckpt');
  await writeBundle(prefix, tinyBertWeights(5));
  const config = join(dir, 'bert_config.json');
  writeFileSync(config, configBytes);
  const out = join(dir, 'out');
  const r = runCli([
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    prefix,
    '--config',
    config,
    '--pytorch_dump_output',
    out,
  ]);
  return { ...r, config, out };
}

const tinyConfigText = (extra: string) => `${JSON.stringify(TINY_BERT_CONFIG).slice(0, -1)}, ${extra}}`;

test('a bert_config.json nested 1,200 levels is E_CONFIG naming the file and the limit (was exit 70)', async (t) => {
  const text = tinyConfigText(`"deep": ${'['.repeat(1200)}${']'.repeat(1200)}`);
  const r = await convertWithConfig(t, text);
  assert.equal(r.code, 1, r.stderr);
  const at = text.indexOf('[') + 999; // the object is level 1: the 1000th bracket is level 1001
  assert.equal(
    r.stderr.trim().split('\n').at(-1),
    `error[E_CONFIG]: ${r.config}: not valid JSON (nested deeper than 1000 levels (MAX_JSON_DEPTH): line 1 column ${at + 1} (char ${at}))`,
  );
});

test("config values round-trip as Python's json: ints beyond 2^53 exact, NaN/Infinity, 1.0, prototype-named keys", async (t) => {
  const r = await convertWithConfig(
    t,
    tinyConfigText(
      '"big": 123456789012345678901234567890, "neg": -9007199254740993, "nan": NaN, "inf": Infinity, "ninf": -Infinity, "one": 1.0, "zero": 0.0, "__proto__": {"constructor": 1}, "toString": "s"',
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  const written = readFileSync(join(r.out, 'config.json'), 'utf8');
  for (const line of [
    '  "big": 123456789012345678901234567890,',
    '  "neg": -9007199254740993,',
    '  "nan": NaN,',
    '  "inf": Infinity,',
    '  "ninf": -Infinity,',
    '  "one": 1.0,',
    '  "zero": 0.0\n}',
    '{\n  "__proto__": {\n    "constructor": 1\n  },',
    '  "toString": "s",',
  ])
    assert.ok(written.includes(`${line}\n`), `${line} in\n${written}`);
});

test('a config file in Latin-1 is refused naming the file (transformers reads UTF-8 and fails; it became U+FFFD)', async (t) => {
  const r = await convertWithConfig(t, Buffer.from(tinyConfigText('"name": "caf\u00e9"'), 'latin1'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`^error\\[E_MALFORMED\\]: ${r.config.replace(/[.\\/]/g, '\\$&')}: not valid UTF-8 text`, 'm'),
  );
});

test('id2label of more than ten labels is written in index order, as PretrainedConfig keeps its keys as ints ("2" before "10")', async (t) => {
  const labels = Array.from({ length: 12 }, (_, i) => `"${i}": "L${i}"`).join(', ');
  const r = await convertWithConfig(t, tinyConfigText(`"id2label": {${labels}}`));
  assert.equal(r.code, 0, r.stderr);
  const written = JSON.stringify(readFileSync(join(r.out, 'config.json'), 'utf8'));
  const order = [...written.matchAll(/\\"(\d+)\\": \\"L/g)].map((m) => m[1]);
  assert.deepEqual(
    order,
    Array.from({ length: 12 }, (_, i) => String(i)),
  );
});
