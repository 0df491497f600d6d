/**
 * Requests for remote checkpoints (over `#platform`'s transport: `node:http` under Node, `fetch` in
 * browsers): an object's
 * identity (size, ETag, Cloud Storage generation) pinned on first contact and required by every later
 * request (`If-Match`), ranged reads resumed where a dropped body stopped, transient failures retried
 * with backoff within a bounded total, permanent ones reported at once. Messages name the URL with its
 * credentials redacted; the Authorization header is never part of a message.
 */
import { httpTransport, startRangeThread } from '#platform';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import {
  describeFailure,
  identityOf,
  isTransientStatus,
  type ObjectIdentity,
  parseContentRange,
  retryAfterMs,
  TransientFailure,
} from './http-answers.js';
import type { HttpAnswer, HttpTransport } from './http-transport.js';
import { redactUrl } from './url-paths.js';

export interface HttpLimits {
  /**
   * Tries of one request, the first included (each dropped connection, timeout, 429 or 5xx is one); a
   * try that received data before it failed starts the count again (the rest of the range is asked).
   */
  readonly maxAttempts: number;
  /**
   * Tries of one request in all, those that received data included: a connection that keeps breaking
   * mid-body (a byte at a time) is reported rather than retried for ever.
   */
  readonly maxTotalAttempts: number;
  /** The first wait before a retry; doubled at each further one, up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** Waiting between retries of one request stops here: the failure is then reported. */
  readonly maxRetryWaitMs: number;
  /** No response or no body byte for this long: the request is dropped and retried. */
  readonly stallMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxAttempts: 7,
  maxTotalAttempts: 64,
  backoffMs: 250,
  maxBackoffMs: 8_000,
  maxRetryWaitMs: 30_000,
  stallMs: 30_000,
};

export interface HttpOptions {
  /** The Authorization header's value (from the environment; never from the command line). */
  readonly authorization?: string;
  readonly limits?: Partial<HttpLimits>;
  /** Where gs:// URLs are fetched (default Cloud Storage's public endpoint; tests point it elsewhere). */
  readonly gcsBase?: string;
  /** How requests are sent (default the platform's). */
  readonly transport?: HttpTransport;
}

/** Waits `ms`, or less when `signal` aborts first. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** The few things a ranged read needs of its client (the range thread is one too). */
export interface RangeReader {
  readRange(url: string, display: string, identity: ObjectIdentity, target: Uint8Array, offset: number): Promise<void>;
}

export class HttpClient implements RangeReader {
  /** Body bytes received (retried pieces included) and requests made here, for progress and tests. */
  private fetchedHere = 0;
  private requestsHere = 0;
  private readonly limits: HttpLimits;
  private readonly transport: HttpTransport;
  /** Aborted by `stop`: every request in flight ends, no new one starts. */
  private readonly stopped = new AbortController();
  /**
   * Where ranges into shared memory are read (Node, the platform's transport): started at the first,
   * undefined until then, null where none can start.
   */
  private thread: ReturnType<typeof startRangeThread> | null | undefined;

  /** `inThisThread`: never hand ranges to a thread (the range thread's own client). */
  constructor(
    private readonly options: HttpOptions = {},
    inThisThread = false,
  ) {
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
    this.transport = options.transport ?? httpTransport;
    if (inThisThread || options.transport !== undefined) this.thread = null;
  }

  get bytesFetched(): number {
    return this.fetchedHere + (this.thread?.bytesFetched ?? 0);
  }

  get requests(): number {
    return this.requestsHere + (this.thread?.requests ?? 0);
  }

  /** Of `requests`, those the range thread made. */
  get requestsInThread(): number {
    return this.thread?.requests ?? 0;
  }

  /**
   * A buffer for bodies fetched ahead: in shared memory where a range thread may fill it (ranges into
   * other memory are read here).
   */
  newBuffer(bytes: number): Uint8Array {
    return this.thread === null ? new Uint8Array(bytes) : new Uint8Array(new SharedArrayBuffer(bytes));
  }

  /**
   * Starts the range thread now, where one will read (a remote object is to be read by ranges): its
   * start (about 100 ms) then overlaps the planning instead of delaying the first range.
   */
  warmUp(): void {
    if (this.thread !== undefined || this.stopped.signal.aborted) return;
    const { authorization, limits } = this.options;
    this.thread = startRangeThread({ authorization, limits }) ?? null;
  }

  /**
   * `source` (bytes fetched ahead) copied into `target` by the range thread, where both are shared
   * memory and the thread runs: the main thread's CPU goes to the conversion. Undefined: copy here.
   * With `crc`, resolves to the CRC-32C of the copied bytes continued from it, computed there too.
   */
  copyElsewhere(target: Uint8Array, source: Uint8Array, crc?: number): Promise<number | undefined> | undefined {
    if (!this.thread || this.stopped.signal.aborted) return undefined;
    return this.thread.copy(target, source, crc);
  }

  private rangeThread(target: Uint8Array): RangeReader | undefined {
    if (this.thread === null || !(target.buffer instanceof SharedArrayBuffer) || this.stopped.signal.aborted)
      return undefined;
    this.warmUp();
    return this.thread?.accepts(target) ? this.thread : undefined;
  }

  private headers(identity?: ObjectIdentity, range?: string): Record<string, string> {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (this.options.authorization !== undefined) headers.authorization = this.options.authorization;
    if (range !== undefined) headers.range = range;
    if (identity?.etag !== undefined && !identity.etag.startsWith('W/')) headers['if-match'] = identity.etag;
    if (identity?.generation !== undefined) headers['x-goog-if-generation-match'] = identity.generation;
    return headers;
  }

  /** A permanent failure: the URL, the status, and what to do. */
  private refused(display: string, response: HttpAnswer): Tf2TorchError {
    const { status } = response;
    const where = redactUrl(display);
    if (status === 404 || status === 410)
      return new Tf2TorchError(ErrorCode.NOT_FOUND, `${where}: not found (HTTP ${status}); check the URL`, {
        file: where,
      });
    if (status === 401 || status === 403)
      return new Tf2TorchError(
        ErrorCode.PERMISSION,
        `${where}: access denied (HTTP ${status}); for a private object set TF2TORCH_HTTP_AUTHORIZATION to the Authorization header (e.g. "Bearer <token>"), or check that it is the one you meant`,
        { file: where },
      );
    if (status === 412) return this.changed(display, 'the server refuses the version read first (HTTP 412)');
    return new Tf2TorchError(ErrorCode.NETWORK, `${where}: the server answered HTTP ${status} ${response.statusText}`, {
      file: where,
    });
  }

  /**
   * Ends the requests in flight (pieces fetched ahead of a run that failed) and refuses new ones, so
   * that nothing keeps the process waiting for bytes nobody will read.
   */
  stop(): void {
    this.stopped.abort();
    this.thread?.stop((display) => this.cancelled(display));
  }

  private cancelled(display: string): Tf2TorchError {
    const where = redactUrl(display);
    return new Tf2TorchError(ErrorCode.NETWORK, `${where}: request cancelled, the reads of this run were stopped`, {
      file: where,
    });
  }

  changed(display: string, why: string): Tf2TorchError {
    const where = redactUrl(display);
    return new Tf2TorchError(
      ErrorCode.SOURCE_CHANGED,
      `${where}: the object changed while it was being read (${why}); nothing was written: run again once it is no longer being replaced`,
      { file: where },
    );
  }

  /** The identity the response shows, checked against the pinned one. */
  private checkIdentity(display: string, response: HttpAnswer, pinned: ObjectIdentity | undefined): void {
    if (pinned === undefined) return;
    const etag = response.header('etag');
    const generation = response.header('x-goog-generation');
    if (pinned.etag !== undefined && etag !== undefined && etag !== pinned.etag)
      throw this.changed(display, `ETag ${pinned.etag} became ${etag}`);
    if (pinned.generation !== undefined && generation !== undefined && generation !== pinned.generation)
      throw this.changed(display, `generation ${pinned.generation} became ${generation}`);
  }

  /**
   * One request with retries: `attempt` gets a fresh signal (aborted after `stallMs` without progress,
   * which it reports through `alive`) and returns a result, throws a Tf2TorchError (permanent) or
   * a TransientFailure / network error (retried).
   */
  private async withRetries<T>(
    display: string,
    attempt: (signal: AbortSignal, alive: () => void) => Promise<T>,
  ): Promise<T> {
    const { maxAttempts, maxTotalAttempts, backoffMs, maxBackoffMs, maxRetryWaitMs, stallMs } = this.limits;
    let waited = 0;
    let failure = '';
    let total = 0;
    for (let tries = 1; ; tries++) {
      total++;
      if (this.stopped.signal.aborted) throw this.cancelled(display);
      let progressed = false;
      const controller = new AbortController();
      const stop = () => controller.abort(this.cancelled(display));
      this.stopped.signal.addEventListener('abort', stop, { once: true });
      // one timer per request, re-armed only when it fires: bodies arrive in thousands of chunks
      let last = Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const check = () => {
        const idle = Date.now() - last;
        if (idle >= stallMs) controller.abort(new Error(`no data for ${stallMs} ms`));
        else timer = setTimeout(check, stallMs - idle);
      };
      timer = setTimeout(check, stallMs);
      const alive = () => {
        last = Date.now();
        progressed = true;
      };
      let retryAfter: number | undefined;
      try {
        this.requestsHere++;
        return await attempt(controller.signal, alive);
      } catch (error) {
        if (error instanceof Tf2TorchError) throw error;
        if (this.stopped.signal.aborted) throw this.cancelled(display);
        failure = controller.signal.aborted ? `no data for ${stallMs} ms` : describeFailure(error);
        if (error instanceof TransientFailure) retryAfter = error.retryAfterMs;
        if (/ENOTFOUND|EAI_AGAIN|ERR_INVALID_URL/.test(failure))
          throw new Tf2TorchError(ErrorCode.NETWORK, `${redactUrl(display)}: ${failure}; check the host name`, {
            file: redactUrl(display),
          });
      } finally {
        clearTimeout(timer);
        this.stopped.signal.removeEventListener('abort', stop);
      }
      if (progressed) {
        // a body that brought data before it broke: the connection works, the count starts again
        tries = 1;
        waited = 0;
      }
      const wait = Math.min(maxBackoffMs, retryAfter ?? backoffMs * 2 ** (tries - 1));
      if (tries >= maxAttempts || total >= maxTotalAttempts || waited + wait > maxRetryWaitMs)
        throw new Tf2TorchError(
          ErrorCode.NETWORK,
          `${redactUrl(display)}: ${failure}, ${total} time${total > 1 ? 's' : ''} (retried for ${(waited / 1000).toFixed(1)} s); check the connection and run again`,
          { file: redactUrl(display) },
        );
      waited += wait;
      await sleep(wait, this.stopped.signal);
    }
  }

  private async send(
    url: string,
    display: string,
    init: { method: 'GET' | 'HEAD'; headers: Record<string, string>; signal: AbortSignal },
  ): Promise<HttpAnswer> {
    const response = await this.transport(url, init);
    if (response.status >= 200 && response.status < 300) return response;
    response.cancel();
    if (isTransientStatus(response.status))
      throw new TransientFailure(`HTTP ${response.status} ${response.statusText}`, retryAfterMs(response));
    throw this.refused(display, response);
  }

  /** Size and identity of the object at `url`, or undefined when there is none (404). */
  async head(url: string, display: string): Promise<ObjectIdentity | undefined> {
    try {
      return await this.withRetries(display, async (signal) => {
        const response = await this.send(url, display, { method: 'HEAD', headers: this.headers(), signal });
        response.cancel();
        const length = response.header('content-length');
        const size = length === undefined ? Number.NaN : Number(length);
        if (!Number.isSafeInteger(size) || size < 0)
          throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `${redactUrl(display)}: the server gives no size`, {
            file: redactUrl(display),
          });
        return identityOf(response, size);
      });
    } catch (error) {
      if (error instanceof Tf2TorchError && error.code === ErrorCode.NOT_FOUND) return undefined;
      throw error;
    }
  }

  /** The whole object (at most `maxBytes`) and its identity, or undefined when there is none (404). */
  async getWhole(
    url: string,
    display: string,
    maxBytes: number,
  ): Promise<{ bytes: Uint8Array; identity: ObjectIdentity } | undefined> {
    try {
      return await this.withRetries(display, async (signal, alive) => {
        const response = await this.send(url, display, { method: 'GET', headers: this.headers(), signal });
        const length = Number(response.header('content-length') ?? Number.NaN);
        if (length > maxBytes) {
          response.cancel();
          throw new Tf2TorchError(
            ErrorCode.LIMIT,
            `${redactUrl(display)}: ${length} bytes, more than the ${maxBytes} read whole for a small file`,
            { file: redactUrl(display) },
          );
        }
        const parts: Uint8Array[] = [];
        let total = 0;
        await this.readBody(response, alive, (chunk) => {
          total += chunk.byteLength;
          if (total > maxBytes)
            throw new Tf2TorchError(ErrorCode.LIMIT, `${redactUrl(display)}: more than ${maxBytes} bytes`, {
              file: redactUrl(display),
            });
          parts.push(chunk);
        });
        if (Number.isSafeInteger(length) && total !== length)
          throw new TransientFailure(`body ended after ${total} of ${length} bytes`);
        const bytes = new Uint8Array(total);
        let at = 0;
        for (const part of parts) {
          bytes.set(part, at);
          at += part.byteLength;
        }
        return { bytes, identity: identityOf(response, total) };
      });
    } catch (error) {
      if (error instanceof Tf2TorchError && error.code === ErrorCode.NOT_FOUND) return undefined;
      throw error;
    }
  }

  /**
   * Fills `target` with the pinned object's bytes at `offset` by Range requests; a body cut short is
   * resumed where it stopped, under the same If-Match.
   */
  async readRange(url: string, display: string, identity: ObjectIdentity, target: Uint8Array, offset: number) {
    const thread = this.rangeThread(target);
    if (thread !== undefined) return thread.readRange(url, display, identity, target, offset);
    let done = 0;
    await this.withRetries(display, async (signal, alive) => {
      while (done < target.byteLength) {
        const start = offset + done;
        const end = offset + target.byteLength - 1;
        const response = await this.send(url, display, {
          method: 'GET',
          headers: this.headers(identity, `bytes=${start}-${end}`),
          signal,
        });
        const range = parseContentRange(response.header('content-range'));
        if (range !== undefined && range.total !== identity.size) {
          response.cancel();
          throw this.changed(display, `its size went from ${identity.size} to ${range.total} bytes`);
        }
        this.checkIdentity(display, response, identity);
        if (response.status === 200) {
          response.cancel();
          throw new Tf2TorchError(
            ErrorCode.UNSUPPORTED,
            `${redactUrl(display)}: the server ignores Range requests, so the bytes needed cannot be read alone; download the checkpoint and convert the local copy`,
            { file: redactUrl(display) },
          );
        }
        if (range === undefined || range.start !== start || range.end > end) {
          response.cancel();
          throw new Tf2TorchError(
            ErrorCode.NETWORK,
            `${redactUrl(display)}: asked for bytes ${start}-${end}, the server answered ${response.header('content-range') ?? 'no Content-Range'}`,
            { file: redactUrl(display) },
          );
        }
        const expected = range.end - range.start + 1;
        let received = 0;
        if (response.readBodyInto !== undefined) {
          await response.readBodyInto(target.subarray(done, done + expected), (n) => {
            alive();
            this.fetchedHere += n;
            done += n;
            received += n;
          });
        } else {
          await this.readBody(response, alive, (chunk) => {
            const n = Math.min(chunk.byteLength, expected - received);
            target.set(chunk.subarray(0, n), done);
            done += n;
            received += n;
          });
        }
        if (received < expected) throw new TransientFailure(`body ended after ${received} of ${expected} bytes`);
      }
    });
  }

  private readBody(response: HttpAnswer, alive: () => void, onChunk: (chunk: Uint8Array) => void): Promise<void> {
    return response.readBody((chunk) => {
      alive();
      this.fetchedHere += chunk.byteLength;
      onChunk(chunk);
    });
  }
}
