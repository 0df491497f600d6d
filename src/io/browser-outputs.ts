/**
 * A browser's `OutputTree` over a File System Access folder (`showDirectoryPicker`): each file is written
 * into the browser's swap file and appears under its name only when closed, so a failed or cancelled
 * write leaves nothing. Typed structurally, so that this module needs no DOM library.
 */
import type { ByteSink, OutputTree } from './byte-sink.js';
import { POSIX_PATHS } from './posix-paths.js';

/** The parts of `FileSystemWritableFileStream` used here. */
export interface WritableFileLike {
  write(data: { type: 'write'; position: number; data: Uint8Array<ArrayBuffer> }): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** The parts of `FileSystemDirectoryHandle` used here. */
export interface DirectoryHandleLike {
  getFileHandle(name: string, options: { create: boolean }): Promise<{ createWritable(): Promise<WritableFileLike> }>;
  removeEntry(name: string): Promise<void>;
}

/** Files written into `folder` (at its top level); `signal` abandons the file being written. */
export function folderOutputs(folder: DirectoryHandleLike, signal?: AbortSignal): OutputTree {
  return {
    paths: POSIX_PATHS,
    async writeFile(path, write) {
      const name = POSIX_PATHS.basename(path);
      // getFileHandle creates an empty file at once: a new one is removed again if the write fails
      const existed = await folder.getFileHandle(name, { create: false }).then(
        () => true,
        () => false,
      );
      const handle = await folder.getFileHandle(name, { create: true });
      const stream = await handle.createWritable();
      const sink: ByteSink = {
        write: (bytes, position) => {
          signal?.throwIfAborted();
          return stream.write({ type: 'write', position, data: bytes as Uint8Array<ArrayBuffer> });
        },
      };
      try {
        const result = await write(sink);
        signal?.throwIfAborted();
        await stream.close();
        return result;
      } catch (error) {
        await stream.abort().catch(() => undefined);
        if (!existed) await folder.removeEntry(name).catch(() => undefined);
        throw error;
      }
    },
    remove: (path) => folder.removeEntry(POSIX_PATHS.basename(path)).catch(() => undefined),
  };
}
