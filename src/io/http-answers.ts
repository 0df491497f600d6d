/**
 * What an answer to a remote read says, read the same way by every request of the HTTP client
 * (http-client.ts): the identity an object is pinned to (size, ETag, Cloud Storage generation), statuses
 * worth a retry and the wait the server asks for, the range a partial answer holds, and a failed
 * request described in one line.
 */
import type { HttpAnswer } from './http-transport.js';

/** What a remote object is pinned to: a later request for anything else is refused. */
export interface ObjectIdentity {
  readonly size: number;
  /** Strong ETag as the server sent it (a weak one cannot be sent in If-Match and is compared only). */
  readonly etag: string | undefined;
  readonly generation: string | undefined;
}

/** Statuses worth a retry: the server is busy, restarting or timed out. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** A failure worth another try (a dropped connection, a stall, a 429 or 5xx), with the wait the server asked for. */
export class TransientFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** What a failed request says, without the stack: `fetch failed (ECONNRESET)`, `socket hang up (ECONNRESET)`. */
export function describeFailure(error: unknown): string {
  // fetch puts the system's code on its cause, node:http on the error itself
  const { cause, code: own } = error as { cause?: { code?: unknown }; code?: unknown };
  const code = typeof cause?.code === 'string' ? cause.code : typeof own === 'string' ? own : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined ? message : `${message} (${code})`;
}

/** The wait a 429 or 503 asks for (`Retry-After` in seconds; a date is not read), in milliseconds. */
export function retryAfterMs(response: HttpAnswer): number | undefined {
  const value = response.header('retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The ranges requests ask for, and the answers' `Content-Range`. */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total: number } | undefined {
  const m = value === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value.trim());
  return m ? { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } : undefined;
}

/** The identity an answer gives its object (`size` known from the answer's length or range). */
export function identityOf(response: HttpAnswer, size: number): ObjectIdentity {
  return { size, etag: response.header('etag'), generation: response.header('x-goog-generation') };
}
