/**
 * JSON read from a file, parsed in one place: a syntax error or a value of the wrong kind names the
 * file (and, inside a binary file, which part), under the error code of whoever asked: E_CONFIG for
 * config files, E_MALFORMED for a format's metadata. Writing JSON as Python spells it is `python-json.ts`.
 */
import { type ErrorCode, Tf2TorchError } from '../errors.js';

/** The value of `text`, read from `file` (from its `part`, e.g. 'safetensors header', when given). */
export function parseJson(text: string, file: string, code: ErrorCode, part?: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    const where = part === undefined ? file : `${file}: ${part}`;
    throw new Tf2TorchError(code, `${where}: not valid JSON (${(cause as Error).message})`, { file, cause });
  }
}

/** The object `text` holds (a config file, a header): an array, a string or null is refused. */
export function parseJsonObject(text: string, file: string, code: ErrorCode, part?: string): Record<string, unknown> {
  const value = parseJson(text, file, code, part);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const where = part === undefined ? file : `${file}: ${part}`;
    throw new Tf2TorchError(code, `${where}: expected a JSON object`, { file });
  }
  return value as Record<string, unknown>;
}
