/**
 * Plain-HTTP requests over `node:net` sockets that read into one reusable buffer each (`onread`):
 * no Buffer per socket read, no parser per chunk, so hundreds of megabytes of ranged bodies make
 * neither garbage nor work on the main thread beyond one copy into the caller's buffer. Only answers
 * framed by Content-Length (or without a body; errors' bodies are never read) are read here; anything
 * else (a redirect, a chunked body) is asked again through `node:http` (`fallback`): requests are GET
 * and HEAD, safe to repeat.
 */
import * as net from 'node:net';
import type { HttpAnswer, HttpRequest, HttpTransport } from './http-transport.js';

/** Each socket's read buffer. */
const READ_BUFFER_BYTES = 256 * 1024;
/** An answer's status line and headers larger than this are refused. */
const MAX_HEADER_BYTES = 64 * 1024;
/** Idle sockets kept per origin. */
const MAX_IDLE = 16;

interface Conn {
  readonly socket: net.Socket;
  readonly key: string;
  /** Receives each read (a view of the socket's buffer, valid during the call). */
  onBytes: (bytes: Uint8Array) => void;
  onGone: (error: Error) => void;
}

const idle = new Map<string, Conn[]>();

function connect(host: string, port: number, key: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const conn: Conn = {
      key,
      onBytes: () => undefined,
      onGone: () => undefined,
      socket: net.connect({
        host,
        port,
        noDelay: true,
        onread: {
          buffer: new Uint8Array(READ_BUFFER_BYTES),
          callback: (n: number, buffer: Uint8Array) => {
            conn.onBytes(buffer.subarray(0, n));
            return true;
          },
        },
      }),
    };
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
  conn.onBytes = () => conn.socket.destroy(); // bytes nobody asked for: the connection is out of step
  conn.onGone = () => undefined;
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
 * `remaining` bytes pushed to the reader's sink (or kept until `readBody` asks, when they came with the head).
 */
class Exchange {
  private head = new Uint8Array(0);
  private headDone = false;
  private remaining = 0;
  /** Body bytes read with the headers, before readBody. */
  private early: Uint8Array | undefined;
  private sink: ((bytes: Uint8Array) => void) | undefined;
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
    this.conn.onBytes = (bytes) => (this.headDone ? this.body(bytes) : this.headBytes(bytes));
  }

  private readonly onAbort = () => this.fail(this.request.signal.reason ?? new Error('aborted'));

  private fail(why: unknown): void {
    if (this.error !== undefined) return;
    this.error = why;
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

  private body(bytes: Uint8Array): void {
    const n = Math.min(bytes.byteLength, this.remaining);
    if (n > 0) {
      this.remaining -= n;
      if (this.sink === undefined) {
        const before = this.early?.byteLength ?? 0;
        const copy = new Uint8Array(before + n);
        if (this.early !== undefined) copy.set(this.early);
        copy.set(bytes.subarray(0, n), before);
        this.early = copy;
      } else {
        try {
          this.sink(bytes.subarray(0, n));
        } catch (why) {
          this.fail(why);
          return;
        }
      }
    }
    if (n < bytes.byteLength) {
      this.fail(new Error('the server sent more than the body it announced'));
      return;
    }
    if (this.remaining === 0) this.complete(this.keepAlive);
  }

  private headBytes(bytes: Uint8Array): void {
    const joined = new Uint8Array(this.head.byteLength + bytes.byteLength);
    joined.set(this.head);
    joined.set(bytes, this.head.byteLength);
    this.head = joined;
    const end = indexOf(this.head, CRLFCRLF);
    if (end < 0) {
      if (this.head.byteLength > MAX_HEADER_BYTES) this.fail(new Error("the answer's headers are too long"));
      return;
    }
    const parsed = parseHead(latin1(this.head.subarray(0, end)));
    if (parsed === undefined) {
      this.fail(new Error('not an HTTP/1.1 answer'));
      return;
    }
    this.answer(parsed, this.head.subarray(end + 4));
  }

  /** The head is read: the answer is handed over, and what came with it starts the body. */
  private answer({ status, statusText, headers }: Head, rest: Uint8Array): void {
    const length = Number(headers.get('content-length') ?? Number.NaN);
    const noBody = this.request.method === 'HEAD' || status === 204 || status === 304;
    const framed = noBody || (!headers.has('transfer-encoding') && Number.isSafeInteger(length));
    // an error's body is never read (only its status): the connection is closed rather than read through
    const unread = status >= 400 && !framed;
    if ((status >= 300 && status < 400) || (!framed && !unread)) {
      this.fail(new Fallback());
      return;
    }
    this.headDone = true;
    this.keepAlive = !unread && !/\bclose\b/i.test(headers.get('connection') ?? '');
    this.remaining = noBody || unread ? 0 : length;
    this.resolve({
      status,
      statusText,
      header: (name) => headers.get(name),
      readBody: (onChunk) => this.readBody(onChunk),
      cancel: () => {
        if (!this.done) this.fail(new Error('cancelled'));
      },
    });
    if (this.remaining === 0) this.complete(this.keepAlive && rest.byteLength === 0);
    else if (rest.byteLength > 0) this.body(rest);
  }

  private readBody(onChunk: (chunk: Uint8Array) => void): Promise<void> {
    return new Promise<void>((bodyDone, bodyFailed) => {
      if (this.error !== undefined) return bodyFailed(this.error);
      if (this.early !== undefined) {
        const first = this.early;
        this.early = undefined;
        try {
          onChunk(first);
        } catch (why) {
          this.fail(why);
          return bodyFailed(why);
        }
      }
      if (this.done) return bodyDone();
      this.sink = onChunk;
      this.finished = bodyDone;
      this.failed = bodyFailed;
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
