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

/** A dict key as json.dumps converts it (str, int, float, bool, None), or undefined for a key it refuses (a tuple, …). */
export function keyText(k: unknown): string | undefined {
  if (typeof k === 'string') return k;
  if (typeof k === 'number') return numberText(k);
  if (k instanceof PyFloat) return pythonFloatRepr(k.value);
  if (typeof k === 'bigint') return k.toString();
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (k === null) return 'null';
  return undefined;
}

/**
 * The order of `sorted()` on dict keys: ints by value (id2label's 0, 1, 2, …, 10), strings by code point
 * (JavaScript's `<` compares UTF-16 units, which differs past U+FFFF); other keys by their text.
 */
function pythonKeyOrder(a: unknown, b: unknown): number {
  const isInt = (k: unknown) => typeof k === 'bigint' || (typeof k === 'number' && Number.isSafeInteger(k));
  if (isInt(a) && isInt(b)) return (a as number | bigint) < (b as number | bigint) ? -1 : 1;
  const [x, y] = [String(keyText(a)), String(keyText(b))];
  if (typeof a === 'string' && typeof b === 'string') {
    const [p, q] = [[...x], [...y]];
    for (let i = 0; i < Math.min(p.length, q.length); i++) {
      const d = (p[i] as string).codePointAt(0)! - (q[i] as string).codePointAt(0)!;
      if (d !== 0) return d;
    }
    return p.length - q.length;
  }
  return x < y ? -1 : 1;
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

/** An object literal or a parsed JSON object (null prototype): a dict. */
function isPlainObject(v: unknown): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * `json.dumps(value, indent=2)`: Maps and plain objects as dicts, arrays as lists. An indent of null is
 * json.dumps without one: one line. `separators` as json.dumps takes them (item, key), same defaults.
 */
export function pythonJsonDumps(
  value: unknown,
  indent: number | null = 2,
  sortKeys = false,
  [item, colon]: readonly [string, string] = indent === null ? [', ', ': '] : [',', ': '],
): string {
  const [open, comma] = indent === null ? ['', item] : ['\n', `${item}\n`];
  const write = (v: unknown, depth: number, path: string): string => {
    const pad = indent === null ? '' : ' '.repeat(indent * (depth + 1));
    const end = indent === null ? '' : `\n${' '.repeat(indent * depth)}`;
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return numberText(v);
    if (v instanceof PyFloat) return pythonFloatRepr(v.value);
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'string') return pythonString(v);
    if (depth >= MAX_JSON_DEPTH) throw new NotJsonError(path, `nests deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[${open}${v.map((x, i) => pad + write(x, depth + 1, `${path}[${i}]`)).join(comma)}${end}]`;
    }
    const entries = v instanceof Map ? [...v.entries()] : isPlainObject(v) ? Object.entries(v as object) : undefined;
    if (!entries) throw new NotJsonError(path);
    if (entries.length === 0) return '{}';
    if (sortKeys) entries.sort(([a], [b]) => pythonKeyOrder(a, b));
    const parts = entries.map(([k, x]) => {
      const key = keyText(k);
      if (key === undefined)
        throw new NotJsonError(
          `${path} key ${Array.isArray(k) ? 'tuple' : typeof k}`,
          'is not a str, int, float, bool or None',
        );
      return `${pad}${pythonString(key)}${colon}${write(x, depth + 1, `${path}.${key}`)}`;
    });
    return `{${open}${parts.join(comma)}${end}}`;
  };
  return write(value, 0, '$');
}

/**
 * A value as messages show it: JSON.stringify's compact text, but spelled as Python's json.dumps
 * spells it (ints of any size, 1.0, NaN), cut to `max` characters if given; a value json.dumps
 * refuses, as String() shows it. Never throws (JSON.stringify throws on a bigint).
 */
export function jsonPreview(value: unknown, max = Number.POSITIVE_INFINITY): string {
  let text: string;
  try {
    text = pythonJsonDumps(value, null, false, [',', ':']);
  } catch (e) {
    if (!(e instanceof NotJsonError)) throw e;
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
