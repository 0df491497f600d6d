/**
 * Which process owns a lock or a temporary file: its id and, where the system tells (Linux's /proc),
 * when it started, so that another process given the same id later is not mistaken for the owner.
 */
import { readFileSync } from 'node:fs';

/** A process id and, where known, the process's start time (clock ticks since boot). */
export interface ProcessIdentity {
  readonly pid: number;
  readonly start: string | undefined;
}

/** When process `pid` started, from /proc/<pid>/stat (field 22); undefined where there is no /proc or no such process. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[22 - 3];
    return start !== undefined && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** This process, computed once. */
export const thisProcess: ProcessIdentity = { pid: process.pid, start: processStart(process.pid) };

/** True while a process with this id exists (EPERM: it exists, owned by someone else). */
export function processIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while the owner's process exists and, where both start times are known, is the same process. */
export function ownerIsAlive(owner: ProcessIdentity): boolean {
  if (!processIsAlive(owner.pid)) return false;
  const now = owner.start === undefined ? undefined : processStart(owner.pid);
  return now === undefined || now === owner.start;
}
