/**
 * Replacing several files of one folder so that no interruption loses a byte:
 *
 * 1. Stage: every new file is written complete (and fsynced) in a staging folder inside the target
 *    folder, `.tf2torch.<pid>.<random>.tmp/` (same file system, so renames out of it are atomic).
 *    Interrupted here, the target holds the old files untouched; the stage is removed by the signal
 *    handler, or (kill -9) by the next run, which sees that its owner process is gone.
 * 2. Journal: the list of renames and removals is written (fsynced) into the stage as `.commit.json`.
 * 3. Commit: one synchronous call renames each staged file over its final name, in the given order, then
 *    removes the stale files and the stage. Signal handlers run between event-loop turns, so Ctrl-C,
 *    SIGTERM or SIGHUP arriving now takes effect only after the last rename. Only kill -9 (or a power
 *    loss) can stop a commit half-way: every file is still complete (old or new), and the next run on
 *    the folder finds the journal of a dead process and rolls the commit forward before anything else.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { isTracked, temporaryNameFor, temporaryOwner, trackTemporary, untrackTemporary } from './atomic.js';
import { ownerIsAlive } from './process-identity.js';
import { outputStep } from './test-interrupt.js';

const JOURNAL = '.commit.json';
/** A journal names a few dozen files; anything larger is not ours. */
const MAX_JOURNAL_BYTES = 1024 * 1024;

export interface CommitPlan {
  /** Names in the stage, renamed to the same name in the folder, in this order. */
  readonly files: readonly string[];
  /** Names in the folder removed after the renames (stale files of an earlier output). */
  readonly remove: readonly string[];
}

/** Creates the staging folder inside `dir`; removed on error or interruption until committed. */
export function createStage(dir: string): string {
  const stage = temporaryNameFor(join(dir, 'tf2torch'));
  mkdirSync(stage);
  trackTemporary(stage);
  outputStep();
  return stage;
}

/**
 * Removes a stage that will not be committed; a stage whose journal was written is kept (a commit that
 * failed half-way is rolled forward by the next run, never undone).
 */
export function discardStage(stage: string): void {
  if (!isTracked(stage)) return;
  rmSync(stage, { recursive: true, force: true });
  untrackTemporary(stage);
}

function fsyncPath(path: string, flags = 'r'): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, flags);
    fsyncSync(fd);
  } catch {
    // some file systems cannot fsync a folder; the renames are still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A plain file name inside the folder: never a path, never `.` or `..`. */
function isPlainName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && basename(name) === name;
}

function applyCommit(dir: string, stage: string, plan: CommitPlan): void {
  for (const name of plan.files) {
    try {
      renameSync(join(stage, name), join(dir, name));
    } catch (error) {
      // already renamed by the interrupted commit this one finishes
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    outputStep();
  }
  for (const name of plan.remove) {
    rmSync(join(dir, name), { force: true });
    outputStep();
  }
  rmSync(stage, { recursive: true, force: true });
  fsyncPath(dir);
}

/** Writes the journal, then renames every staged file into `dir` and removes `plan.remove` (synchronous). */
export function commitStage(dir: string, stage: string, plan: CommitPlan): void {
  for (const name of [...plan.files, ...plan.remove])
    if (!isPlainName(name)) throw new Error(`commit of ${dir}: '${name}' is not a plain file name`);
  for (const name of plan.files) fsyncPath(join(stage, name));
  const journal = join(stage, JOURNAL);
  const fd = openSync(journal, 'wx');
  try {
    writeFileSync(fd, JSON.stringify(plan));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncPath(stage);
  outputStep();
  untrackTemporary(stage); // from here on the stage is the journal: only rolled forward, never discarded
  applyCommit(dir, stage, plan);
}

function readJournal(stage: string): CommitPlan | undefined {
  const path = join(stage, JOURNAL);
  let text: string;
  try {
    if (statSync(path).size > MAX_JOURNAL_BYTES) return undefined;
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // no journal: the owner stopped before committing
  }
  try {
    const value = JSON.parse(text) as Partial<CommitPlan>;
    const files = Array.isArray(value.files) ? value.files : [];
    const remove = Array.isArray(value.remove) ? value.remove : [];
    return files.every(isPlainName) && remove.every(isPlainName) ? { files, remove } : undefined;
  } catch {
    return undefined; // a torn journal is never used: its renames had not started
  }
}

export interface Recovered {
  /** Commits of a process that is gone, finished now. */
  readonly rolledForward: number;
  /** Temporaries of processes that are gone, removed. */
  readonly removed: number;
}

/**
 * Cleans `dir` of what runs that are gone left behind (call while holding the folder's lock): finishes
 * their journaled commits, then removes their other temporaries (only names of our temporary naming whose
 * owner process no longer exists).
 */
export function recoverFolder(dir: string): Recovered {
  let rolledForward = 0;
  let removed = 0;
  const orphans = readdirSync(dir).filter((name) => {
    const owner = temporaryOwner(name);
    return owner !== undefined && !ownerIsAlive(owner);
  });
  // Journaled commits first: their stages hold the only copy of the new files.
  for (const name of orphans) {
    const plan = readJournal(join(dir, name));
    if (plan === undefined) continue;
    applyCommit(dir, join(dir, name), plan);
    rolledForward += 1;
  }
  for (const name of orphans) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    rmSync(path, { recursive: true, force: true });
    removed += 1;
  }
  return { rolledForward, removed };
}
