/**
 * The real client: Debian's python3 with python3-torch / python3-numpy. Tests that need it call
 * `torchPython(t)`; without it they skip with a visible notice locally and fail under CI=true.
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { IN_CI } from './fixtures.js';

const CANDIDATES = [process.env.TF2TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);

let cached: { python?: string; why: string } | undefined;

function probe(module: string): { python?: string; why: string } {
  for (const python of CANDIDATES) {
    const r = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8' });
    if (r.status === 0) return { python, why: '' };
  }
  return {
    why: `no python3 with '${module}' among ${CANDIDATES.join(', ')} (apt-get install python3-torch python3-numpy)`,
  };
}

function need(t: TestContext, module: string): string | undefined {
  if (module === 'torch') cached ??= probe('torch');
  const found = module === 'torch' && cached ? cached : probe(module);
  if (found.python) return found.python;
  if (IN_CI) throw new Error(`${found.why}; CI=true requires it`);
  console.error(`SKIP: ${found.why}`);
  t.skip(found.why);
  return undefined;
}

export const torchPython = (t: TestContext) => need(t, 'torch');
export const numpyPython = (t: TestContext) => need(t, 'numpy');

/** Runs a Python script with arguments; throws with its stderr when it fails; returns stdout. */
export function runPython(python: string, script: string, args: string[] = []): string {
  const r = spawnSync(python, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}
