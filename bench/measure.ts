/**
 * What the conversion benchmarks share: running a shell command or a conversion child and timing it,
 * medians with every run shown, and sizes for people.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./convert-child.js', import.meta.url));

/** Runs `command` in sh; its wall time in milliseconds. */
export function sh(command: string): number {
  const start = performance.now();
  const r = spawnSync('sh', ['-c', command], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`'${command}' failed`);
  return performance.now() - start;
}

const DROP_CACHES = '/proc/sys/vm/drop_caches';

const PROJECT = fileURLToPath(new URL('../..', import.meta.url));
/** What either side runs, read warm with the inputs: an emptied cache must not time program loading. */
const PROGRAM_FILES = [
  process.execPath,
  join(PROJECT, 'dist', 'src'),
  join(PROJECT, 'node_modules', '@node-rs'),
  ...['cat', 'dd', 'head', 'sync'].map((c) => `/usr/bin/${c}`),
].filter((p) => existsSync(p));

/** Whether `settle` can empty the page cache (root on Linux). */
export function canEmptyPageCache(): boolean {
  try {
    accessSync(DROP_CACHES, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Puts the machine in the same state before each timed run, whichever side runs: no dirty pages
 * pending, the page cache emptied where permitted, then `inputs` read so that they are warm. Why empty
 * it: writing into memory the kernel just reclaimed from clean cache is cheaper than writing into
 * memory that sat free, most of all in a VM whose free pages go back to the host (virtio free page
 * reporting): the same 11.4 GB write took 16.7 s into free memory and 12.7 s when it had to reclaim.
 * Without emptying, whichever side runs after the other's output filled the cache is favoured.
 */
export function settle(inputs: readonly string[]): void {
  sh('sync');
  if (canEmptyPageCache()) writeFileSync(DROP_CACHES, '3');
  const all = [...inputs, ...PROGRAM_FILES].map((p) => `'${p}'`).join(' ');
  sh(`find ${all} -type f -exec cat {} + > /dev/null && sync`);
}

/** The conditions line's account of `settle`. */
export const settledConditions = () =>
  canEmptyPageCache()
    ? "before each run of either side: sync, page cache emptied (drop_caches), that side's inputs read warm"
    : 'before each run of either side: sync, inputs read warm; the page cache could NOT be emptied (needs root), so a side that runs after the other filled the cache may be favoured';

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
