/**
 * Browser `OutputTree`s: a File System Access folder (each file written to the browser's swap file and
 * committed on close, so a failed write leaves nothing), or files kept as Blobs for download.
 */
import { type ByteSink, type OutputTree, POSIX_PATHS } from '../../src/portable.js';

export function folderOutputs(folder: FileSystemDirectoryHandle): OutputTree {
  return {
    paths: POSIX_PATHS,
    async writeFile(path, write) {
      const handle = await folder.getFileHandle(POSIX_PATHS.basename(path), { create: true });
      const stream = await handle.createWritable();
      const sink: ByteSink = {
        write: (bytes, position) => stream.write({ type: 'write', position, data: bytes as Uint8Array<ArrayBuffer> }),
      };
      try {
        const result = await write(sink);
        await stream.close();
        return result;
      } catch (error) {
        await stream.abort().catch(() => undefined);
        throw error;
      }
    },
    remove: (path) => folder.removeEntry(POSIX_PATHS.basename(path)).catch(() => undefined),
  };
}

/** Large writes become Blob parts (kept out of the worker's heap); small ones stay patchable (zip CRCs). */
const BLOB_PART_BYTES = 64 * 1024;

export function downloadOutputs(): { outputs: OutputTree; files: Map<string, Blob> } {
  const files = new Map<string, Blob>();
  const outputs: OutputTree = {
    paths: POSIX_PATHS,
    async writeFile(path, write) {
      const parts: { at: number; part: Uint8Array<ArrayBuffer> | Blob }[] = [];
      let end = 0;
      const sink: ByteSink = {
        async write(bytes, position) {
          if (position === end) {
            const copy = bytes.slice(); // writers reuse their buffers once a write resolves
            parts.push({ at: end, part: copy.byteLength >= BLOB_PART_BYTES ? new Blob([copy]) : copy });
            end += bytes.byteLength;
            return;
          }
          const target = parts.find((p) => p.at <= position && position + bytes.byteLength <= p.at + partSize(p.part));
          if (!target || target.part instanceof Blob) throw new Error(`cannot rewrite ${path} at ${position}`);
          target.part.set(bytes, position - target.at);
        },
      };
      const result = await write(sink);
      files.set(POSIX_PATHS.basename(path), new Blob(parts.map((p) => p.part)));
      return result;
    },
    remove: async (path) => {
      files.delete(POSIX_PATHS.basename(path));
    },
  };
  return { outputs, files };
}

const partSize = (part: Uint8Array<ArrayBuffer> | Blob) => (part instanceof Blob ? part.size : part.byteLength);
