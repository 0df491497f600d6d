/**
 * The one request the HTTP client needs, as a seam: Node sends it through `node:http`/`node:https` with
 * a keep-alive agent (`node-http.ts`, through `#platform`), browsers through `fetch` (here). Bodies are
 * pushed chunk by chunk to the caller, which copies each into its own buffer: a chunk is valid only
 * during the call.
 */

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
  /** The rest of the body is not wanted. */
  cancel(): void;
}

/** Sends one request, following redirects; rejects on network failures (retried by the caller). */
export type HttpTransport = (url: string, request: HttpRequest) => Promise<HttpAnswer>;

/** Over the runtime's global `fetch` (browsers, workers). */
export const fetchTransport: HttpTransport = async (url, { method, headers, signal }) => {
  const response = await fetch(url, { method, headers, signal, redirect: 'follow' });
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
