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
  // the file system (see fileSystemError)
  NOT_A_FILE: 'E_NOT_A_FILE',
  IS_A_DIRECTORY: 'E_IS_A_DIRECTORY',
  NOT_A_DIRECTORY: 'E_NOT_A_DIRECTORY',
  PERMISSION: 'E_PERMISSION',
  READ_ONLY: 'E_READ_ONLY',
  NO_SPACE: 'E_NO_SPACE',
  BUSY: 'E_BUSY',
  NAME_TOO_LONG: 'E_NAME_TOO_LONG',
  FILE_SYSTEM: 'E_FILE_SYSTEM',
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
  // inputs of a kind that is not converted (formats/foreign-kinds.ts)
  ALREADY_PYTORCH: 'E_ALREADY_PYTORCH',
  KERAS_HDF5: 'E_KERAS_HDF5',
  ONNX: 'E_ONNX',
  GGUF: 'E_GGUF',
  FROZEN_GRAPH: 'E_FROZEN_GRAPH',
  SAVED_MODEL_GRAPH: 'E_SAVED_MODEL_GRAPH',
  PSEUDO_FILE_SYSTEM: 'E_PSEUDO_FILE_SYSTEM',
  // remote sources (https://, gs://)
  NETWORK: 'E_NETWORK',
  SOURCE_CHANGED: 'E_SOURCE_CHANGED',
  // the caller's AbortSignal stopped the conversion
  ABORTED: 'E_ABORTED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorContext {
  file?: string;
  tensor?: string;
  offset?: number | bigint;
  cause?: unknown;
  advice?: ErrorAdvice;
}

/**
 * An error that a conversion option would resolve, as data (made by `adviceError`, mapping/notices.ts):
 * a front end offers its control for `option` (with `choices`) and words the message its own way from
 * `template` and `values`, as it words notices. The error's `message` is the command line's wording.
 */
export interface ErrorAdvice {
  /** Stable: `type-ambiguous`, `type-unknown`, `config-needed`, … (`AdviceCode`). */
  readonly code: string;
  /** The option to set, as `convert()` names it (`modelType`, `config`). */
  readonly option: string;
  /** The values to offer for it (the candidate types), when there is a list. */
  readonly choices?: readonly string[];
  readonly template: string;
  readonly values: Readonly<Record<string, string | number | boolean | readonly string[]>>;
}

export class Tf2TorchError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly tensor: string | undefined;
  readonly offset: number | bigint | undefined;
  /** The option that would resolve it, as data, when there is one. */
  readonly advice: ErrorAdvice | undefined;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'Tf2TorchError';
    this.code = code;
    this.file = context.file;
    this.tensor = context.tensor;
    this.offset = context.offset;
    this.advice = context.advice;
  }
}

export function isTf2TorchError(e: unknown): e is Tf2TorchError {
  return e instanceof Tf2TorchError;
}

/** An error from Node's fs (`code` 'EACCES', …, `syscall`, usually `path`). */
export interface ErrnoError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

export function isErrnoError(e: unknown): e is ErrnoError {
  return e instanceof Error && typeof (e as ErrnoError).code === 'string' && /^E[A-Z]+$/.test((e as ErrnoError).code);
}

/** errno → stable code and what the user can do about it. The one table of file system failures. */
const ERRNO: Readonly<Record<string, [ErrorCode, string]>> = {
  ENOENT: [ErrorCode.NOT_FOUND, 'no such file or folder'],
  EACCES: [ErrorCode.PERMISSION, 'permission denied; check the permissions of the path and of its folders'],
  EPERM: [ErrorCode.PERMISSION, 'operation not permitted; check the permissions of the path and of its folders'],
  EROFS: [ErrorCode.READ_ONLY, 'the file system is read-only; write the output elsewhere'],
  ENOSPC: [ErrorCode.NO_SPACE, 'no space left on the device; free some space or write the output elsewhere'],
  EDQUOT: [ErrorCode.NO_SPACE, 'disk quota exceeded; free some space or write the output elsewhere'],
  EFBIG: [ErrorCode.NO_SPACE, 'the file is too large for this file system; write the output elsewhere'],
  EBUSY: [
    ErrorCode.BUSY,
    "the path is busy (the current folder '.', a mount point or a file in use); name another output path",
  ],
  ETXTBSY: [ErrorCode.BUSY, 'the file is in use by a running program'],
  ENAMETOOLONG: [ErrorCode.NAME_TOO_LONG, 'a name in the path is too long for the file system; choose a shorter one'],
  ENOTDIR: [ErrorCode.NOT_A_DIRECTORY, 'a part of the path is a file where a folder is needed'],
  EISDIR: [ErrorCode.IS_A_DIRECTORY, 'it is a folder where a file is needed; move it away or choose another path'],
  EEXIST: [ErrorCode.OUTPUT_EXISTS, 'it already exists'],
  ELOOP: [ErrorCode.FILE_SYSTEM, 'too many levels of symbolic links'],
  EMFILE: [ErrorCode.FILE_SYSTEM, 'too many open files; raise the limit (ulimit -n)'],
  ENFILE: [ErrorCode.FILE_SYSTEM, 'too many open files in the system'],
  EIO: [ErrorCode.FILE_SYSTEM, 'input/output error from the device'],
};

const SYSCALL_ACTIONS: Readonly<Record<string, string>> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create the folder',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  scandir: 'list the folder',
  stat: 'read',
  lstat: 'read',
  fsync: 'write',
  copyfile: 'copy',
};

/**
 * A Node fs error as a Tf2TorchError naming the path and what to do (exit status 1, not an internal
 * error). `path`/`action` default to what the error itself says; anything that is not an fs error is
 * returned unchanged.
 */
export function fileSystemError(cause: unknown, path?: string, action?: string): unknown {
  if (!isErrnoError(cause)) return cause;
  const [code, advice] = ERRNO[cause.code] ?? [ErrorCode.FILE_SYSTEM, cause.message];
  const doing = action ?? SYSCALL_ACTIONS[cause.syscall ?? ''] ?? cause.syscall ?? 'access';
  const where = path ?? cause.path;
  const target =
    where === undefined ? '' : ` ${where}${cause.dest !== undefined && path === undefined ? ` → ${cause.dest}` : ''}`;
  return new Tf2TorchError(code, `cannot ${doing}${target}: ${advice} (${cause.code})`, { file: where, cause });
}

/** A stopped conversion: `ErrorCode.ABORTED`, the signal's reason as its cause. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted !== true) return;
  throw new Tf2TorchError(
    ErrorCode.ABORTED,
    'the conversion was aborted: nothing it wrote was kept (an existing output is left as it was)',
    { cause: signal.reason },
  );
}
