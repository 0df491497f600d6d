/**
 * A `FileTree` over `Blob`s (a browser's picked `File`s) at '/'-separated paths: reads are slices of the
 * blob, never the whole file. Folders are implied by the paths. Small texts are read synchronously by
 * the given reader (a worker's `FileReaderSync`).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { checkRange, type FileStat, type FileTree, ReadAtSource, readChunksOf } from './byte-source.js';
import { POSIX_PATHS } from './posix-paths.js';

export interface PickedFile {
  /** Where the file sits in the tree, e.g. `/bert/bert_model.ckpt.index`. */
  readonly path: string;
  readonly blob: Blob;
}

/** Chunks handed out by a reusing `readChunks`: the one held, the one read ahead, the one after (see ByteSource). */
const REUSED_CHUNK_BUFFERS = 3;

/**
 * Reads copy the blob's stream into the caller's bytes (`readInto`), so that a conversion's reads allocate
 * no array per read: a Blob slice's `arrayBuffer()` would make one per chunk, 440 MB of garbage for a
 * BERT-base checkpoint, which the page's renderer held until collected (measured: most of its growth).
 */
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
    const bytes = new Uint8Array(length);
    await this.readInto(bytes, offset, what);
    return bytes;
  }

  override async readInto(target: Uint8Array, offset: number, what = 'data'): Promise<void> {
    checkRange(this.path, this.size, offset, target.byteLength, what);
    const reader = this.blob
      .slice(offset, offset + target.byteLength)
      .stream()
      .getReader();
    let at = 0;
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const piece = read.value as Uint8Array;
        if (at + piece.byteLength > target.byteLength) throw this.changed(what, offset);
        target.set(piece, at);
        at += piece.byteLength;
      }
    } finally {
      reader.releaseLock();
    }
    if (at !== target.byteLength) throw this.changed(what, offset);
  }

  /** With `reuse`, chunks are read into a few buffers in turn instead of a new one each. */
  override readChunks(
    offset: number,
    length: number,
    chunkSize: number,
    what = 'data',
    reuse = false,
  ): AsyncGenerator<Uint8Array> {
    if (!reuse) return super.readChunks(offset, length, chunkSize, what);
    checkRange(this.path, this.size, offset, length, what);
    const step = Math.max(1, Math.min(chunkSize, length));
    const buffers = Array.from({ length: REUSED_CHUNK_BUFFERS }, () => new Uint8Array(step));
    let n = 0;
    return readChunksOf(
      {
        path: this.path,
        size: this.size,
        readAt: async (at, count, readWhat) => {
          const target = (buffers[n++ % REUSED_CHUNK_BUFFERS] as Uint8Array).subarray(0, count);
          await this.readInto(target, at, readWhat);
          return target;
        },
      },
      offset,
      length,
      step,
      what,
    );
  }

  private changed(what: string, offset: number): Tf2TorchError {
    return new Tf2TorchError(ErrorCode.TRUNCATED, `${this.path}: file changed while reading ${what} at ${offset}`, {
      file: this.path,
      offset,
    });
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
