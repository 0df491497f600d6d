/**
 * JSON read from a file, parsed in one place and as Python's `json.loads` reads it: a syntax error or a
 * value of the wrong kind names the file (and, inside a binary file, which part), under the error code
 * of whoever asked: E_CONFIG for config files, E_MALFORMED for a format's metadata.
 * - objects have a null prototype (a key such as `__proto__` or `constructor` is an ordinary key, and no
 *   lookup finds Object.prototype's members); a repeated key keeps its first place and its last value;
 * - ints are exact (a bigint beyond 2^53, refused beyond Python's 4,300 digits); a float whose value is
 *   whole is a PyFloat, so that `1.0` is written back as `1.0`;
 * - `NaN`, `Infinity` and `-Infinity` are read, as Python reads them; a BOM is refused, as Python does;
 * - nesting is bounded (MAX_JSON_DEPTH, Python's recursion limit) before it can exhaust the stack.
 * Writing JSON as Python spells it is `python-json.ts`.
 */
import { type ErrorCode, Tf2TorchError } from '../errors.js';
import { PyFloat } from './py-float.js';
import { MAX_INT_DIGITS, pythonInt } from './py-int.js';
import { MAX_JSON_DEPTH } from './python-json.js';

export { MAX_JSON_DEPTH };

/** A parsed JSON object: no prototype, so only the file's own keys are found. */
export type JsonObject = Record<string, unknown>;

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters end a run, as in Python's strict scanner
const PLAIN_CHARS = /[^"\\\u0000-\u001f]*/y;
const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['"', '"'],
  ['\\', '\\'],
  ['/', '/'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
]);

/** A recursive-descent scanner over one text, as Python's json scanner reads it. */
class JsonScanner {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(what: string, at = this.pos): never {
    throw new JsonSyntaxError(what, at);
  }

  skipSpace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  literal(word: string, value: unknown): unknown {
    if (!this.text.startsWith(word, this.pos)) this.fail('expecting value');
    this.pos += word.length;
    return value;
  }

  string(): string {
    const text = this.text;
    this.pos++; // the opening quote
    let out = '';
    for (;;) {
      PLAIN_CHARS.lastIndex = this.pos;
      PLAIN_CHARS.test(text);
      out += text.slice(this.pos, PLAIN_CHARS.lastIndex);
      this.pos = PLAIN_CHARS.lastIndex;
      const c = text[this.pos];
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === undefined) this.fail('unterminated string');
      if (c !== '\\') this.fail('invalid control character in a string');
      out += this.escape();
    }
  }

  /** The escape at `pos` (a backslash), decoded. */
  escape(): string {
    const e = this.text[this.pos + 1];
    if (e === 'u') {
      const hex = this.text.slice(this.pos + 2, this.pos + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\uXXXX escape');
      this.pos += 6;
      return String.fromCharCode(Number.parseInt(hex, 16));
    }
    const decoded = e === undefined ? undefined : ESCAPES.get(e);
    if (decoded === undefined) return this.fail('invalid escape');
    this.pos += 2;
    return decoded;
  }

  number(): unknown {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail('expecting value');
    const start = this.pos;
    this.pos = NUMBER.lastIndex;
    if (m[1] === undefined && m[2] === undefined) {
      const digits = m[0].length - (m[0].startsWith('-') ? 1 : 0);
      if (digits > MAX_INT_DIGITS)
        this.fail(`an integer of ${digits} digits exceeds Python's limit of ${MAX_INT_DIGITS} digits`, start);
      return pythonInt(m[0]);
    }
    const x = Number(m[0]);
    return Number.isInteger(x) ? new PyFloat(x) : x;
  }

  value(depth: number): unknown {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '"') return this.string();
    if (c === '{' || c === '[') {
      if (depth >= MAX_JSON_DEPTH) this.fail(`nested deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`);
      return c === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === 'n') return this.literal('null', null);
    if (c === 't') return this.literal('true', true);
    if (c === 'f') return this.literal('false', false);
    if (c === 'N') return this.literal('NaN', Number.NaN);
    if (c === 'I') return this.literal('Infinity', Number.POSITIVE_INFINITY);
    if (c === '-' && this.text[this.pos + 1] === 'I') return this.literal('-Infinity', Number.NEGATIVE_INFINITY);
    return this.number();
  }

  /** After an item of an array or object: true at its closing `close`, false after a comma. */
  endOrComma(close: string): boolean {
    this.skipSpace();
    const c = this.text[this.pos++];
    if (c === close) return true;
    if (c !== ',') this.fail("expecting ',' delimiter", this.pos - 1);
    return false;
  }

  array(depth: number): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    do out.push(this.value(depth));
    while (!this.endOrComma(']'));
    return out;
  }

  object(depth: number): JsonObject {
    this.pos++;
    const out: JsonObject = Object.create(null);
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    do {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('expecting property name enclosed in double quotes');
      const key = this.string();
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail("expecting ':' delimiter");
      this.pos++;
      out[key] = this.value(depth);
    } while (!this.endOrComma('}'));
    return out;
  }
}

function parseText(text: string): unknown {
  const scanner = new JsonScanner(text);
  if (text.charCodeAt(0) === 0xfeff) scanner.fail('unexpected UTF-8 BOM (Python refuses it too)');
  const result = scanner.value(0);
  scanner.skipSpace();
  if (scanner.pos < text.length) scanner.fail('extra data');
  return result;
}

/** Line and column of `at` in `text`, 1-based, as Python's json errors give them. */
function lineColumn(text: string, at: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line} column ${at - lineStart + 1} (char ${at})`;
}

/** The value of `text`, read from `file` (from its `part`, e.g. 'safetensors header', when given). */
export function parseJson(text: string, file: string, code: ErrorCode, part?: string): unknown {
  try {
    return parseText(text);
  } catch (cause) {
    if (!(cause instanceof JsonSyntaxError)) throw cause;
    const where = part === undefined ? file : `${file}: ${part}`;
    throw new Tf2TorchError(code, `${where}: not valid JSON (${cause.message}: ${lineColumn(text, cause.at)})`, {
      file,
      cause,
    });
  }
}

/** The object `text` holds (a config file, a header): an array, a string or null is refused. */
export function parseJsonObject(text: string, file: string, code: ErrorCode, part?: string): JsonObject {
  const value = parseJson(text, file, code, part);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof PyFloat) {
    const where = part === undefined ? file : `${file}: ${part}`;
    throw new Tf2TorchError(code, `${where}: expected a JSON object`, { file });
  }
  return value as JsonObject;
}
