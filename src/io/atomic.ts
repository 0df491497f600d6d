/**
 * Atomic output: write under a temporary name in the destination folder, rename when complete.
 * On any error the temporary file is removed, so nothing is ever left under the final name.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export function temporaryNameFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Runs `write` on a fresh temporary file next to `finalPath`, then renames it into place. */
export async function writeFileAtomically<T>(finalPath: string, write: (handle: FileHandle, tmpPath: string) => Promise<T>): Promise<T> {
  const tmp = temporaryNameFor(finalPath);
  const handle = await open(tmp, 'wx');
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
  }
}
