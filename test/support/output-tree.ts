/** What an output folder holds, for comparing before and after a run: each entry's name and content hash. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CLI_PATH, type CliResult, runCli } from './cli.js';
import { realFixture } from './fixtures.js';
import { tempDir } from './temp.js';

/** name → sha256 of the content (`dir/` for folders), for every entry of `dir`; {} when it does not exist. */
export function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    out[name] = statSync(path).isDirectory()
      ? 'dir/'
      : createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
  }
  return out;
}

export function hiddenEntries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('.')) : [];
}

/**
 * The real bert-tiny-keras-bert checkpoint copied into a fresh working folder as `ck/` (removed after the
 * test), and a `convert` runner working there; undefined (skipped) without the fixtures.
 */
export function bertWorkspace(t: TestContext) {
  const fixture = realFixture(t, 'bert-tiny-keras-bert');
  if (!fixture) return undefined;
  const cwd = tempDir(t, 'output');
  cpSync(fixture, join(cwd, 'ck'), { recursive: true });
  /** Notes (and the summary) are printed unless `quiet`. */
  const run = (args: string[], env: NodeJS.ProcessEnv = {}, quiet = true): CliResult =>
    runCli(
      [
        'convert',
        '--model_type',
        'bert',
        '--tf_checkpoint',
        'ck/bert_model.ckpt',
        ...(quiet ? ['--quiet'] : []),
        ...args,
      ],
      { cwd, env: { ...process.env, ...env } },
    );
  return { cwd, run, path: (p: string) => join(cwd, p) };
}

/**
 * Waits until process `pid` is stopped (state T in /proc/<pid>/stat), as a run told to SIGSTOP itself at a
 * step (TF2TORCH_TEST_INTERRUPT=<n>:SIGSTOP) is once it has reached that step. False after `timeoutMs`.
 */
export async function waitUntilStopped(pid: number, timeoutMs = 10_000): Promise<boolean> {
  for (const start = Date.now(); Date.now() - start < timeoutMs; ) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return true;
    } catch {
      return false; // gone
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/**
 * `convert` of the workspace's checkpoint into `out/`, a child that stops itself (SIGSTOP) right after
 * creating its stage: lock held, nothing committed. The caller signals it, then sends SIGCONT.
 */
export function spawnStoppingConversion(cwd: string): ChildProcessWithoutNullStreams {
  const args = [
    'convert',
    '--model_type',
    'bert',
    '--tf_checkpoint',
    'ck/bert_model.ckpt',
    '--pytorch_dump_output',
    'out/',
  ];
  return spawn(process.execPath, [CLI_PATH, ...args], {
    cwd,
    env: { ...process.env, TF2TORCH_TEST_INTERRUPT: '1:SIGSTOP' },
  });
}
