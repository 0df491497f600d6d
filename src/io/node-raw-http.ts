/**
 * Plain-HTTP requests over `node:net` sockets that read into a buffer of our choosing (`onread`): the
 * head into one reusable buffer per socket, a ranged body read `readBodyInto` straight into the
 * caller's buffer (the socket paused from the end of the head until the caller asks, so the bytes
 * read with the head are not overwritten meanwhile). No Buffer per socket read, no parser per chunk, no
 * copy of the body but the part that came with the head: hundreds of megabytes of ranged bodies make
 * neither garbage nor work on the main thread. Only answers framed by Content-Length (or without a
 * body) are read here; a body nobody wants is read through and dropped when short (a 404's page: the
 * connection is kept), else its connection closed. Anything else (a redirect, a chunked body) is asked
 * again through `node:http` (`fallback`): requests are GET and HEAD, safe to repeat.
 */
import * as net from 'node:net';
import type { HttpAnswer, HttpRequest, HttpTransport } from './http-transport.js';

/** Each socket's read buffer for bodies read chunk by chunk (small files read whole). */
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * Each socket's read buffer for heads: small, because the body's first bytes come with the head and
 * are copied out of it (a ranged body's others land in their target directly).
 */
const HEAD_READ_BYTES = 4 * 1024;
/** An answer's status line and headers larger than this are refused. */
const MAX_HEADER_BYTES = 64 * 1024;
/** A body not wanted of at most this many bytes is read through rather than the connection closed. */
const DRAIN_BYTES = 64 * 1024;
/** Idle sockets kept per origin. */
const MAX_IDLE = 16;

interface Conn {
  socket: net.Socket;
  readonly key: string;
  /** The socket's own read buffers: for bodies read chunk by chunk, and for heads. */
  readonly scratch: Uint8Array;
  readonly headScratch: Uint8Array;
  /** Where the next read lands: `headScratch`, `scratch`, or the rest of a body's target. */
  nextBuffer: () => Uint8Array;
  /**
   * Receives each read: a view of the buffer it landed in (either scratch buffer: valid during the call
   * only, then `inScratch`). Returning false pauses reading until `socket.resume()`.
   */
  onBytes: (bytes: Uint8Array, inScratch: boolean) => boolean | undefined;
  onGone: (error: Error) => void;
}

const idle = new Map<string, Conn[]>();

function connect(host: string, port: number, key: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const scratch = new Uint8Array(READ_BUFFER_BYTES);
    // The socket is made below: its first buffer is asked for while it connects.
    const conn = {
      key,
      scratch,
      headScratch: new Uint8Array(HEAD_READ_BYTES),
      nextBuffer: () => scratch,
      onBytes: () => undefined,
      onGone: () => undefined,
    } as unknown as Conn;
    conn.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: () => conn.nextBuffer(),
        callback: (n: number, buffer: Uint8Array) =>
          conn.onBytes(buffer.subarray(0, n), buffer === conn.scratch || buffer === conn.headScratch) !== false,
      },
    });
    const gone = (error?: Error) => {
      const list = idle.get(key);
      const at = list?.indexOf(conn) ?? -1;
      if (list !== undefined && at >= 0) list.splice(at, 1);
      conn.onGone(error ?? Object.assign(new Error('connection closed by the server'), { code: 'ECONNRESET' }));
    };
    conn.socket.once('connect', () => resolve(conn));
    conn.socket.on('error', (error) => {
      reject(error);
      gone(error);
    });
    conn.socket.on('end', () => conn.socket.destroy());
    conn.socket.once('close', () => gone());
  });
}

function release(conn: Conn): void {
  conn.nextBuffer = () => conn.scratch;
  conn.onBytes = () => void conn.socket.destroy(); // bytes nobody asked for: the connection is out of step
  conn.onGone = () => undefined;
  conn.socket.resume(); // paused between a head and its reader: an idle socket must see the server close it
  const list = idle.get(conn.key) ?? [];
  if (list.length >= MAX_IDLE || conn.socket.destroyed) return void conn.socket.destroy();
  list.push(conn);
  idle.set(conn.key, list);
  conn.socket.unref();
}

function take(key: string): Conn | undefined {
  const conn = idle.get(key)?.pop();
  conn?.socket.ref();
  return conn;
}

const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
/** Header bytes as text (ISO-8859-1: each byte one character). */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return text;
}

function parseHead(text: string): { status: number; statusText: string; headers: Map<string, string> } | undefined {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
  if (m === null) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { status: Number(m[1]), statusText: m[2] ?? '', headers };
}

/** Where a rejected answer goes instead: the same request through `node:http`. */
class Fallback extends Error {}

type Head = NonNullable<ReturnType<typeof parseHead>>;

/**
 * One request's answer read off a connection: the head gathered until its blank line, then the body's
 * `remaining` bytes pushed to the reader's sink or read into its target. Between the two the socket is
 * paused, the bytes that came with the head left where they were read (`early`) until the reader asks.
 */
class Exchange {
  private head: Uint8Array = new Uint8Array(0);
  private headDone = false;
  private remaining = 0;
  /** Body bytes read with the head, before the reader asked (a view of the paused socket's buffer). */
  private early: Uint8Array | undefined;
  private sink: ((bytes: Uint8Array, inScratch: boolean) => void) | undefined;
  private finished: (() => void) | undefined;
  private failed: ((error: unknown) => void) | undefined;
  private done = false;
  private error: unknown;
  private keepAlive = true;

  constructor(
    private readonly conn: Conn,
    private readonly request: HttpRequest,
    private readonly resolve: (answer: HttpAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  start(): void {
    const { signal } = this.request;
    if (signal.aborted) {
      this.onAbort();
      return;
    }
    signal.addEventListener('abort', this.onAbort, { once: true });
    this.conn.onGone = (why) => this.fail(why);
    this.conn.nextBuffer = () => this.conn.headScratch;
    this.conn.onBytes = (bytes, inScratch) => (this.headDone ? this.body(bytes, inScratch) : this.headBytes(bytes));
  }

  private readonly onAbort = () => this.fail(this.request.signal.reason ?? new Error('aborted'));

  private fail(why: unknown): void {
    if (this.error !== undefined) return;
    this.error = why;
    this.early = undefined;
    this.conn.socket.destroy();
    this.request.signal.removeEventListener('abort', this.onAbort);
    this.reject(why);
    this.failed?.(why);
  }

  private complete(keepAlive: boolean): void {
    this.done = true;
    this.request.signal.removeEventListener('abort', this.onAbort);
    if (keepAlive) release(this.conn);
    else this.conn.socket.destroy();
    this.finished?.();
  }

  /** Body bytes as read; false while nobody reads them (the socket pauses, `early` keeps them). */
  private body(bytes: Uint8Array, inScratch: boolean): boolean {
    if (bytes.byteLength > this.remaining) {
      this.fail(new Error('the server sent more than the body it announced'));
      return false;
    }
    this.remaining -= bytes.byteLength;
    if (this.sink === undefined) {
      this.early = bytes; // only ever the bytes read with the head: the socket pauses until a reader asks
      return false;
    }
    try {
      this.sink(bytes, inScratch);
    } catch (why) {
      this.fail(why);
      return false;
    }
    if (this.remaining === 0) this.complete(this.keepAlive);
    return true;
  }

  private headBytes(bytes: Uint8Array): boolean {
    let head = bytes;
    if (this.head.byteLength > 0) {
      head = new Uint8Array(this.head.byteLength + bytes.byteLength);
      head.set(this.head);
      head.set(bytes, this.head.byteLength);
    }
    const end = indexOf(head, CRLFCRLF);
    if (end < 0) {
      if (head.byteLength > MAX_HEADER_BYTES) this.fail(new Error("the answer's headers are too long"));
      else this.head = head === bytes ? bytes.slice() : head; // the socket's buffer is reused by the next read
      return true;
    }
    const parsed = parseHead(latin1(head.subarray(0, end)));
    if (parsed === undefined) {
      this.fail(new Error('not an HTTP/1.1 answer'));
      return false;
    }
    return this.answer(parsed, head.subarray(end + 4));
  }

  /** The head is read: the answer is handed over, and what came with it starts the body. */
  private answer({ status, statusText, headers }: Head, rest: Uint8Array): boolean {
    const length = Number(headers.get('content-length') ?? Number.NaN);
    const noBody = this.request.method === 'HEAD' || status === 204 || status === 304;
    const framed = noBody || (!headers.has('transfer-encoding') && Number.isSafeInteger(length));
    // an error's body is never read (only its status): the connection is closed rather than read through
    const unread = status >= 400 && !framed;
    if ((status >= 300 && status < 400) || (!framed && !unread)) {
      this.fail(new Fallback());
      return false;
    }
    this.headDone = true;
    this.keepAlive = !unread && !/\bclose\b/i.test(headers.get('connection') ?? '');
    this.remaining = noBody || unread ? 0 : length;
    this.resolve({
      status,
      statusText,
      header: (name) => headers.get(name),
      // a read into the socket's own buffer is overwritten by the next: the reader gets its own copy
      readBody: (onChunk) => {
        this.conn.nextBuffer = () => this.conn.scratch;
        return this.readBodyWith((bytes, inScratch) => onChunk(inScratch ? bytes.slice() : bytes));
      },
      readBodyInto: (target, onBytes) => this.readBodyInto(target, onBytes),
      cancel: () => {
        if (this.done || this.error !== undefined) return;
        // a short body (a 404's page) is read through, to keep the connection for the next request
        const left = (this.early?.byteLength ?? 0) + this.remaining;
        if (left > DRAIN_BYTES || this.sink !== undefined) return void this.fail(new Error('cancelled'));
        this.conn.nextBuffer = () => this.conn.scratch;
        this.conn.socket.unref(); // a server that never sends it keeps no process alive
        this.readBodyWith(() => undefined).catch(() => undefined);
      },
    });
    if (this.remaining === 0) {
      this.complete(this.keepAlive && rest.byteLength === 0);
      return true;
    }
    if (rest.byteLength === 0) return false; // paused until a reader asks
    return this.body(rest, true);
  }

  /** Resolves at the body's end; `sink` gets `early` first, then each read, and reading resumes. */
  private readBodyWith(sink: (bytes: Uint8Array, inScratch: boolean) => void): Promise<void> {
    return new Promise<void>((bodyDone, bodyFailed) => {
      if (this.error !== undefined) return bodyFailed(this.error);
      if (this.early !== undefined) {
        const first = this.early;
        this.early = undefined;
        try {
          sink(first, true);
        } catch (why) {
          this.fail(why);
          return bodyFailed(why);
        }
      }
      if (this.remaining === 0) {
        if (!this.done) this.complete(this.keepAlive);
        return bodyDone();
      }
      this.sink = sink;
      this.finished = bodyDone;
      this.failed = bodyFailed;
      this.conn.socket.resume();
    });
  }

  /** The body into `target`: reads land in it directly, but for the first (already in the socket's buffer). */
  private readBodyInto(target: Uint8Array, onBytes: (n: number) => void): Promise<void> {
    const body = (this.early?.byteLength ?? 0) + this.remaining;
    if (body > target.byteLength) {
      const error = new Error(`the body (${body} bytes) is longer than the ${target.byteLength} asked for`);
      this.fail(error);
      return Promise.reject(error);
    }
    let filled = 0;
    this.conn.nextBuffer = () =>
      this.remaining > 0 ? target.subarray(filled, filled + this.remaining) : this.conn.scratch;
    return this.readBodyWith((bytes, inScratch) => {
      if (inScratch) target.set(bytes, filled);
      filled += bytes.byteLength;
      onBytes(bytes.byteLength);
    });
  }
}

async function sendRaw(url: URL, request: HttpRequest): Promise<HttpAnswer> {
  const port = Number(url.port || 80);
  const key = `${url.hostname}:${port}`;
  const conn = take(key) ?? (await connect(url.hostname, port, key));
  const lines = [`${request.method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  conn.socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise<HttpAnswer>((resolve, reject) => new Exchange(conn, request, resolve, reject).start());
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Plain-HTTP requests through reusable read buffers; everything else through `fallback`. */
export function rawHttpTransport(fallback: HttpTransport): HttpTransport {
  return async (url, request) => {
    const at = new URL(url);
    if (at.protocol !== 'http:') return fallback(url, request);
    try {
      return await sendRaw(at, request);
    } catch (error) {
      if (error instanceof Fallback) return fallback(url, request);
      throw error;
    }
  };
}
