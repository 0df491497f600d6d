/**
 * The output seam: writers produce bytes into a `ByteSink` (positioned writes: zip patches each CRC in
 * place) and create files through an `OutputTree`, which makes each file appear under its final name
 * only once complete. Node implements it with temporary files renamed into place (`node-platform.ts`);
 * a browser with File System Access writable streams or downloads.
 */
import type { PathSyntax } from './byte-source.js';

export interface ByteSink {
  /** Writes all of `bytes` at `position`. */
  write(bytes: Uint8Array, position: number): Promise<void>;
  /**
   * Hints for a sink that streams its bytes onward and cannot seek back (a zip download): bytes from
   * `position` on may still be rewritten (`hold`) until `release`. Sinks that can seek ignore them.
   */
  hold?(position: number): void;
  release?(): Promise<void>;
}

export interface OutputTree {
  readonly paths: PathSyntax;
  /** Runs `write` on a fresh file; the file exists under `path` only when `write` succeeded. */
  writeFile<T>(path: string, write: (sink: ByteSink) => Promise<T>): Promise<T>;
  /** Removes a file this tree wrote (cleanup of a partial set); absent is fine. */
  remove(path: string): Promise<void>;
}

/** A small text file (config.json, an index), UTF-8. */
export async function writeTextFile(out: OutputTree, path: string, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  await out.writeFile(path, (sink) => sink.write(bytes, 0));
}
