/**
 * Decimal text → a Python int, as Python's `int(text)` reads it: a number while it is a safe integer,
 * a bigint beyond (exact, never rounded to a float). Python refuses to convert more than 4,300 digits
 * (sys.int_info.default_max_str_digits, CVE-2020-10735): the conversion is quadratic, so both the
 * pickle reader (INT/LONG) and the JSON reader refuse longer integers too.
 */

/** Python's default limit on the digits of an int read from text. */
export const MAX_INT_DIGITS = 4300;

/** The digits of `text` (sign excluded), when it is an optionally signed run of decimal digits. */
export function intDigits(text: string): number | undefined {
  const m = /^[+-]?(\d+)$/.exec(text);
  return m ? m[1]!.length : undefined;
}

/**
 * The int `text` spells (checked by the caller: `intDigits(text)` is within MAX_INT_DIGITS). `-0` is 0,
 * as in Python: ints have no negative zero.
 */
export function pythonInt(text: string): number | bigint {
  if (text.length <= 15) return Number(text) || 0;
  const big = BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}
