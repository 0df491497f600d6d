/**
 * The environment failing under a conversion: FIFOs and other non-regular files where files are read,
 * permissions, read-only and full disks, names too long, a file where a folder is needed, '.' as the
 * output, a `config.json` folder beside a single-file output. Each is `error[CODE]` naming the path with
 * exit status 1 — never "internal error" (70), never a hang. What root cannot cause (EACCES on a readable
 * file, EROFS, ENOSPC) is injected into the CLI child by test/support/fs-faults.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI_PATH, type CliResult, runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { FS_FAULT_ENV } from '../support/fs-faults.js';
import { tempDir } from '../support/temp.js';

const FS_FAULTS = fileURLToPath(new URL('../support/fs-faults.js', import.meta.url));

function setup(t: TestContext) {
  const fixture = realFixture(t, 'bert-tiny-keras-bert');
  if (!fixture) return undefined;
  const cwd = tempDir(t, 'env');
  cpSync(fixture, join(cwd, 'ck'), { recursive: true });
  const convert = (...args: string[]) =>
    runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', 'ck/bert_model.ckpt', '--quiet', ...args], { cwd });
  /** The same with one fs call failing (`fault`: CODE:call:substring). */
  const convertWithFault = (fault: string, ...args: string[]) =>
    runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', 'ck/bert_model.ckpt', '--quiet', ...args], {
      cwd,
      env: { ...process.env, [FS_FAULT_ENV]: fault },
      nodeArgs: ['--import', FS_FAULTS],
    });
  return { cwd, convert, convertWithFault };
}

function assertError(r: CliResult, code: string, naming: string | RegExp): void {
  assert.equal(r.code, 1, `${code}: exit ${r.code}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|\n {4}at /);
  const line = new RegExp(`^error\\[${code}\\]: `, 'm');
  assert.match(r.stderr, line);
  if (typeof naming === 'string') assert.ok(r.stderr.includes(naming), `${r.stderr} names ${naming}`);
  else assert.match(r.stderr, naming);
}

/** A CLI run that would block forever on a FIFO: bounded, so a regression fails instead of hanging. */
function runBounded(args: string[], cwd: string): CliResult {
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr}`);
}

test('a FIFO as the config, a .data shard, the vocab beside the checkpoint, or an inspected file: E_NOT_A_FILE, no hang', (t) => {
  const s = setup(t);
  if (!s) return;
  mkfifo(join(s.cwd, 'piped-config.json'));
  const bert = ['convert', '--model_type', 'bert', '--quiet'];
  const config = runBounded(
    [...bert, '--tf_checkpoint', 'ck/bert_model.ckpt', '--config', 'piped-config.json', '--dry-run'],
    s.cwd,
  );
  assertError(config, 'E_NOT_A_FILE', /piped-config\.json is a FIFO \(named pipe\); a regular config file is expected/);

  mkdirSync(join(s.cwd, 'piped'));
  cpSync(join(s.cwd, 'ck/bert_model.ckpt.index'), join(s.cwd, 'piped/bert_model.ckpt.index'));
  cpSync(join(s.cwd, 'ck/bert_config.json'), join(s.cwd, 'piped/bert_config.json'));
  mkfifo(join(s.cwd, 'piped/bert_model.ckpt.data-00000-of-00001'));
  const shard = runBounded(
    [...bert, '--tf_checkpoint', 'piped/bert_model.ckpt', '--pytorch_dump_output', 'a.bin'],
    s.cwd,
  );
  assertError(shard, 'E_NOT_A_FILE', 'bert_model.ckpt.data-00000-of-00001 is a FIFO');
  assert.ok(!existsSync(join(s.cwd, 'a.bin')));

  rmSync(join(s.cwd, 'ck/vocab.txt'));
  mkfifo(join(s.cwd, 'ck/vocab.txt'));
  const vocab = runBounded([...bert, '--tf_checkpoint', 'ck/bert_model.ckpt', '--pytorch_dump_output', 'hf/'], s.cwd);
  assertError(vocab, 'E_NOT_A_FILE', /ck\/vocab\.txt is a FIFO/);
  assert.ok(!existsSync(join(s.cwd, 'hf')));

  mkfifo(join(s.cwd, 'model.pth'));
  const xlm = runBounded(
    ['convert', '--model_type', 'xlm', '--tf_checkpoint', 'model.pth', '--pytorch_dump_output', 'x/'],
    s.cwd,
  );
  assertError(xlm, 'E_NOT_A_FILE', 'model.pth is a FIFO');
  assertError(runBounded(['inspect', 'model.pth'], s.cwd), 'E_NOT_A_FILE', 'model.pth is a FIFO');
});

test('a config.json folder beside a single-file output is refused before the weights are replaced', (t) => {
  const s = setup(t);
  if (!s) return;
  mkdirSync(join(s.cwd, 'out/config.json'), { recursive: true });
  writeFileSync(join(s.cwd, 'out/pytorch_model.bin'), 'previous weights');
  const r = s.convert('--pytorch_dump_output', 'out/pytorch_model.bin', '--force');
  assertError(r, 'E_OUTPUT_EXISTS', 'out/config.json is a folder');
  assert.equal(readFileSync(join(s.cwd, 'out/pytorch_model.bin'), 'utf8'), 'previous weights');
  assert.deepEqual(readdirSync(join(s.cwd, 'out')).sort(), ['config.json', 'pytorch_model.bin']);
});

test('a file where a folder is needed, a name too long, and "." as the output: named errors, exit 1', (t) => {
  const s = setup(t);
  if (!s) return;
  writeFileSync(join(s.cwd, 'plain'), '');
  assertError(s.convert('--pytorch_dump_output', 'plain/deeper/model.bin'), 'E_NOT_A_DIRECTORY', /plain is a file/);
  assertError(
    s.convert('--config', 'plain/bert_config.json', '--dry-run'),
    'E_NOT_A_DIRECTORY',
    'plain/bert_config.json',
  );
  const long = `${'a'.repeat(300)}.bin`;
  assertError(s.convert('--pytorch_dump_output', long), 'E_NAME_TOO_LONG', long);
  assert.deepEqual(readdirSync(s.cwd).sort(), ['ck', 'plain'], 'no temporaries left');
  // '.' cannot be renamed (EBUSY) while it is being replaced; whatever the output code does, never a crash.
  const empty = join(s.cwd, 'empty');
  mkdirSync(empty);
  const dot = runCli(
    [
      'convert',
      '--model_type',
      'bert',
      '--tf_checkpoint',
      '../ck/bert_model.ckpt',
      '--quiet',
      '--pytorch_dump_output',
      '.',
      '--force',
    ],
    { cwd: empty },
  );
  assert.ok(dot.code === 0 || dot.code === 1, `exit ${dot.code}: ${dot.stderr}`);
  if (dot.code === 1) assert.match(dot.stderr, /^error\[E_[A-Z_]+\]: .*\./m);
  assert.doesNotMatch(dot.stderr, /internal error/);
});

test('permissions, read-only and full disks (injected): E_PERMISSION, E_READ_ONLY, E_NO_SPACE naming the path', (t) => {
  const s = setup(t);
  if (!s) return;
  const config = s.convertWithFault('EACCES:open:bert_config.json', '--dry-run');
  assertError(config, 'E_PERMISSION', /cannot read the config file \S*ck\/bert_config\.json: permission denied/);
  const vocab = s.convertWithFault('EACCES:open:vocab.txt', '--pytorch_dump_output', 'hf/');
  assertError(vocab, 'E_PERMISSION', 'ck/vocab.txt');
  assert.ok(!existsSync(join(s.cwd, 'hf')));
  // The output folder: refused before any work, naming the folder.
  mkdirSync(join(s.cwd, 'locked'));
  const locked = s.convertWithFault('EACCES:access:locked', '--pytorch_dump_output', 'locked/model.bin');
  assertError(locked, 'E_PERMISSION', /cannot write into \S*locked: permission denied/);
  const readOnly = s.convertWithFault('EROFS:access:locked', '--pytorch_dump_output', 'locked/model.bin');
  assertError(readOnly, 'E_READ_ONLY', /locked: the file system is read-only/);
  const full = s.convertWithFault('ENOSPC:write:model.bin', '--pytorch_dump_output', 'locked/model.bin');
  assertError(full, 'E_NO_SPACE', /cannot write \S*locked\/(\S+\/)?model\.bin: no space left on the device/);
  assert.deepEqual(readdirSync(join(s.cwd, 'locked')), [], 'nothing left behind');
  const fullFolder = s.convertWithFault('ENOSPC:write:model.safetensors', '--pytorch_dump_output', 'hf/');
  assertError(fullFolder, 'E_NO_SPACE', 'model.safetensors');
});

test('an unreadable checkpoint folder (injected EACCES) is E_PERMISSION, not "not found"', (t) => {
  const s = setup(t);
  if (!s) return;
  const r = runCli(['inspect', 'ck'], {
    cwd: s.cwd,
    env: { ...process.env, [FS_FAULT_ENV]: 'EACCES:readdir:ck' },
    nodeArgs: ['--import', FS_FAULTS],
  });
  assertError(r, 'E_PERMISSION', /cannot list the folder ck: permission denied/);
});
