/**
 * A `FileTree` over `Blob`s (a browser's picked `File`s) at '/'-separated paths: reads are slices of the
 * blob, never the whole file. Folders are implied by the paths. Small texts are read synchronously by
 * the given reader (a worker's `FileReaderSync`).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { checkRange, type FileStat, type FileTree, ReadAtSource } from './byte-source.js';
import { POSIX_PATHS } from './posix-paths.js';

export interface PickedFile {
  /** Where the file sits in the tree, e.g. `/bert/bert_model.ckpt.index`. */
  readonly path: string;
  readonly blob: Blob;
}

class BlobSource extends ReadAtSource {
  constructor(
    readonly path: string,
    private readonly blob: Blob,
  ) {
    super();
  }

  get size(): number {
    return this.blob.size;
  }

  async readAt(offset: number, length: number, what = 'data'): Promise<Uint8Array> {
    checkRange(this.path, this.size, offset, length, what);
    const bytes = new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
    if (bytes.byteLength !== length) {
      throw new Tf2TorchError(ErrorCode.TRUNCATED, `${this.path}: file shrank while reading ${what} at ${offset}`, {
        file: this.path,
        offset,
      });
    }
    return bytes;
  }
}

export function blobFileTree(picked: readonly PickedFile[], readTextSync: (blob: Blob) => string): FileTree {
  const paths = POSIX_PATHS;
  const files = new Map<string, Blob>();
  const children = new Map<string, Set<string>>();
  for (const { path, blob } of picked) {
    const full = paths.resolve(path);
    files.set(full, blob);
    for (let at = full; at !== '/'; at = paths.dirname(at)) {
      const dir = paths.dirname(at);
      const names = children.get(dir) ?? new Set<string>();
      names.add(paths.basename(at));
      children.set(dir, names);
    }
  }
  const blobAt = (path: string): Blob => {
    const blob = files.get(paths.resolve(path));
    if (blob === undefined)
      throw new Tf2TorchError(ErrorCode.NOT_FOUND, `cannot open ${path}: not among the picked files`, { file: path });
    return blob;
  };
  return {
    paths,
    stat(path): FileStat | undefined {
      const full = paths.resolve(path);
      const blob = files.get(full);
      if (blob) return { kind: 'file', size: blob.size };
      return children.has(full) ? { kind: 'directory', size: 0 } : undefined;
    },
    list: (dir) => [...(children.get(paths.resolve(dir)) ?? [])],
    readText: (path) => readTextSync(blobAt(path)),
    open: async (path) => new BlobSource(paths.resolve(path), blobAt(path)),
  };
}
