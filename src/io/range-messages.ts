/**
 * What the main thread and the range thread (io/range-thread.ts, Node) tell each other, and the
 * handle the HTTP client holds: platform-neutral, so that the client and the browser's platform
 * module name them without Node's worker module.
 */
import { type ErrorCode, Tf2TorchError } from '../errors.js';
import type { ObjectIdentity } from './http-answers.js';
import type { HttpLimits } from './http-client.js';

/** What the worker's client is made with: the options that are data (a custom transport stays here). */
export interface RangeThreadOptions {
  readonly authorization?: string;
  readonly limits?: Partial<HttpLimits>;
}

export interface RangeRequest {
  readonly id: number;
  readonly url: string;
  readonly display: string;
  readonly identity: ObjectIdentity;
  readonly memory: SharedArrayBuffer;
  readonly at: number;
  readonly length: number;
  readonly offset: number;
}

export interface PostedError {
  readonly message: string;
  readonly code?: ErrorCode;
  readonly file?: string;
  readonly tensor?: string;
  readonly offset?: number | bigint;
}

export interface RangeReply {
  readonly id: number;
  readonly error?: PostedError;
  /** The worker client's totals so far. */
  readonly bytesFetched: number;
  readonly requests: number;
  /** A copy's CRC-32C, where asked for. */
  readonly crc?: number;
}

/** A copy between two views of shared memory (fetched-ahead bytes into a reader's buffer). */
export interface CopyRequest {
  readonly id: number;
  readonly from: SharedArrayBuffer;
  readonly fromAt: number;
  readonly to: SharedArrayBuffer;
  readonly toAt: number;
  readonly length: number;
  /** Where given: the CRC-32C of the bytes copied, continued from it, is the reply's `crc`. */
  readonly crc?: number;
}

export type RangeMessage =
  | { readonly type: 'read'; readonly request: RangeRequest }
  | { readonly type: 'copy'; readonly request: CopyRequest };

export function postedError(error: unknown): PostedError {
  if (error instanceof Tf2TorchError) {
    const { message, code, file, tensor, offset } = error;
    return { message, code, file, tensor, offset };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

export function rebuiltError(posted: PostedError): Error {
  const { message, code, file, tensor, offset } = posted;
  return code === undefined ? new Error(message) : new Tf2TorchError(code, message, { file, tensor, offset });
}

/** The range thread as the HTTP client uses it. */
export interface RangeThreadHandle {
  /** The thread client's totals so far. */
  readonly bytesFetched: number;
  readonly requests: number;
  /** Whether `target` can be filled there (shared memory, and the thread is running). */
  accepts(target: Uint8Array): boolean;
  readRange(url: string, display: string, identity: ObjectIdentity, target: Uint8Array, offset: number): Promise<void>;
  /**
   * `source` copied into `target` there (both in shared memory, the thread running), else undefined;
   * with `crc`, resolves to the CRC-32C of the copied bytes continued from it. Done as the message
   * arrives, before any range asked for after it is read.
   */
  copy(target: Uint8Array, source: Uint8Array, crc?: number): Promise<number | undefined> | undefined;
  /** Ends the reads in flight there at once, each failing with `cancelled(its URL)`, and ends the thread. */
  stop(cancelled: (display: string) => Error): void;
}
