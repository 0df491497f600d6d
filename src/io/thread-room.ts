/**
 * Whether the address space has room for another thread. Under Linux's address-space limit
 * (`ulimit -v`) a thread's reservations can fail, and a failed reservation aborts the whole process:
 * it cannot be caught, so the room is checked before a thread starts.
 */
import { readFileSync } from 'node:fs';

/**
 * The free address space, in bytes, when it is below `needed`; undefined when it is not, or when
 * nothing is known: the limit ("Max address space" in /proc/self/limits, bytes) less what this process
 * maps ("VmSize" in /proc/self/status, KiB). Elsewhere than Linux, or 'unlimited', nothing is known.
 */
export function addressSpaceShort(
  needed: number,
  limits = procText('/proc/self/limits'),
  status = procText('/proc/self/status'),
): number | undefined {
  const limit = /^Max address space\s+(\d+)/m.exec(limits ?? '')?.[1];
  const mapped = /^VmSize:\s+(\d+) kB/m.exec(status ?? '')?.[1];
  if (limit === undefined || mapped === undefined) return undefined;
  const free = Number(limit) - Number(mapped) * 1024;
  return free >= needed ? undefined : Math.max(free, 0);
}

function procText(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}
