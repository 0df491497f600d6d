/**
 * One error class for everything a user can get wrong. `code` is stable (scripts may match on it);
 * `message` is for people and already names the file, tensor or field involved.
 * Layers add their codes to ErrorCode; the CLI prints `error[CODE]: message` and exits non-zero.
 */
export const ErrorCode = {
  // usage and paths
  USAGE: 'E_USAGE',
  NOT_FOUND: 'E_NOT_FOUND',
  AMBIGUOUS_PATH: 'E_AMBIGUOUS_PATH',
  OUTPUT_EXISTS: 'E_OUTPUT_EXISTS',
  OUTPUT_LOCKED: 'E_OUTPUT_LOCKED',
  // generic malformed input
  TRUNCATED: 'E_TRUNCATED',
  BAD_MAGIC: 'E_BAD_MAGIC',
  MALFORMED: 'E_MALFORMED',
  LIMIT: 'E_LIMIT',
  UNSUPPORTED: 'E_UNSUPPORTED',
  UNKNOWN_DTYPE: 'E_UNKNOWN_DTYPE',
  // checksums
  BLOCK_CHECKSUM: 'E_BLOCK_CHECKSUM',
  TENSOR_CHECKSUM: 'E_TENSOR_CHECKSUM',
  ZIP_CRC: 'E_ZIP_CRC',
  // tensors and shards
  MISSING_SHARD: 'E_MISSING_SHARD',
  TENSOR_NOT_FOUND: 'E_TENSOR_NOT_FOUND',
  // pickles
  PICKLE_FORBIDDEN: 'E_PICKLE_FORBIDDEN',
  // conversion
  CONFIG: 'E_CONFIG',
  SHAPE_MISMATCH: 'E_SHAPE_MISMATCH',
  UNMAPPED: 'E_UNMAPPED',
  PLAN: 'E_PLAN',
  WRONG_CHECKPOINT_KIND: 'E_WRONG_CHECKPOINT_KIND',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorContext {
  file?: string;
  tensor?: string;
  offset?: number | bigint;
  cause?: unknown;
}

export class Tf2TorchError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly tensor: string | undefined;
  readonly offset: number | bigint | undefined;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'Tf2TorchError';
    this.code = code;
    this.file = context.file;
    this.tensor = context.tensor;
    this.offset = context.offset;
  }
}

export function isTf2TorchError(e: unknown): e is Tf2TorchError {
  return e instanceof Tf2TorchError;
}
