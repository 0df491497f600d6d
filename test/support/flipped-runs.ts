/**
 * The file system as a FileTree, but strided reads (`readRunsInto`) of one tensor return its bytes with
 * the first one flipped: what a shard changed between two reads looks like, deterministically.
 */
import type { ByteSource, FileTree } from '../../src/io/byte-source.js';
import { defaultFiles } from '../../src/io/node-platform.js';

export function flippingStridedReads(tensor: string): FileTree {
  return {
    ...defaultFiles,
    async open(path: string): Promise<ByteSource> {
      const file = await defaultFiles.open(path);
      return {
        path: file.path,
        size: file.size,
        readAt: (offset, length, what) => file.readAt(offset, length, what),
        readInto: (target, offset, what) => file.readInto(target, offset, what),
        readChunks: (offset, length, chunkSize, what, reuse) => file.readChunks(offset, length, chunkSize, what, reuse),
        async readRunsInto(target, offsets, runLength, what) {
          await file.readRunsInto(target, offsets, runLength, what);
          if (what?.includes(`'${tensor}'`)) target[0] = (target[0] as number) ^ 0x01;
        },
        close: () => file.close(),
      };
    },
  };
}
