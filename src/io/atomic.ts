/**
 * Atomic output: write under a temporary name in the destination folder, rename when complete.
 * On any error the temporary file is removed, so nothing is ever left under the final name.
 * Temporaries carry the owning process id, and on Linux its start time, in their name
 * (`.<name>.<pid>-<start>.<random>.tmp`), so that a later run can tell those of a process that is gone
 * (kill -9), even when its id was given to another process since, from those of a run still working.
 * Temporaries, locks and folders created for an output are tracked while in progress, so that an
 * interrupted run (Ctrl-C, SIGTERM, SIGHUP) removes them too.
 */
import { randomBytes } from 'node:crypto';
import { rmdirSync, rmSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { fileSystemError } from '../errors.js';
import { type ProcessIdentity, thisProcess } from './process-identity.js';

/** What to undo on interruption: unfinished outputs, then lock files, then folders created empty. */
type Pending = 'output' | 'lock' | 'created-folder';
const pending = new Map<string, Pending>();

/** Marks a temporary file or folder as in progress until `untrackTemporary`. */
export function trackTemporary(path: string, kind: Pending = 'output'): void {
  pending.set(path, kind);
}

export function isTracked(path: string): boolean {
  return pending.has(path);
}

export function untrackTemporary(path: string): void {
  pending.delete(path);
}

/**
 * Undoes everything in progress, synchronously (called from the SIGINT/SIGTERM/SIGHUP handler, which
 * runs between event-loop turns, never inside a synchronous commit): removes unfinished outputs, releases
 * locks, removes folders this run created if they are empty again. Returns the unfinished outputs removed.
 */
export function removePendingTemporaries(): string[] {
  const byKind = (kind: Pending) => [...pending].filter(([, k]) => k === kind).map(([path]) => path);
  const outputs = byKind('output');
  // A temporary inside a stage goes with it: count what the user would see, the outermost.
  const removed = outputs.filter((path) => !outputs.some((other) => path.startsWith(other + sep)));
  for (const path of removed) removeTreeOnExit(path);
  for (const path of byKind('lock')) rmSync(path, { force: true });
  for (const path of byKind('created-folder').reverse()) {
    try {
      rmdirSync(path); // only when empty: never removes anything but what this run made
    } catch {
      // not empty (or already gone): leave it
    }
  }
  pending.clear();
  return removed;
}

/** `.<name>.<pid>[-<start>].<random>.tmp`: the owner's id and, where known, when it started. */
const TEMPORARY = /^\..+\.(\d+)(?:-(\d+))?\.[0-9a-f]{8}\.tmp$/;

export function temporaryNameFor(finalPath: string): string {
  const owner = thisProcess.start === undefined ? `${thisProcess.pid}` : `${thisProcess.pid}-${thisProcess.start}`;
  return join(dirname(finalPath), `.${basename(finalPath)}.${owner}.${randomBytes(4).toString('hex')}.tmp`);
}

/** The owner recorded in a file name of our temporary naming, or undefined for any other name. */
export function temporaryOwner(name: string): ProcessIdentity | undefined {
  const match = TEMPORARY.exec(name);
  return match ? { pid: Number(match[1]), start: match[2] } : undefined;
}

/** Runs `write` on a fresh temporary file next to `finalPath`, then renames it into place. */
export async function writeFileAtomically<T>(
  finalPath: string,
  write: (handle: FileHandle, tmpPath: string) => Promise<T>,
): Promise<T> {
  const tmp = temporaryNameFor(finalPath);
  let handle: FileHandle;
  try {
    handle = await open(tmp, 'wx');
  } catch (cause) {
    throw fileSystemError(cause, finalPath, 'write');
  }
  trackTemporary(tmp);
  try {
    const result = await write(handle, tmp);
    await handle.sync();
    await handle.close();
    await rename(tmp, finalPath);
    return result;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw fileSystemError(error, finalPath, 'write'); // disk full, permissions: named, not an internal error
  } finally {
    untrackTemporary(tmp);
  }
}

/** How long an interrupted run keeps trying to remove a stage that writes still in flight refill. */
const EXIT_REMOVAL_ATTEMPTS = 20;
const EXIT_REMOVAL_PAUSE_MS = 10;

/**
 * Removes a temporary tree on the way out. File writes already queued on the thread pool can still
 * create a file in it while it is removed (ENOTEMPTY), so this tries again after a pause; if it still
 * cannot, it gives up quietly: the leftover is hidden, named after this process, and the next run on
 * the output removes it.
 */
function removeTreeOnExit(path: string): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 1; attempt <= EXIT_REMOVAL_ATTEMPTS; attempt++) {
    try {
      rmSync(path, { recursive: true, force: true });
      return;
    } catch {
      Atomics.wait(pause, 0, 0, EXIT_REMOVAL_PAUSE_MS);
    }
  }
}
