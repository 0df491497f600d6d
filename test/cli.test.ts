import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli } from './support/cli.js';

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
