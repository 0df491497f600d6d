/**
 * A `FileTree` whose opens and reads first check an `AbortSignal` (E_ABORTED), so that a stopped
 * conversion ends within one read even while a checkpoint is being opened (its index read, its shards
 * opened, its object graph parsed); `closeAll` closes what was opened through it and is still open.
 */
import { throwIfAborted } from '../errors.js';
import type { ByteSource, FileTree } from './byte-source.js';

const READS = new Set<PropertyKey>(['readAt', 'readInto', 'readIntoWithCrc', 'readRunsInto', 'readChunks']);

export interface AbortableFiles {
  readonly files: FileTree;
  /** Closes every source opened through `files` that is not closed yet (after a failure). */
  closeAll(): Promise<void>;
}

export function abortableFiles(inner: FileTree, signal: AbortSignal): AbortableFiles {
  const open = new Map<ByteSource, () => Promise<void>>();
  const guard = (source: ByteSource): ByteSource => {
    let closed: Promise<void> | undefined;
    const close = () => {
      open.delete(source);
      closed ??= source.close();
      return closed;
    };
    open.set(source, close);
    // a Proxy, not a copy: a source's own methods and prototype (instanceof) stay as they are
    return new Proxy(source, {
      get(target, key) {
        if (key === 'close') return close;
        const value = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        if (!READS.has(key)) return value.bind(target);
        if (key === 'readChunks')
          return async function* (...args: unknown[]) {
            throwIfAborted(signal);
            yield* value.apply(target, args);
          };
        return (...args: unknown[]) => {
          throwIfAborted(signal);
          return value.apply(target, args);
        };
      },
    });
  };
  const files: FileTree = {
    paths: inner.paths,
    stat: (path) => inner.stat(path),
    list: (dir) => inner.list(dir),
    readText: (path) => {
      throwIfAborted(signal);
      return inner.readText(path);
    },
    open: async (path) => {
      throwIfAborted(signal);
      return guard(await inner.open(path));
    },
  };
  return {
    files,
    closeAll: async () => {
      for (const close of [...open.values()]) await close().catch(() => undefined);
    },
  };
}
