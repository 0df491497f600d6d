import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from './support/cli.js';
import { bertWorkspace, spawnStoppingConversion, waitUntilStopped } from './support/output-tree.js';

test('--version prints the version of package.json', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const r = runCli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('--help lists every command; an unknown command is a usage error (exit 2) without a stack trace', () => {
  const help = runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^\s+convert\s/m);
  assert.match(help.stdout, /^\s+inspect\s/m);
  const bad = runCli(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /error\[E_USAGE\]: unknown command 'frobnicate'/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

test('SIGHUP (a closed terminal) is handled like Ctrl-C: exit 129, unfinished outputs and the new folder removed', async (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  // The run stops itself once its stage exists; SIGHUP is sent from outside, then it is let run on.
  const child = spawnStoppingConversion(s.cwd);
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  assert.ok(await waitUntilStopped(child.pid as number), 'the run reached its stage');
  assert.ok(
    readdirSync(s.path('out')).some((n) => n.startsWith('.tf2torch.')),
    'stopped with its stage in place',
  );
  child.kill('SIGHUP');
  child.kill('SIGCONT');
  assert.equal(await exited, 129, stderr);
  assert.match(stderr, /interrupted: removed 1 unfinished output/);
  assert.equal(existsSync(s.path('out')), false);
});

test('the exit status list names SIGHUP', () => {
  assert.match(runCli(['--help']).stdout, /143 on SIGTERM, 129 on SIGHUP/);
});
