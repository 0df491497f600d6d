/**
 * What the conversion benchmarks share: running a shell command or a conversion child and timing it,
 * medians with every run shown, and sizes for people.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./convert-child.js', import.meta.url));

/** Runs `command` in sh; its wall time in milliseconds. */
export function sh(command: string): number {
  const start = performance.now();
  const r = spawnSync('sh', ['-c', command], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`'${command}' failed`);
  return performance.now() - start;
}

/** One `tf2torch convert` in a child process: its in-process time, wall time, CPU time (user + system) and peak RSS. */
export function convertOnce(args: string[]): { ms: number; wallMs: number; cpuMs: number; maxRssBytes: number } {
  const start = performance.now();
  const r = spawnSync(process.execPath, [CHILD, ...args], { encoding: 'utf8' });
  const wallMs = performance.now() - start;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`conversion failed:\n${r.stderr}`);
  const { ms, cpuMs, maxRssBytes } = JSON.parse(last) as { ms: number; cpuMs: number; maxRssBytes: number };
  return { ms, wallMs, cpuMs, maxRssBytes };
}

export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
export const secs = (xs: readonly number[]) =>
  `${(median(xs) / 1000).toFixed(2)} s [${xs.map((x) => (x / 1000).toFixed(2)).join(' ')}]`;
export const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
export const verdict = (good: boolean) => (good ? 'ok' : 'MISSED');
