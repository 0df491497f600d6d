/**
 * One writer per output folder: an exclusive lock file `.tf2torch.lock` inside it, holding the owner's
 * process id. The file is made complete under a temporary name and hard-linked into place, which fails
 * when a lock exists, so a lock is never seen half-written. A lock whose process is gone (kill -9) is
 * taken over; the takeover itself runs under a second lock (`.tf2torch.lock.takeover`), so that two runs
 * finding the same stale lock cannot both take it.
 */
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { isTracked, processIsAlive, temporaryNameFor, trackTemporary, untrackTemporary } from './atomic.js';

export const LOCK_NAME = '.tf2torch.lock';
const TAKEOVER_SUFFIX = '.takeover';
const MAX_ATTEMPTS = 5;

/** Creates `path` holding this process id; false when it exists already. */
function tryCreate(path: string): boolean {
  const tmp = temporaryNameFor(path);
  writeFileSync(tmp, `${process.pid}\n`, { flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The process id recorded in a lock file; undefined when it vanished meanwhile. */
function ownerOf(path: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function lockedError(what: string, path: string, pid: number): Tf2TorchError {
  return new Tf2TorchError(
    ErrorCode.OUTPUT_LOCKED,
    `${what} is being written by another tf2torch run (process ${pid}): wait for it to finish (if no such process is running, remove ${path})`,
    { file: path },
  );
}

/** Removes a lock of a process that is gone, unless another run is doing so; true when removed. */
function takeOverStale(lock: string, deadPid: number, what: string): boolean {
  const guard = lock + TAKEOVER_SUFFIX;
  if (!tryCreate(guard)) {
    const guardOwner = ownerOf(guard);
    if (guardOwner !== undefined && processIsAlive(guardOwner)) throw lockedError(what, lock, guardOwner);
    rmSync(guard, { force: true }); // its owner died within the takeover: nothing to protect
    return false;
  }
  try {
    if (ownerOf(lock) !== deadPid) return false; // taken or released meanwhile: look again
    rmSync(lock, { force: true });
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * Takes the lock of folder `dir` (which must exist) or throws E_OUTPUT_LOCKED naming `what` (the
 * output as the user typed it). Returns the release function; an interrupted run releases it too.
 */
export function lockFolder(dir: string, what: string): () => void {
  const lock = join(dir, LOCK_NAME);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (tryCreate(lock)) {
      trackTemporary(lock, 'lock');
      return () => {
        untrackTemporary(lock);
        rmSync(lock, { force: true });
      };
    }
    const owner = ownerOf(lock);
    if (owner === undefined) continue;
    // This process holding it: one output written twice at once by a library user. Our pid on a lock we
    // do not hold: an earlier process that had the same id.
    const stale = owner === process.pid ? !isTracked(lock) : !processIsAlive(owner);
    if (!stale) throw lockedError(what, lock, owner);
    takeOverStale(lock, owner, what);
  }
  throw new Tf2TorchError(
    ErrorCode.OUTPUT_LOCKED,
    `${what}: could not take the lock ${lock} (other runs keep taking it)`,
    {
      file: lock,
    },
  );
}
