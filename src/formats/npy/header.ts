/**
 * The `.npy` header (numpy/lib/format.py, "NPY format"), parsed without ever evaluating it:
 *
 *   offset 0   \x93NUMPY              magic (6 bytes)
 *   offset 6   major, minor           1.0 | 2.0 | 3.0
 *   offset 8   header length          uint16 LE (v1) | uint32 LE (v2, v3)
 *   then       header text            ASCII (v1, v2) | UTF-8 (v3): a Python dict literal
 *              {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }  padded with spaces + '\n'
 *   then       raw data               shape's product × itemsize bytes
 *
 * The dict literal is read by a small tokenizer that accepts only strings, integers, True/False/None,
 * tuples and lists: anything else is E_MALFORMED.
 */
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { DTYPES, type DType } from '../../tensor.js';

/** numpy's own default (`format._MAX_HEADER_SIZE`): np.load refuses longer headers unless told otherwise. */
export const MAX_HEADER_BYTES = 10_000;
/** numpy 2's NPY_MAXDIMS is 64 (32 before); more dims cannot come from numpy. */
export const MAX_DIMS = 64;
/** Magic + version + the v2/v3 uint32 length: what must be read before the header text. */
export const PREAMBLE_BYTES = 12;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export type ByteOrder = 'little' | 'big';

export interface NpyHeader {
  readonly version: readonly [number, number];
  readonly dtype: DType;
  /** The `descr` as written, e.g. '>i4'. */
  readonly descr: string;
  readonly byteOrder: ByteOrder;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Where the array bytes start. */
  readonly dataOffset: number;
}

/** numpy type characters (kind + itemsize) → our dtype. */
const DESCR_TYPES: Readonly<Record<string, DType>> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
  c8: 'complex64',
  c16: 'complex128',
};

function malformed(file: string, message: string, offset?: number): Tf2TorchError {
  return new Tf2TorchError(ErrorCode.MALFORMED, `${file}: ${message}`, { file, offset });
}

/** How many bytes of preamble + header text the file declares (reads only the first 12 bytes). */
export function headerLength(
  preamble: Uint8Array,
  file: string,
): { version: [number, number]; textStart: number; textLength: number } {
  if (preamble.byteLength < 10 || MAGIC.some((b, i) => preamble[i] !== b)) {
    throw new Tf2TorchError(ErrorCode.BAD_MAGIC, `${file}: not a .npy file (expected the magic bytes \\x93NUMPY)`, {
      file,
      offset: 0,
    });
  }
  const major = preamble[6]!;
  const minor = preamble[7]!;
  const view = new DataView(preamble.buffer, preamble.byteOffset, preamble.byteLength);
  let textStart: number;
  let textLength: number;
  if (major === 1 && minor === 0) {
    textStart = 10;
    textLength = view.getUint16(8, true);
  } else if ((major === 2 || major === 3) && minor === 0) {
    if (preamble.byteLength < 12)
      throw new Tf2TorchError(ErrorCode.TRUNCATED, `${file}: .npy preamble cut short`, { file, offset: 8 });
    textStart = 12;
    textLength = view.getUint32(8, true);
  } else {
    throw new Tf2TorchError(
      ErrorCode.UNSUPPORTED,
      `${file}: .npy format version ${major}.${minor} is not supported (1.0, 2.0, 3.0 are)`,
      { file, offset: 6 },
    );
  }
  if (textLength > MAX_HEADER_BYTES) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${file}: .npy header of ${textLength} bytes exceeds the limit of ${MAX_HEADER_BYTES}`,
      { file, offset: 8 },
    );
  }
  return { version: [major, minor], textStart, textLength };
}

type Literal = string | number | boolean | null | Literal[] | Map<string, Literal>;

/** Parses the header text (a Python dict literal) into descr / fortran_order / shape. */
export function parseHeaderText(text: string, version: [number, number], dataOffset: number, file: string): NpyHeader {
  const parser = new LiteralParser(text, file);
  const value = parser.value();
  parser.end();
  if (!(value instanceof Map)) throw malformed(file, `.npy header is not a dict: ${JSON.stringify(text.slice(0, 80))}`);
  const descr = value.get('descr');
  const fortran = value.get('fortran_order');
  const shape = value.get('shape');
  const extra = [...value.keys()].filter((k) => !['descr', 'fortran_order', 'shape'].includes(k));
  if (extra.length > 0) throw malformed(file, `.npy header has unexpected keys: ${extra.join(', ')}`);
  if (typeof fortran !== 'boolean') throw malformed(file, `.npy header 'fortran_order' must be True or False`);
  if (!Array.isArray(shape) || !shape.every((d): d is number => typeof d === 'number')) {
    throw malformed(file, `.npy header 'shape' must be a tuple of integers`);
  }
  if (shape.length > MAX_DIMS)
    throw new Tf2TorchError(ErrorCode.LIMIT, `${file}: ${shape.length} dimensions exceed the limit of ${MAX_DIMS}`, {
      file,
    });
  if (typeof descr !== 'string') {
    throw new Tf2TorchError(
      ErrorCode.UNSUPPORTED,
      `${file}: structured .npy arrays (descr ${describe(descr)}) are not supported`,
      { file },
    );
  }
  const { dtype, byteOrder } = parseDescr(descr, file);
  return { version, dtype, descr, byteOrder, fortranOrder: fortran, shape, dataOffset };
}

function describe(v: Literal | undefined): string {
  return v instanceof Map ? 'dict' : (JSON.stringify(v) ?? 'missing');
}

function parseDescr(descr: string, file: string): { dtype: DType; byteOrder: ByteOrder } {
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  if (m?.[2] === 'O' || descr === '|O' || descr === 'O') {
    throw new Tf2TorchError(
      ErrorCode.UNSUPPORTED,
      `${file}: object arrays ('${descr}') hold pickled Python objects and are refused`,
      { file },
    );
  }
  const dtype = m ? DESCR_TYPES[`${m[2]}${m[3]}`] : undefined;
  if (!m || !dtype)
    throw new Tf2TorchError(ErrorCode.UNKNOWN_DTYPE, `${file}: unsupported .npy dtype '${descr}'`, { file });
  const order = m[1]!;
  if (order === '|' && DTYPES[dtype].itemSize !== 1) throw malformed(file, `dtype '${descr}' needs a byte order`);
  // '=' is "native"; numpy writes files with '<' or '>' explicitly, and native here means little-endian.
  return { dtype, byteOrder: order === '>' ? 'big' : 'little' };
}

/** Python literals only: 'str' "str", integers (with an optional Python 2 'L'), True/False/None, (), [], {}. */
class LiteralParser {
  private at = 0;
  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  private skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  private fail(what: string): never {
    throw malformed(
      this.file,
      `.npy header: ${what} at character ${this.at} of ${JSON.stringify(this.text.slice(0, 120))}`,
    );
  }

  end(): void {
    this.skipSpace();
    if (this.at !== this.text.length) this.fail('unexpected text after the dict');
  }

  value(depth = 0): Literal {
    if (depth > 8) this.fail('nesting too deep');
    this.skipSpace();
    const c = this.text[this.at];
    if (c === '{') return this.dict(depth);
    if (c === '(' || c === '[') return this.sequence(c === '(' ? ')' : ']', depth);
    if (c === "'" || c === '"') return this.string(c);
    const word = /^(-?\d+)L?|^(True|False|None)\b/.exec(this.text.slice(this.at));
    if (!word) this.fail('expected a literal');
    this.at += word[0].length;
    if (word[2] === 'True') return true;
    if (word[2] === 'False') return false;
    if (word[2] === 'None') return null;
    const n = Number(word[1]);
    if (!Number.isSafeInteger(n) || n < 0) this.fail(`integer ${word[1]} out of range`);
    return n;
  }

  private string(quote: string): string {
    const close = this.text.indexOf(quote, this.at + 1);
    if (close < 0) this.fail('unterminated string');
    const s = this.text.slice(this.at + 1, close);
    if (s.includes('\\')) this.fail('escapes in strings are not expected');
    this.at = close + 1;
    return s;
  }

  private sequence(close: string, depth: number): Literal[] {
    this.at++;
    const items: Literal[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] === close) break;
      items.push(this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== close) this.fail(`expected ',' or '${close}'`);
      if (items.length > MAX_DIMS + 1) this.fail('too many items');
    }
    this.at++;
    return items;
  }

  private dict(depth: number): Map<string, Literal> {
    this.at++;
    const map = new Map<string, Literal>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] === '}') break;
      const key = this.value(depth + 1);
      if (typeof key !== 'string') this.fail('dict keys must be strings');
      if (map.has(key)) this.fail(`duplicate key '${key}'`);
      this.skipSpace();
      if (this.text[this.at] !== ':') this.fail("expected ':'");
      this.at++;
      map.set(key, this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.at] === ',') this.at++;
      else if (this.text[this.at] !== '}') this.fail("expected ',' or '}'");
      if (map.size > 16) this.fail('too many keys');
    }
    this.at++;
    return map;
  }
}
