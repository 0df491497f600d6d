/**
 * What an output may replace, through the CLI: never a file by a folder (a trailing '/' after a file
 * name), never an input of the conversion whatever its spelling (trailing '/', '..', symlink, hard link),
 * and --force onto a folder replaces our files only, as save_pretrained does.
 */
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { test } from 'node:test';
import { bertWorkspace, snapshot } from '../support/output-tree.js';

test('a trailing / after an existing file never replaces it, with or without --force', (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  const earlier = s.run(['--pytorch_dump_output', 'prev/pytorch_model.bin']);
  assert.equal(earlier.code, 0, earlier.stderr);
  const ck = snapshot(s.path('ck'));
  const prev = snapshot(s.path('prev'));
  const targets = [
    'ck/bert_model.ckpt.data-00000-of-00001/',
    'ck/bert_model.ckpt.index/',
    'ck/vocab.txt/',
    'ck/bert_config.json/',
    'prev/pytorch_model.bin/',
    'prev/config.json//',
  ];
  for (const target of targets) {
    for (const force of [[], ['--force']]) {
      const r = s.run(['--config', 'ck/bert_config.json', '--pytorch_dump_output', target, ...force]);
      assert.equal(r.code, 1, `${target} ${force}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^error\[E_OUTPUT_EXISTS\]: --pytorch_dump_output \S+: \S+ is a file, and a folder output never replaces a file/m,
        target,
      );
    }
  }
  assert.deepEqual(snapshot(s.path('ck')), ck, 'the checkpoint is untouched');
  assert.deepEqual(snapshot(s.path('prev')), prev, 'the earlier output is untouched');
});

test('an input of the conversion is never an output, however the path is spelt, even with --force', (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  symlinkSync('ck/bert_model.ckpt.data-00000-of-00001', s.path('alias.bin'));
  linkSync(s.path('ck/bert_model.ckpt.index'), s.path('hard.safetensors'));
  mkdirSync(s.path('cfg'));
  cpSync(s.path('ck/bert_config.json'), s.path('cfg/config.json'));
  mkdirSync(s.path('hf'));
  symlinkSync('../ck/vocab.txt', s.path('hf/vocab.txt'));
  const before = { ck: snapshot(s.path('ck')), cfg: snapshot(s.path('cfg')), hf: snapshot(s.path('hf')) };
  const cases: [string[], RegExp][] = [
    [
      ['--pytorch_dump_output', 'alias.bin'],
      /alias\.bin is read by this conversion \(the same file as ck\/bert_model\.ckpt\.data/,
    ],
    [
      ['--pytorch_dump_output', 'hard.safetensors'],
      /hard\.safetensors is read by this conversion \(the same file as ck\/bert_model\.ckpt\.index\)/,
    ],
    // --config in the output folder under the name config.json: it would be replaced
    [
      ['--config', 'cfg/config.json', '--pytorch_dump_output', 'cfg/../cfg/'],
      /cfg\/config\.json is read by this conversion/,
    ],
    [['--config', 'cfg/config.json', '--pytorch_dump_output', 'cfg/model.safetensors'], /cfg\/config\.json is read/],
    // the tokenizer file to copy, reached through a symlink in the output folder
    [['--pytorch_dump_output', 'hf/'], /hf\/vocab\.txt is read by this conversion \(the same file as ck\/vocab\.txt\)/],
  ];
  for (const [args, message] of cases) {
    const r = s.run([...args, '--force']);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error\[E_OUTPUT_EXISTS\]: /, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.match(r.stderr, /an input is never replaced, with or without --force/);
  }
  assert.deepEqual(
    { ck: snapshot(s.path('ck')), cfg: snapshot(s.path('cfg')), hf: snapshot(s.path('hf')) },
    before,
    'no input changed, no output written',
  );
  assert.equal(
    readFileSync(s.path('alias.bin')).length,
    readFileSync(s.path('ck/bert_model.ckpt.data-00000-of-00001')).length,
  );
  // Without --force an existing config.json beside a single file is left as it is: that conversion runs.
  const kept = s.run(['--config', 'cfg/config.json', '--pytorch_dump_output', 'cfg/model.safetensors'], {}, false);
  assert.equal(kept.code, 0, kept.stderr);
  assert.match(kept.stderr, /cfg\/config\.json exists: left unchanged/);
  assert.equal(snapshot(s.path('cfg'))['config.json'], before.cfg['config.json']);
});

test('--force onto a folder replaces our files only: stale weights of either format go, everything else stays', (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  const old = s.run(['--pytorch_dump_output', 'out/', '--format', 'both', '--max-shard-size', '600']);
  assert.equal(old.code, 0, old.stderr);
  const oldFiles = readdirSync(s.path('out'));
  assert.ok(oldFiles.includes('pytorch_model.bin.index.json') && oldFiles.includes('model.safetensors.index.json'));
  const mine = {
    'notes.txt': 'mine',
    'bert_config.json': readFileSync(s.path('ck/bert_config.json'), 'utf8'),
    'pytorch_model-final.bin': 'not of our naming',
    'model-1-of-2.safetensors': 'not of our naming either',
    'tokenizer.json': '{}',
  };
  for (const [name, text] of Object.entries(mine)) writeFileSync(s.path(`out/${name}`), text);
  mkdirSync(s.path('out/sub'));
  writeFileSync(s.path('out/sub/model.safetensors'), 'inside a subfolder: not ours');

  const refused = s.run(['--config', 'out/bert_config.json', '--pytorch_dump_output', 'out/']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /out\/ already exists \(use --force to overwrite it\)/);

  const r = s.run(['--config', 'out/bert_config.json', '--pytorch_dump_output', 'out/', '--force']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    readdirSync(s.path('out')).sort(),
    [
      'README.md',
      'config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'tokenizer_config.json',
      'vocab.txt',
      'sub',
      ...Object.keys(mine),
    ].sort(),
  );
  for (const [name, text] of Object.entries(mine)) assert.equal(readFileSync(s.path(`out/${name}`), 'utf8'), text);
  assert.ok(existsSync(s.path('out/sub/model.safetensors')));
});

test('a folder named like one of our files: refused before anything is replaced', (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  const old = s.run(['--pytorch_dump_output', 'single/pytorch_model.bin']);
  assert.equal(old.code, 0, old.stderr);
  rmSync(s.path('single/config.json'));
  mkdirSync(s.path('single/config.json'));
  const before = snapshot(s.path('single'));
  const r = s.run(['--pytorch_dump_output', 'single/pytorch_model.bin', '--dtype', 'float16', '--force']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error\[E_OUTPUT_EXISTS\]: single\/config\.json is a folder: the output \S+ needs a file of that name there/m,
  );
  assert.deepEqual(snapshot(s.path('single')), before, 'the weights were not replaced either');
});
