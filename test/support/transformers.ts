/**
 * The real transformers (4.29.2, slow tokenizers) for Debian's python3, laid out by
 * `../shared/clients/setup-transformers.sh` (TF2TORCH_CLIENTS to look elsewhere) into a cached folder
 * under the system's temporary directory, or taken from TF2TORCH_TRANSFORMERS (a `site` folder already
 * laid out). Absent, tests skip with a visible notice locally and fail under CI=true.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { IN_CI } from './fixtures.js';

const CLIENTS_DIR = resolve(process.env.TF2TORCH_CLIENTS ?? join(process.cwd(), '..', 'shared', 'clients'));
const PYTHON = process.env.TF2TORCH_PYTHON ?? '/usr/bin/python3';

export interface TransformersPython {
  readonly python: string;
  readonly env: NodeJS.ProcessEnv;
}

let cached: { client?: TransformersPython; why: string } | undefined;

function envFor(site: string): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: site, USE_TF: '0', TRANSFORMERS_OFFLINE: '1', HF_HUB_OFFLINE: '1' };
}

function setUp(): { client?: TransformersPython; why: string } {
  let site = process.env.TF2TORCH_TRANSFORMERS;
  if (site === undefined) {
    const script = join(CLIENTS_DIR, 'setup-transformers.sh');
    if (!existsSync(script)) return { why: `no ${script} (set TF2TORCH_CLIENTS)` };
    const r = spawnSync('bash', [script, join(tmpdir(), 'tf2torch-transformers-4.29.2')], { encoding: 'utf8' });
    if (r.status !== 0) return { why: `${script} failed: ${r.stderr.trim().split('\n').pop()}` };
    site = r.stdout.trim();
  }
  const probe = spawnSync(PYTHON, ['-c', 'import transformers, sentencepiece'], {
    env: envFor(site),
    encoding: 'utf8',
  });
  if (probe.status !== 0) return { why: `transformers does not import from ${site}: ${probe.stderr.trim()}` };
  return { client: { python: PYTHON, env: envFor(site) }, why: '' };
}

/** The real client, or undefined after marking the test skipped (fails in CI). */
export function transformersPython(t: TestContext): TransformersPython | undefined {
  cached ??= setUp();
  if (cached.client) return cached.client;
  if (IN_CI) throw new Error(`${cached.why}; CI=true requires it`);
  console.error(`SKIP: ${cached.why}`);
  t.skip(cached.why);
  return undefined;
}

/** Runs a Python script under the client; throws with its stderr when it fails; returns stdout. */
export function runTransformers(client: TransformersPython, script: string, args: string[] = []): string {
  const r = spawnSync(client.python, ['-c', script, ...args], {
    encoding: 'utf8',
    env: client.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}
