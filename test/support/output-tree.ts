/** What an output folder holds, for comparing before and after a run: each entry's name and content hash. */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type CliResult, runCli } from './cli.js';
import { realFixture } from './fixtures.js';

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
  const cwd = mkdtempSync(join(tmpdir(), 'tf2torch-output-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
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
