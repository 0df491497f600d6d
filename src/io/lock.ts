/**
 * One writer per output folder: an exclusive lock file `.tf2torch.lock` inside it, holding the owner's
 * process id. The file is made complete under a temporary name and hard-linked into place, which fails
 * when a lock exists, so a lock is never seen half-written. A lock whose process is gone (kill -9) is
 * taken over; the takeover itself runs under a second lock (`.tf2torch.lock.takeover`), so that two runs
 * finding the same stale lock cannot both take it. Where the system tells (Linux's /proc), the lock also
 * records when its process started, so that another process given the same id later is not mistaken for
 * the owner.
 */
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { isTracked, temporaryNameFor, trackTemporary, untrackTemporary } from './atomic.js';
import { ownerIsAlive, type ProcessIdentity, thisProcess } from './process-identity.js';

export const LOCK_NAME = '.tf2torch.lock';
const TAKEOVER_SUFFIX = '.takeover';
const MAX_ATTEMPTS = 5;
/** A lock file holds two short lines; anything longer is not ours and is read no further. */
const MAX_LOCK_BYTES = 64;

/** Creates `path` holding this process id; false when it exists already. */
function tryCreate(path: string): boolean {
  const tmp = temporaryNameFor(path);
  writeFileSync(tmp, `${thisProcess.pid}\n${thisProcess.start ?? ''}\n`, { flag: 'wx' });
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

/** The owner recorded in a lock file; undefined when it vanished meanwhile. */
function ownerOf(path: string): ProcessIdentity | undefined {
  try {
    const [pid, start] = readFileSync(path, 'latin1').slice(0, MAX_LOCK_BYTES).split('\n');
    return { pid: Number.parseInt(pid ?? '', 10), start: start || undefined };
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
function takeOverStale(lock: string, dead: ProcessIdentity, what: string): boolean {
  const guard = lock + TAKEOVER_SUFFIX;
  if (!tryCreate(guard)) {
    const guardOwner = ownerOf(guard);
    if (guardOwner !== undefined && ownerIsAlive(guardOwner)) throw lockedError(what, lock, guardOwner.pid);
    rmSync(guard, { force: true }); // its owner died within the takeover: nothing to protect
    return false;
  }
  try {
    const now = ownerOf(lock);
    if (now?.pid !== dead.pid || now.start !== dead.start) return false; // taken or released meanwhile: look again
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
    // do not hold, or a live process that started after the lock's owner: an earlier process with that id.
    const stale = owner.pid === process.pid ? !isTracked(lock) : !ownerIsAlive(owner);
    if (!stale) throw lockedError(what, lock, owner.pid);
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
