/**
 * A `FileTree` whose URL paths are remote objects and whose other paths are a local tree's. A URL tree
 * cannot be listed and its answers are synchronous, so the files are found first (`probe`: a HEAD per
 * large file, a whole GET per small one, kept in memory) and the openers then see only those: their
 * folders are implied by their paths. Large files are read by ranges (`HttpSource`), small ones from
 * memory; every object keeps the identity it had when probed.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { type ByteSource, checkRange, type FileStat, type FileTree, ReadAtSource } from './byte-source.js';
import { HttpClient, type HttpOptions } from './http-client.js';
import { type FetchedCopies, HttpSource, RemoteObject } from './http-source.js';
import { POSIX_PATHS } from './posix-paths.js';
import { type ByteRange, Prefetcher } from './prefetcher.js';
import { utf8Text } from './text.js';
import { httpUrlOf, isUrl, redactUrl, urlPaths } from './url-paths.js';

/** Small files (index, config, vocabulary, state file) are read whole, up to this size. */
export const MAX_WHOLE_FILE_BYTES = 256 * 1024 * 1024;
/** Probes at once (HEADs of shards and of possible sidecars). */
const PROBE_CONCURRENCY = 8;

/** What a probe reads: `whole` (kept in memory) or `ranges` (only its size and identity now). */
export type ProbeKind = 'whole' | 'ranges';

type Remote = { kind: 'whole'; bytes: Uint8Array } | { kind: 'ranges'; object: RemoteObject };

class MemorySource extends ReadAtSource {
  constructor(
    readonly path: string,
    private readonly bytes: Uint8Array,
  ) {
    super();
  }
  get size(): number {
    return this.bytes.byteLength;
  }
  async readAt(offset: number, length: number, what = 'data'): Promise<Uint8Array> {
    checkRange(this.path, this.size, offset, length, what);
    return this.bytes.slice(offset, offset + length);
  }
}

export interface UrlTreeStats {
  /** Body bytes received, retries included. */
  readonly bytesFetched: number;
  readonly requests: number;
  /** Bytes of the ranges announced by `expect` (what the conversion needs from the large files). */
  readonly bytesExpected: number;
  /** Bytes of the files read whole (index, config, vocabulary). */
  readonly bytesWhole: number;
  /** Sizes of every large file probed (what downloading the checkpoint would have cost). */
  readonly bytesOfLargeFiles: number;
}

/** A remote file a conversion read: `bytes` when it was read whole (small files), else read by ranges. */
export interface RemoteFileRead {
  readonly url: string;
  readonly size: number;
  readonly bytes?: Uint8Array;
}

export interface UrlTreeOptions extends HttpOptions {
  /** Bytes fetched ahead of the reader and held, over every object (default `BUDGET_BYTES`). */
  readonly fetchAheadBytes?: number;
}

export class UrlFileTree implements FileTree {
  readonly paths;
  readonly client: HttpClient;
  private readonly remotes = new Map<string, Remote>();
  private readonly folders = new Set<string>();
  private readonly prefetcher: Prefetcher;
  private copies: FetchedCopies | undefined;
  /** The remote files opened or read so far, as their paths are spelled here. */
  private readonly used = new Set<string>();

  constructor(
    private readonly local: FileTree,
    private readonly options: UrlTreeOptions = {},
  ) {
    this.paths = urlPaths(local.paths);
    this.client = new HttpClient(options);
    this.prefetcher = new Prefetcher(options.fetchAheadBytes, undefined, (bytes) => this.client.newBuffer(bytes));
  }

  private key(path: string): string {
    return this.paths.resolve(path);
  }

  /** Marks a URL as a folder (a checkpoint folder named with its `checkpoint` state file). */
  addFolder(url: string): void {
    for (let at = this.key(url); !this.folders.has(at); ) {
      this.folders.add(at);
      const up = this.paths.dirname(at);
      if (up === at) break;
      at = up;
    }
  }

  /**
   * Finds the objects at `urls` (absent ones stay absent: a 404 is not an error here). Probes made
   * together, by one call or several, share `PROBE_CONCURRENCY` requests in the order asked: a caller may
   * ask for what it needs first, then for what it will need later, and await each when it needs it.
   */
  probe(urls: readonly string[], kind: ProbeKind): Promise<void> {
    const todo = [...new Set(urls.map((u) => this.key(u)))].filter((u) => isUrl(u) && !this.remotes.has(u));
    return Promise.all(todo.map((url) => this.probeOnce(url, kind))).then(() => undefined);
  }

  /** Probes asked for and not yet answered, by URL: asked again meanwhile, a URL is not requested twice. */
  private readonly unanswered = new Map<string, Promise<void>>();
  private readonly probes: (() => void)[] = [];
  private probing = 0;

  private probeOnce(url: string, kind: ProbeKind): Promise<void> {
    const asked = this.unanswered.get(url);
    if (asked !== undefined) return asked;
    const probe = this.queued(() => this.probeOne(url, kind)).finally(() => this.unanswered.delete(url));
    this.unanswered.set(url, probe);
    return probe;
  }

  /** `task` run once fewer than `PROBE_CONCURRENCY` others run. */
  private queued(task: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.probes.push(() => {
        this.probing++;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.probing--;
            this.probes.shift()?.();
          });
      });
      if (this.probing < PROBE_CONCURRENCY) this.probes.shift()?.();
    });
  }

  private async probeOne(url: string, kind: ProbeKind): Promise<void> {
    const fetched = httpUrlOf(url, this.options.gcsBase);
    if (kind === 'whole') {
      const got = await this.client.getWhole(fetched, url, MAX_WHOLE_FILE_BYTES);
      if (got !== undefined) this.add(url, { kind: 'whole', bytes: got.bytes });
      return;
    }
    const identity = await this.client.head(fetched, url);
    if (identity === undefined) return;
    this.client.warmUp();
    const object = new RemoteObject(url, fetched, identity, this.client, this.prefetcher);
    if (this.copies !== undefined) object.keepCopy(this.copies(url));
    this.add(url, { kind: 'ranges', object });
  }

  private add(url: string, remote: Remote): void {
    this.remotes.set(url, remote);
    this.addFolder(this.paths.dirname(url));
  }

  /** The reads a conversion will make of a large file, in order: fetched ahead within the budget. */
  expect(path: string, ranges: readonly ByteRange[]): void {
    const remote = this.remotes.get(this.key(path));
    if (remote?.kind === 'ranges') remote.object.expect(ranges);
  }

  /**
   * From now on, what is fetched of the large files is kept in local copies made by `copies` and read
   * from there again (a conversion that reads its tensors twice fetches them once).
   */
  keepFetchedCopies(copies: FetchedCopies): void {
    this.copies = copies;
    for (const remote of this.remotes.values())
      if (remote.kind === 'ranges') remote.object.keepCopy(copies(remote.object.path));
  }

  /** Ends the requests in flight and refuses new ones: the run is over (failed or done). */
  stop(): void {
    this.client.stop();
  }

  /** `stop`, then the local copies closed (and with them their bytes). */
  async close(): Promise<void> {
    this.stop();
    this.copies = undefined;
    for (const remote of this.remotes.values()) if (remote.kind === 'ranges') await remote.object.closeCopy();
  }

  stats(): UrlTreeStats {
    let bytesWhole = 0;
    let bytesOfLargeFiles = 0;
    for (const remote of this.remotes.values())
      if (remote.kind === 'whole') bytesWhole += remote.bytes.byteLength;
      else bytesOfLargeFiles += remote.object.size;
    return {
      bytesFetched: this.client.bytesFetched,
      requests: this.client.requests,
      bytesExpected: this.prefetcher.expectedBytes,
      bytesWhole,
      bytesOfLargeFiles,
    };
  }

  /** Every remote file opened or read so far: its URL, size, and its bytes when it was read whole. */
  filesRead(): RemoteFileRead[] {
    return [...this.used].map((url) => {
      const remote = this.remotes.get(url) as Remote;
      return remote.kind === 'whole'
        ? { url, size: remote.bytes.byteLength, bytes: remote.bytes }
        : { url, size: remote.object.size };
    });
  }

  stat(path: string): FileStat | undefined {
    if (!isUrl(path)) return this.local.stat(path);
    const key = this.key(path);
    const remote = this.remotes.get(key);
    if (remote !== undefined)
      return { kind: 'file', size: remote.kind === 'whole' ? remote.bytes.byteLength : remote.object.size };
    return this.folders.has(key) ? { kind: 'directory', size: 0 } : undefined;
  }

  list(dir: string): string[] {
    if (!isUrl(dir)) return this.local.list(dir);
    const key = this.key(dir);
    const names = new Set<string>();
    for (const path of [...this.remotes.keys(), ...this.folders])
      if (path !== key && this.paths.dirname(path) === key) names.add(POSIX_PATHS.basename(path));
    return [...names];
  }

  readText(path: string): string {
    if (!isUrl(path)) return this.local.readText(path);
    const key = this.key(path);
    const remote = this.remotes.get(key);
    if (remote?.kind === 'whole') {
      this.used.add(key);
      return utf8Text(remote.bytes);
    }
    throw this.notFound(path);
  }

  async open(path: string): Promise<ByteSource> {
    if (!isUrl(path)) return this.local.open(path);
    const key = this.key(path);
    const remote = this.remotes.get(key);
    if (remote === undefined) throw this.notFound(path);
    this.used.add(key);
    return remote.kind === 'whole' ? new MemorySource(key, remote.bytes) : new HttpSource(remote.object);
  }

  private notFound(path: string): Tf2TorchError {
    const where = redactUrl(path);
    return new Tf2TorchError(ErrorCode.NOT_FOUND, `cannot open ${where}: no such object`, { file: where });
  }
}
