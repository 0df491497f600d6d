/** Runs the built CLI as a user would (a child process), capturing stdout, stderr and the exit code. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AfterHook, tempDir } from './temp.js';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; nodeArgs?: string[]; timeoutMs?: number } = {},
): CliResult {
  const r = spawnSync(process.execPath, [...(options.nodeArgs ?? []), CLI_PATH, ...args], {
    cwd: options.cwd,
    timeout: options.timeoutMs,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI, asserts it exited 0 (its stderr in the failure), then parses what it printed (`--json`). */
// biome-ignore lint/suspicious/noExplicitAny: what the CLI printed, typed by the caller or as loosely as JSON.parse's
export function runCliJson<T = any>(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): T {
  const r = runCli(args, options);
  assert.equal(r.code, 0, `tf2torch ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * `tf2torch convert <args> --pytorch_dump_output <new temporary folder>/<output>`, asserted to exit 0 (stderr in
 * the failure); the folder is removed when the test ends. `output` names the file or folder the CLI writes.
 */
export function runConvert(t: AfterHook, args: string[], output = 'out'): CliResult & { output: string } {
  const path = join(tempDir(t, 'convert'), output);
  const r = runCli(['convert', ...args, '--pytorch_dump_output', path]);
  assert.equal(r.code, 0, `tf2torch convert ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return { ...r, output: path };
}
