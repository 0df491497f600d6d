/**
 * One conversion at a time per output folder, through the CLI: a second run onto an output being written
 * fails naming it (E_OUTPUT_LOCKED) while the first completes; a lock and temporaries left by a process
 * that is gone (kill -9) are taken over and removed by the next run, those of a live process are not.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { processStart } from '../../src/io/process-identity.js';
import { bertWorkspace, snapshot, spawnStoppingConversion, waitUntilStopped } from '../support/output-tree.js';

/** The id of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid as number;
}

test('a second conversion onto an output being written fails with E_OUTPUT_LOCKED; the first completes', async (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  // The first run stops itself (SIGSTOP) right after creating its stage: lock held, nothing committed.
  const first = spawnStoppingConversion(s.cwd);
  t.after(() => first.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
  assert.ok(await waitUntilStopped(first.pid as number), 'the first run reached its stage');
  assert.ok(
    readdirSync(s.path('out')).some((n) => n.startsWith('.tf2torch.')),
    'stopped with its stage in place',
  );

  for (const output of ['out/', 'out', 'out/pytorch_model.bin']) {
    const second = s.run(['--pytorch_dump_output', output, '--force']);
    assert.equal(second.code, 1, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `^error\\[E_OUTPUT_LOCKED\\]: ${output.replace('.', '\\.')} is being written by another tf2torch run \\(process ${first.pid}\\): wait for it to finish`,
        'm',
      ),
    );
  }
  first.kill('SIGCONT');
  assert.equal(await exited, 0);
  assert.deepEqual(Object.keys(snapshot(s.path('out'))), [
    'README.md',
    'config.json',
    'model.safetensors',
    'special_tokens_map.json',
    'tokenizer_config.json',
    'vocab.txt',
  ]);
  const after = s.run(['--pytorch_dump_output', 'out/', '--force']);
  assert.equal(after.code, 0, after.stderr);
});

test("a lock and temporaries of a process that is gone are taken over and removed; a live process's are kept", (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  const dead = deadPid();
  mkdirSync(s.path('out'));
  writeFileSync(s.path('out/.tf2torch.lock'), `${dead}\n`);
  writeFileSync(s.path(`out/.config.json.${dead}.0123abcd.tmp`), 'half');
  mkdirSync(s.path(`out/.tf2torch.${dead}.89abcdef.tmp`));
  writeFileSync(s.path(`out/.tf2torch.${dead}.89abcdef.tmp/model.safetensors`), 'half');
  const live = `.model.safetensors.${process.pid}.00000000.tmp`;
  writeFileSync(s.path(`out/${live}`), 'someone is writing this');
  writeFileSync(s.path('out/.config.json.1a2b3c4d.tmp'), 'no owner recorded: not ours to judge');
  const r = s.run(['--pytorch_dump_output', 'out/', '--force'], {}, false);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^note: out\/?: removed 2 leftovers of an interrupted earlier run$/m);
  assert.deepEqual(readdirSync(s.path('out')).sort(), [
    '.config.json.1a2b3c4d.tmp',
    live,
    'README.md',
    'config.json',
    'model.safetensors',
    'special_tokens_map.json',
    'tokenizer_config.json',
    'vocab.txt',
  ]);
  assert.equal(existsSync(join(s.path('out'), '.tf2torch.lock')), false, 'the lock is released');
});

/**
 * A workspace with an empty `out/`, and a live process other than ours (`sleep`) with its start time,
 * to stand for a process that was given a dead run's id; undefined (test skipped) without /proc.
 */
function liveOtherProcess(t: TestContext) {
  if (processStart(process.pid) === undefined) {
    t.skip('no /proc here: process start times are unknown, and a live id is taken as the owner');
    return undefined;
  }
  const s = bertWorkspace(t);
  if (!s) return undefined;
  const other = spawn('sleep', ['60']);
  t.after(() => other.kill('SIGKILL'));
  const pid = other.pid as number;
  mkdirSync(s.path('out'));
  return { s, pid, started: processStart(pid) as string };
}

test('a lock whose process id now belongs to a later process is taken over; its own process keeps it', (t) => {
  const other = liveOtherProcess(t);
  if (!other) return;
  const { s, pid, started } = other;

  writeFileSync(s.path('out/.tf2torch.lock'), `${pid}\n${started}\n`);
  const held = s.run(['--pytorch_dump_output', 'out/', '--force']);
  assert.equal(held.code, 1, held.stderr);
  assert.match(
    held.stderr,
    new RegExp(`^error\\[E_OUTPUT_LOCKED\\]: out/ is being written by another tf2torch run \\(process ${pid}\\)`, 'm'),
  );

  // The same id with another start time: the lock's process ended and the id went to `sleep`.
  writeFileSync(s.path('out/.tf2torch.lock'), `${pid}\n${BigInt(started) - 1n}\n`);
  const taken = s.run(['--pytorch_dump_output', 'out/', '--force']);
  assert.equal(taken.code, 0, taken.stderr);
  assert.equal(existsSync(s.path('out/.tf2torch.lock')), false, 'the lock is released');
  assert.ok(existsSync(s.path('out/model.safetensors')));
});

test('temporaries whose process id now belongs to a later process are removed; those of the live owner are kept', (t) => {
  const other = liveOtherProcess(t);
  if (!other) return;
  const { s, pid, started } = other;
  // Written by a killed run whose id went to `sleep` since: same id, earlier start.
  const orphan = `.model.safetensors.${pid}-${BigInt(started) - 1n}.0123abcd.tmp`;
  const stage = `.tf2torch.${pid}-${BigInt(started) - 1n}.89abcdef.tmp`;
  // Being written by the live process.
  const live = `.config.json.${pid}-${started}.00000000.tmp`;
  writeFileSync(s.path(`out/${orphan}`), 'half');
  mkdirSync(s.path(`out/${stage}`));
  writeFileSync(s.path(`out/${live}`), 'someone is writing this');
  const r = s.run(['--pytorch_dump_output', 'out/', '--force'], {}, false);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^note: out\/?: removed 2 leftovers of an interrupted earlier run$/m);
  assert.deepEqual(readdirSync(s.path('out')).sort(), [
    live,
    'README.md',
    'config.json',
    'model.safetensors',
    'special_tokens_map.json',
    'tokenizer_config.json',
    'vocab.txt',
  ]);
});
