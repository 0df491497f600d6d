/**
 * Name patterns of rules: `{name}` matches decimal digits (`layer_{layer}` ↔ `layer_011`), `{name*}`
 * matches any non-empty text. Patterns compile to anchored regular expressions once.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';

export type Captures = Readonly<Record<string, string>>;

export interface CompiledPattern {
  readonly source: string;
  readonly regex: RegExp;
  /** Placeholder names in the order they appear (each once). */
  readonly names: readonly string[];
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)(\*?)\}/g;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const cache = new Map<string, CompiledPattern>();

export function compilePattern(source: string): CompiledPattern {
  const hit = cache.get(source);
  if (hit) return hit;
  const names: string[] = [];
  let regex = '^';
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const name = m[1] as string;
    regex += escapeRegex(source.slice(last, m.index));
    const seen = names.indexOf(name);
    if (seen >= 0) regex += `\\${seen + 1}`;
    else {
      names.push(name);
      regex += m[2] === '*' ? '(.+?)' : '(\\d+)';
    }
    last = m.index + m[0].length;
  }
  regex += `${escapeRegex(source.slice(last))}$`;
  if (/[{}]/.test(source.replace(PLACEHOLDER, ''))) {
    throw new Tf2TorchError(ErrorCode.PLAN, `malformed rule pattern '${source}' (placeholders are {name} or {name*})`);
  }
  const compiled = { source, regex: new RegExp(regex), names };
  cache.set(source, compiled);
  return compiled;
}

/** The placeholder values if `name` matches `pattern` entirely, else undefined. */
export function matchPattern(pattern: string, name: string): Captures | undefined {
  const c = compilePattern(pattern);
  const m = c.regex.exec(name);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  c.names.forEach((n, i) => {
    out[n] = m[i + 1] as string;
  });
  return out;
}

/**
 * Fills a pattern with captured values. `as: 'key'` prints digit placeholders as plain integers
 * (`block_000` → `block.0`); `as: 'name'` copies them verbatim (to find sibling checkpoint names).
 */
export function fillPattern(pattern: string, values: Captures, as: 'key' | 'name'): string {
  return pattern.replace(PLACEHOLDER, (_whole, name: string, star: string) => {
    const v = values[name];
    if (v === undefined) {
      throw new Tf2TorchError(
        ErrorCode.PLAN,
        `rule pattern '${pattern}' uses {${name}${star}} which the source pattern does not capture`,
      );
    }
    return as === 'key' && star === '' && /^\d+$/.test(v) ? String(Number.parseInt(v, 10)) : v;
  });
}
