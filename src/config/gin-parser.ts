/**
 * A parser for gin-config files (`operative_config.gin` of Mesh TensorFlow / T5) into plain data.
 * Nothing is evaluated: `@references` and `%macros` stay symbolic, values are Python literals only.
 *
 *   import mesh_tensorflow.transformer.transformer_layers
 *   d_ff = 64                                             macro (a key without '.')
 *   encoder/DenseReluDense.hidden_size = %d_ff            scope/Configurable.param = value
 *   run.layout_rules = \                                   line continuation
 *       'batch:batch,d_ff:model'
 *   run.learning_rate_schedule = [@lrs.truncated_rsqrt,   newlines are free inside brackets
 *                                 @lrs.constant]          # comments anywhere outside strings
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';

/** Real operative configs are ~10-50 KB; 4 MiB is far beyond any and keeps a bad file bounded. */
export const MAX_GIN_BYTES = 4 * 1024 * 1024;
/** Nesting of lists/tuples/dicts; gin values are shallow in practice. */
export const MAX_GIN_DEPTH = 64;

export interface GinTuple {
  readonly kind: 'tuple';
  readonly items: GinValue[];
}
export interface GinDict {
  readonly kind: 'dict';
  readonly entries: [GinValue, GinValue][];
}
export interface GinMacro {
  readonly kind: 'macro';
  readonly name: string;
}
/** `@name` (evaluate false) or `@name()` (evaluate true: gin calls it). */
export interface GinReference {
  readonly kind: 'reference';
  readonly name: string;
  readonly evaluate: boolean;
}
export type GinValue = null | boolean | number | string | GinValue[] | GinTuple | GinDict | GinMacro | GinReference;

export interface GinBinding {
  /** '' when unscoped; 'encoder' in `encoder/DenseReluDense.hidden_size`. */
  readonly scope: string;
  /** 'DenseReluDense', or a dotted module path such as 'learning_rate_schedules.constant'. */
  readonly configurable: string;
  readonly param: string;
  readonly value: GinValue;
  readonly line: number;
}

export interface GinConfig {
  readonly file: string;
  readonly imports: string[];
  readonly includes: string[];
  /** Macro name → value; a later binding of the same name wins, as in gin. */
  readonly macros: Map<string, { value: GinValue; line: number }>;
  /** In file order; a later binding of the same key wins (see ginBinding). */
  readonly bindings: GinBinding[];
}

const KEY = /^[A-Za-z_][\w.]*(?:\/[A-Za-z_][\w.]*)*/;
const NAME = /^[A-Za-z_][\w.]*(?:\/[A-Za-z_][\w.]*)*/;
const NUMBER = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/;
const ESCAPES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    n: '\n',
    t: '\t',
    r: '\r',
    '\\': '\\',
    "'": "'",
    '"': '"',
    '0': '\0',
  }),
);

export function parseGin(text: string, file = '<gin>'): GinConfig {
  if (text.length > MAX_GIN_BYTES) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${file}: ${text.length} characters exceed the limit of ${MAX_GIN_BYTES} for a gin file`,
      { file },
    );
  }
  return new GinParser(text, file).file();
}

class GinParser {
  private at = 0;
  private readonly config: GinConfig;

  constructor(
    private readonly text: string,
    file: string,
  ) {
    this.config = { file, imports: [], includes: [], macros: new Map(), bindings: [] };
  }

  private counted = { at: 0, line: 1 };

  /** Line number of `this.at`, counted forward from the last call (statements come in order). */
  private line(): number {
    let { at, line } = this.counted.at <= this.at ? this.counted : { at: 0, line: 1 };
    for (; at < this.at; at++) if (this.text.charCodeAt(at) === 10) line++;
    this.counted = { at, line };
    return line;
  }

  private fail(what: string): never {
    const line = this.line();
    const lineStart = this.text.lastIndexOf('\n', this.at - 1) + 1;
    const snippet = this.text.slice(lineStart, this.text.indexOf('\n', lineStart) >>> 0).slice(0, 100);
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${this.config.file}:${line}: ${what} in ${JSON.stringify(snippet)}`, {
      file: this.config.file,
      offset: this.at,
    });
  }

  /** Skips spaces, `\`-continuations and comments; newlines too when `newlines` (inside brackets). */
  private skip(newlines: boolean): void {
    for (;;) {
      const c = this.text[this.at];
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.at++;
      else if (c === '\\' && /^\\\r?\n/.test(this.text.slice(this.at, this.at + 3)))
        this.at += this.text[this.at + 1] === '\r' ? 3 : 2;
      else if (c === '#') while (this.at < this.text.length && this.text[this.at] !== '\n') this.at++;
      else return;
    }
  }

  private match(re: RegExp): string | undefined {
    const m = re.exec(this.text.slice(this.at, this.at + 1000));
    if (!m) return undefined;
    this.at += m[0].length;
    return m[0];
  }

  private endOfStatement(): void {
    this.skip(false);
    if (this.at < this.text.length && this.text[this.at] !== '\n') this.fail('unexpected text after the value');
  }

  file(): GinConfig {
    for (;;) {
      this.skip(true);
      if (this.at >= this.text.length) return this.config;
      const line = this.line();
      const key = this.match(KEY) ?? this.fail('expected a binding, import or include');
      this.skip(false);
      if ((key === 'import' || key === 'from') && this.text[this.at] !== '=') {
        const rest = this.text.slice(this.at, (this.text.indexOf('\n', this.at) + 1 || this.text.length + 1) - 1);
        this.config.imports.push(`${key === 'from' ? 'from ' : ''}${rest.replace(/#.*$/, '').trim()}`);
        this.at += rest.length;
        continue;
      }
      if (key === 'include' && this.text[this.at] !== '=') {
        const path = this.value(0);
        if (typeof path !== 'string') this.fail('include needs a quoted path');
        this.config.includes.push(path);
        this.endOfStatement();
        continue;
      }
      if (this.text[this.at] !== '=') this.fail(`expected '=' after '${key}'`);
      this.at++;
      const value = this.value(0);
      this.endOfStatement();
      this.bind(key, value, line);
    }
  }

  private bind(key: string, value: GinValue, line: number): void {
    const slash = key.lastIndexOf('/');
    const scope = slash < 0 ? '' : key.slice(0, slash);
    const selector = key.slice(slash + 1);
    const dot = selector.lastIndexOf('.');
    if (dot < 0) {
      this.config.macros.set(key, { value, line });
      return;
    }
    this.config.bindings.push({
      scope,
      configurable: selector.slice(0, dot),
      param: selector.slice(dot + 1),
      value,
      line,
    });
  }

  private value(depth: number): GinValue {
    if (depth > MAX_GIN_DEPTH) this.fail(`values nested deeper than ${MAX_GIN_DEPTH}`);
    const inBrackets = depth > 0;
    this.skip(inBrackets);
    const c = this.text[this.at];
    if (c === '[') return this.sequence(']', depth).items;
    if (c === '(') {
      const { items, trailingComma } = this.sequence(')', depth);
      // '(x)' is just x; '(x,)' and '()' are tuples
      return items.length === 1 && !trailingComma ? items[0]! : { kind: 'tuple', items };
    }
    if (c === '{') return this.dict(depth);
    if (c === "'" || c === '"') return this.string();
    if (c === '%') {
      this.at++;
      return { kind: 'macro', name: this.match(NAME) ?? this.fail('expected a macro name after %') };
    }
    if (c === '@') {
      this.at++;
      const name = this.match(NAME) ?? this.fail('expected a configurable name after @');
      const evaluate = this.text.startsWith('()', this.at);
      if (evaluate) this.at += 2;
      return { kind: 'reference', name, evaluate };
    }
    const number = this.match(NUMBER);
    if (number !== undefined) {
      if (/^[A-Za-z_]/.test(this.text[this.at] ?? '')) this.fail('malformed number');
      return Number(number);
    }
    const word = this.match(/^(True|False|None)\b/);
    if (word === 'True') return true;
    if (word === 'False') return false;
    if (word === 'None') return null;
    this.fail('expected a value');
  }

  private sequence(close: string, depth: number): { items: GinValue[]; trailingComma: boolean } {
    this.at++;
    const items: GinValue[] = [];
    let trailingComma = false;
    for (;;) {
      this.skip(true);
      if (this.text[this.at] === close) break;
      items.push(this.value(depth + 1));
      this.skip(true);
      trailingComma = this.text[this.at] === ',';
      if (trailingComma) this.at++;
      else if (this.text[this.at] !== close) this.fail(`expected ',' or '${close}'`);
    }
    this.at++;
    return { items, trailingComma };
  }

  private dict(depth: number): GinDict {
    this.at++;
    const entries: [GinValue, GinValue][] = [];
    for (;;) {
      this.skip(true);
      if (this.text[this.at] === '}') break;
      const key = this.value(depth + 1);
      this.skip(true);
      if (this.text[this.at] !== ':') this.fail("expected ':' in a dict");
      this.at++;
      entries.push([key, this.value(depth + 1)]);
      this.skip(true);
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== '}') this.fail("expected ',' or '}'");
    }
    this.at++;
    return { kind: 'dict', entries };
  }

  /** A Python string literal: single, double or triple quoted, with the common escapes. */
  private string(): string {
    const quote = this.text.startsWith(this.text[this.at]!.repeat(3), this.at)
      ? this.text[this.at]!.repeat(3)
      : this.text[this.at]!;
    this.at += quote.length;
    let out = '';
    for (;;) {
      if (this.at >= this.text.length) this.fail('unterminated string');
      if (this.text.startsWith(quote, this.at)) break;
      const c = this.text[this.at]!;
      if (c === '\n' && quote.length === 1) this.fail('newline in a string');
      if (c === '\\') {
        const next = this.text[this.at + 1] ?? '';
        if (next === '\n') out += '';
        else out += ESCAPES.get(next) ?? `\\${next}`;
        this.at += 2;
        continue;
      }
      out += c;
      this.at++;
    }
    this.at += quote.length;
    return out;
  }
}
