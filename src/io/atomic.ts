/**
 * Atomic output: write under a temporary name in the destination folder, rename when complete.
 * On any error the temporary file is removed, so nothing is ever left under the final name.
 * Temporaries not yet renamed are tracked, so that an interrupted run (Ctrl-C) can remove them too.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const pendingTemporaries = new Set<string>();

/** Marks a temporary file or folder as in progress until `untrackTemporary`. */
export function trackTemporary(path: string): void {
  pendingTemporaries.add(path);
}

export function untrackTemporary(path: string): void {
  pendingTemporaries.delete(path);
}

/** Removes every temporary still in progress (synchronously: called on SIGINT/SIGTERM); returns them. */
export function removePendingTemporaries(): string[] {
  const removed = [...pendingTemporaries];
  for (const path of removed) rmSync(path, { recursive: true, force: true });
  pendingTemporaries.clear();
  return removed;
}

export function temporaryNameFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Runs `write` on a fresh temporary file next to `finalPath`, then renames it into place. */
export async function writeFileAtomically<T>(
  finalPath: string,
  write: (handle: FileHandle, tmpPath: string) => Promise<T>,
): Promise<T> {
  const tmp = temporaryNameFor(finalPath);
  const handle = await open(tmp, 'wx');
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
    throw error;
  } finally {
    untrackTemporary(tmp);
  }
}
