/**
 * Deterministic byte mutations for fuzzing parsers: the mutations that break
 * binary formats most often (bit flips, truncation, huge varints and length fields, duplicated or
 * deleted ranges) and text formats (structural tokens, huge numbers, deep nesting).
 * Each mutation returns a short description so that a failure can be reproduced from its seed.
 */
import { seededRandom } from './random.js';

export interface Mutated {
  bytes: Uint8Array;
  steps: string[];
}

type Rng = () => number;
type Mutation = (b: Uint8Array, r: Rng) => [Uint8Array, string];

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;
const splice = (b: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array =>
  Buffer.concat([b.subarray(0, at), insert, b.subarray(Math.min(b.length, at + remove))]);

/** Varints that decode to 2^32 - 1, 2^63, 2^64 - 1, 2^53 + 1 and an unterminated run. */
const HUGE_VARINTS: readonly number[][] = [
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
];
/** Little-endian fixed-width values at the edges of int32 / uint32 / int64. */
const HUGE_FIXED: readonly number[][] = [
  [0xff, 0xff, 0xff, 0xff],
  [0xff, 0xff, 0xff, 0x7f],
  [0x00, 0x00, 0x00, 0x80],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80],
  [0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00],
];
const BYTE_VALUES = [0x00, 0xff, 0x7f, 0x80, 0x01];

const BINARY: readonly Mutation[] = [
  (b, r) => {
    const at = int(r, b.length);
    const out = Uint8Array.from(b);
    out[at] = out[at]! ^ (1 << int(r, 8));
    return [out, `flip bit at ${at}`];
  },
  (b, r) => {
    const at = int(r, b.length);
    const v = r() < 0.5 ? pick(r, BYTE_VALUES) : int(r, 256);
    const out = Uint8Array.from(b);
    out[at] = v;
    return [out, `byte ${at} = ${v}`];
  },
  (b, r) => {
    const to = r() < 0.5 ? int(r, b.length) : Math.max(0, b.length - 1 - int(r, 64));
    return [b.subarray(0, to), `truncate to ${to}`];
  },
  (b, r) => {
    const n = 1 + int(r, 256);
    const extra = r() < 0.5 ? new Uint8Array(n) : Uint8Array.from({ length: n }, () => int(r, 256));
    return [Buffer.concat([b, extra]), `append ${n} bytes`];
  },
  (b, r) => {
    const at = int(r, b.length);
    const v = pick(r, HUGE_VARINTS);
    const overwrite = r() < 0.5;
    return [
      splice(b, at, overwrite ? v.length : 0, Uint8Array.from(v)),
      `${overwrite ? 'overwrite' : 'insert'} huge varint [${v}] at ${at}`,
    ];
  },
  (b, r) => {
    const v = pick(r, HUGE_FIXED);
    const at = int(r, Math.max(1, b.length - v.length));
    return [splice(b, at, v.length, Uint8Array.from(v)), `fixed [${v}] at ${at}`];
  },
  (b, r) => {
    const from = int(r, b.length);
    const len = 1 + int(r, Math.min(512, b.length - from));
    const at = int(r, b.length + 1);
    return [splice(b, at, 0, Uint8Array.from(b.subarray(from, from + len))), `duplicate [${from}, +${len}) at ${at}`];
  },
  (b, r) => {
    const from = int(r, b.length);
    const len = 1 + int(r, Math.min(512, b.length - from));
    return [splice(b, from, len, new Uint8Array(0)), `delete [${from}, +${len})`];
  },
];

const TOKENS = [
  '[',
  ']',
  '(',
  ')',
  '{',
  '}',
  '"',
  "'",
  "'''",
  '"""',
  '%',
  '@',
  '\\',
  ',',
  '=',
  ':',
  '.',
  '/',
  '#',
  '\n',
  ' ',
  '-1',
  '0',
  '1e999',
  '-1e999',
  'NaN',
  '9007199254740993',
  '99999999999999999999',
  '18446744073709551616',
  '2147483648',
  'null',
  'true',
  'True',
  'None',
  '()',
  '[]',
  '{}',
  '@x()',
  '%x',
  '\u0000',
  '\ud800',
  '\u00e9',
];

const TEXT: readonly Mutation[] = [
  (b, r) => {
    const at = int(r, b.length + 1);
    const token = pick(r, TOKENS);
    return [splice(b, at, r() < 0.3 ? 1 : 0, Buffer.from(token, 'utf8')), `token ${JSON.stringify(token)} at ${at}`];
  },
  (b, r) => {
    const at = int(r, b.length + 1);
    const open = pick(r, ['[', '(', '{"a":', '@f(', '{']);
    const depth = 50 + int(r, 5000);
    return [
      splice(b, at, 0, Buffer.from(open.repeat(depth), 'utf8')),
      `nest ${JSON.stringify(open)} × ${depth} at ${at}`,
    ];
  },
  (b, r) => {
    // replace one run of digits with a huge or negative number
    const text = Buffer.from(b).toString('latin1');
    const runs = [...text.matchAll(/\d+/g)];
    if (runs.length === 0) return [b, 'no digits'];
    const m = pick(r, runs);
    const v = pick(r, ['99999999999', '9007199254740993', '4294967296', '0', '-5', '1e308', '18446744073709551615']);
    return [splice(b, m.index!, m[0].length, Buffer.from(v, 'latin1')), `number ${m[0]} → ${v} at ${m.index}`];
  },
];

/** 1–3 stacked mutations of `input`, chosen by `seed`; text mutations too when `text` is set. */
export function mutate(input: Uint8Array, seed: number, text = false): Mutated {
  const r = seededRandom(seed);
  let bytes: Uint8Array = input;
  const steps: string[] = [];
  const count = 1 + int(r, 3);
  for (let i = 0; i < count; i++) {
    const pool = text && r() < 0.6 ? TEXT : BINARY;
    if (bytes.length === 0) {
      steps.push('empty');
      break;
    }
    const [next, step] = pick(r, pool)(bytes, r);
    bytes = next;
    steps.push(step);
  }
  return { bytes, steps };
}
