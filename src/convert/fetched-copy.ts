/**
 * Node: the local copies a URL conversion keeps of the bytes it fetched, when it reads its tensors
 * twice (`--format both`). Each is a sparse file on the output's file system (where the output's own
 * bytes must fit anyway), unlinked as soon as it is created: it never appears under any name, and its
 * space is freed when the run ends, however it ends.
 */
import { existsSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileSystemError } from '../errors.js';
import type { FetchedCopies, FetchedCopy } from '../io/http-source.js';

let made = 0;

/** The folder itself when it exists, else its nearest existing ancestor (the output's file system). */
function existingFolder(folder: string): string {
  let at = folder;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

class SparseCopy implements FetchedCopy {
  private handle: Promise<FileHandle> | undefined;
  private closed = false;

  constructor(private readonly folder: string) {}

  private file(): Promise<FileHandle> {
    this.handle ??= (async () => {
      const path = join(existingFolder(this.folder), `.tf2torch-fetched-${process.pid}-${++made}`);
      try {
        const handle = await open(path, 'wx+', 0o600);
        await unlink(path);
        return handle;
      } catch (error) {
        throw fileSystemError(error, path, 'keep a local copy of the fetched bytes in');
      }
    })();
    return this.handle;
  }

  async write(bytes: Uint8Array, position: number): Promise<void> {
    const handle = await this.file();
    for (let done = 0; done < bytes.byteLength; ) {
      const { bytesWritten } = await handle
        .write(bytes, done, bytes.byteLength - done, position + done)
        .catch((error: unknown) => {
          throw fileSystemError(error, undefined, 'keep a local copy of the fetched bytes');
        });
      done += bytesWritten;
    }
  }

  async readInto(target: Uint8Array, position: number): Promise<void> {
    const handle = await this.file();
    for (let done = 0; done < target.byteLength; ) {
      const { bytesRead } = await handle.read(target, done, target.byteLength - done, position + done);
      if (bytesRead === 0) throw new Error('the local copy of fetched bytes ended early');
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    if (this.closed || this.handle === undefined) return;
    this.closed = true;
    await (await this.handle.catch(() => undefined))?.close();
  }
}

/** Local copies in `folder` (the output folder, or where it will be). */
export function fetchedCopiesIn(folder: string): FetchedCopies {
  return () => new SparseCopy(folder);
}
