/**
 * The one request the HTTP client needs, as a seam: Node sends it through `node:http`/`node:https` with
 * a keep-alive agent (`node-http.ts`, through `#platform`), browsers through `fetch` (here). Bodies are
 * pushed chunk by chunk to the caller, which copies each into its own buffer: a chunk is valid only
 * during the call.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { redactUrl } from './url-paths.js';

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD';
  readonly headers: Readonly<Record<string, string>>;
  /** Aborts the request and its body (a stall, or the run given up). */
  readonly signal: AbortSignal;
}

export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  /** A response header (name in lower case), or undefined. */
  header(name: string): string | undefined;
  /** Pushes the body's chunks to `onChunk` (which may throw to stop); resolves at its end. */
  readBody(onChunk: (chunk: Uint8Array) => void): Promise<void>;
  /**
   * Where a transport can: the body read straight into `target` from its start (no copy per chunk),
   * `onBytes` told of each arrival; a body longer than `target` is an error. Resolves at its end.
   */
  readBodyInto?(target: Uint8Array, onBytes: (n: number) => void): Promise<void>;
  /** The rest of the body is not wanted. */
  cancel(): void;
}

/** Sends one request, following redirects; rejects on network failures (retried by the caller). */
export type HttpTransport = (url: string, request: HttpRequest) => Promise<HttpAnswer>;

/**
 * Over the runtime's global `fetch` (browsers, workers): no HTTP cache (every range goes to the server
 * under its If-Match). A browser tells a server that refuses cross-origin reads (no CORS headers) from
 * one that is down only by a failed fetch, so a failure before an origin ever answered is reported at
 * once (what the server must send), and later ones (dropped connections) are the caller's to retry.
 */
export function createFetchTransport(): HttpTransport {
  const answered = new Set<string>();
  return async (url, { method, headers, signal }) => {
    const origin = new URL(url).origin;
    let response: Response;
    try {
      // `cache` is a browsers' option (Node's types lack it; undici ignores it)
      const init: RequestInit & { cache: string } = { method, headers, signal, redirect: 'follow', cache: 'no-store' };
      response = await fetch(url, init);
    } catch (error) {
      if (signal.aborted || answered.has(origin)) throw error;
      throw new Tf2TorchError(
        ErrorCode.NETWORK,
        `${redactUrl(url)}: cannot be read from here: the server is unreachable or does not allow cross-origin reads (it must send Access-Control-Allow-Origin and expose ETag, Content-Range and Content-Length); check the URL, or download the checkpoint and pick its folder`,
        { file: redactUrl(url) },
      );
    }
    answered.add(origin);
    if (response.status === 206 && !response.headers.has('content-range')) {
      void response.body?.cancel().catch(() => undefined);
      throw new Tf2TorchError(
        ErrorCode.UNSUPPORTED,
        `${redactUrl(url)}: the server hides Content-Range from cross-origin reads (Access-Control-Expose-Headers must list ETag, Content-Range and Content-Length)`,
        { file: redactUrl(url) },
      );
    }
    return {
      status: response.status,
      statusText: response.statusText,
      header: (name) => response.headers.get(name) ?? undefined,
      async readBody(onChunk) {
        if (response.body === null) return;
        const reader = response.body.getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            onChunk(value);
          }
        } catch (error) {
          await reader.cancel().catch(() => undefined);
          throw error;
        } finally {
          reader.releaseLock();
        }
      },
      cancel: () => void response.body?.cancel().catch(() => undefined),
    };
  };
}

/** The platform's fetch transport (one per runtime: the origins that answered are shared). */
export const fetchTransport: HttpTransport = createFetchTransport();
