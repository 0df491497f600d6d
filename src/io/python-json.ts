/**
 * Python's `json.dumps(value, indent=2)` for values read from a pickle: keys in insertion order (Maps),
 * int/float/bool/None keys converted as Python converts them, non-ASCII escaped (ensure_ascii), floats
 * in Python's repr spelling (1.0, 1e-05, 1e+16, NaN, Infinity). A PyFloat (the 'checkpoint' pickle
 * policy) is a float, whatever its value; a plain JS number is taken for an int when it is a safe
 * integer (pickled ints beyond 2^53 arrive as bigint), else for a float.
 */
import { PyFloat } from './py-float.js';

/**
 * Python's json.dumps fails at its recursion limit (1000 by default), so deeper values (or a list that
 * contains itself) have no Python text to match; refusing them also keeps our recursion shallow.
 */
export const MAX_JSON_DEPTH = 1000;

/** Python's repr of a float: shortest round-trip digits, `.0` on whole values, exponent form outside [1e-4, 1e16). */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** A JS number of unknown Python type: an int when it can be one, else a float. */
function numberText(x: number): string {
  return Number.isSafeInteger(x) && !Object.is(x, -0) ? String(x) : pythonFloatRepr(x);
}

/** A JSON string literal as Python writes it with ensure_ascii=True. */
export function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function keyText(k: unknown): string | undefined {
  if (typeof k === 'string') return k;
  if (typeof k === 'number') return numberText(k);
  if (k instanceof PyFloat) return pythonFloatRepr(k.value);
  if (typeof k === 'bigint') return k.toString();
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (k === null) return 'null';
  return undefined;
}

/** Thrown for values json.dumps refuses (sets, bytes, objects); `path` names where. */
export class NotJsonError extends Error {
  constructor(
    readonly path: string,
    why = 'is not JSON-serializable',
  ) {
    super(`${path} ${why}`);
  }
}

/** `json.dumps(value, indent=2)`: Maps and plain objects as dicts, arrays as lists. */
export function pythonJsonDumps(value: unknown, indent = 2, sortKeys = false): string {
  const write = (v: unknown, depth: number, path: string): string => {
    const pad = ' '.repeat(indent * (depth + 1));
    const end = ' '.repeat(indent * depth);
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return numberText(v);
    if (v instanceof PyFloat) return pythonFloatRepr(v.value);
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'string') return pythonString(v);
    if (depth >= MAX_JSON_DEPTH) throw new NotJsonError(path, `nests deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[\n${v.map((x, i) => pad + write(x, depth + 1, `${path}[${i}]`)).join(',\n')}\n${end}]`;
    }
    const entries =
      v instanceof Map
        ? [...v.entries()]
        : Object.getPrototypeOf(v) === Object.prototype
          ? Object.entries(v as object)
          : undefined;
    if (!entries) throw new NotJsonError(path);
    if (entries.length === 0) return '{}';
    if (sortKeys) entries.sort(([a], [b]) => (String(keyText(a)) < String(keyText(b)) ? -1 : 1));
    const parts = entries.map(([k, x]) => {
      const key = keyText(k);
      if (key === undefined) throw new NotJsonError(`${path} key ${String(k)}`);
      return `${pad}${pythonString(key)}: ${write(x, depth + 1, `${path}.${key}`)}`;
    });
    return `{\n${parts.join(',\n')}\n${end}}`;
  };
  return write(value, 0, '$');
}
