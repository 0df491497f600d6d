/**
 * A safe pickle reader (protocols 0-5 opcodes used by torch.save and numpy). Nothing read is
 * executed: GLOBAL names are looked up in an allow-list table (allow-list.ts); REDUCE / NEWOBJ /
 * INST / OBJ / BUILD on anything else is refused with E_PICKLE_FORBIDDEN naming the global and file.
 * Values: None→null, bool, int→number (bigint beyond 2^53), float→number (PyFloat if the policy
 * asks), str, bytes→Uint8Array, tuple/list→array, dict→Map, set→Set, persistent ids→whatever
 * `persistentLoad` returns.
 */
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { PyFloat } from '../../io/py-float.js';
import { intDigits, MAX_INT_DIGITS, pythonInt } from '../../io/py-int.js';
import { latin1Text, utf8Text } from '../../io/text.js';
import {
  type CallContext,
  ForbiddenGlobalError,
  type InertRecord,
  mayBeInertInstance,
  PickleGlobal,
  type PicklePolicy,
} from './allow-list.js';
import { OP } from './pickle-opcodes.js';

/** One string/bytes value; real checkpoints hold vocabularies, never gigabyte strings. */
const MAX_VALUE_BYTES = 1 << 30;
/** Python ints in checkpoints are small; bounds LONG4 (which could announce 4 GiB). */
const MAX_LONG_BYTES = 1024;
/**
 * Text ints (INT, LONG, PUT/GET indexes): Python's int() refuses more than MAX_INT_DIGITS digits (its
 * conversion is quadratic: 50 M digits took 15 s); a sign and LONG's 'L' come on top.
 */
const MAX_TEXT_INT_CHARS = MAX_INT_DIGITS + 2;
/** Stack plus memo entries: bounds memory for hostile files (each entry is a few dozen bytes). */
const MAX_ENTRIES = 1 << 25;
/** Nesting of MARK frames. */
const MAX_MARK_DEPTH = 10_000;

/** Attributes set by BUILD on an OrderedDict (e.g. a state dict's `_metadata`). */
export const PICKLE_ATTRIBUTES = Symbol('pickle attributes');

export interface UnpickleOptions {
  policy: PicklePolicy;
  /** File name for error messages. */
  file: string;
  /** Resolves BINPERSID / PERSID ids (torch storages); absent: persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
  context: CallContext;
}

export interface UnpickleResult {
  value: unknown;
  /** Offset just after STOP (the next pickle of a legacy torch file starts there). */
  end: number;
}

/** Protocols 0-2 written by Python 3 (fix_imports) spell some modules the Python 2 way. */
const PYTHON2_MODULES: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'],
  ['copy_reg', 'copyreg'],
]);

export function unpickle(bytes: Uint8Array, options: UnpickleOptions, start = 0): UnpickleResult {
  const { policy, file } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const fail = (code: ErrorCode, message: string): never => {
    throw new Tf2TorchError(code, `${file}: pickle at offset ${pos}: ${message}`, { file, offset: pos });
  };
  const need = (n: number, what: string) => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > bytes.byteLength)
      fail(ErrorCode.TRUNCATED, `${what} needs ${n} bytes, the pickle ends first`);
  };
  const take = (n: number, what: string): Uint8Array => {
    if (n > MAX_VALUE_BYTES) fail(ErrorCode.LIMIT, `${what} of ${n} bytes exceeds the limit of ${MAX_VALUE_BYTES}`);
    need(n, what);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  /** Advances past `n` bytes and returns where they start. */
  const advance = (n: number, what: string): number => {
    need(n, what);
    pos += n;
    return pos - n;
  };
  const u8 = () => bytes[advance(1, 'byte')]!;
  const u16 = () => view.getUint16(advance(2, 'uint16'), true);
  const u32 = () => view.getUint32(advance(4, 'uint32'), true);
  const u64 = () => Number(view.getBigUint64(advance(8, 'uint64'), true));
  /** The text up to the next newline, refused before decoding when longer than `max` characters. */
  const line = (what: string, max = MAX_VALUE_BYTES, limit = `the limit of ${max}`): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(ErrorCode.TRUNCATED, `${what} has no end of line`);
    if (end - pos > max) fail(ErrorCode.LIMIT, `${what} of ${end - pos} characters exceeds ${limit}`);
    const text = latin1Text(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const utf8 = (n: number, what: string) => utf8Text(take(n, what));
  /** A text int as Python's int() reads it: refused beyond MAX_INT_DIGITS digits, as Python refuses it. */
  const textInt = (text: string, what: string, at: number): number | bigint => {
    const digits = intDigits(text);
    const refuse = (code: ErrorCode, why: string): never => {
      pos = at; // the error points at the text
      return fail(code, `${what} ${why}`);
    };
    if (digits === undefined) return refuse(ErrorCode.MALFORMED, `'${text.slice(0, 40)}' is not an integer`);
    if (digits > MAX_INT_DIGITS)
      refuse(ErrorCode.LIMIT, `of ${digits} digits exceeds Python's limit of ${MAX_INT_DIGITS} digits`);
    return pythonInt(text);
  };
  /** The text of a text int's own line (INT, LONG, PUT, GET), bounded before it is decoded. */
  const intLine = (what: string) =>
    line(what, MAX_TEXT_INT_CHARS, `Python's limit of ${MAX_INT_DIGITS} digits (a sign and 'L' aside)`);
  const float = (x: number) => (policy.floats === 'PyFloat' ? new PyFloat(x) : x);
  const push = (v: unknown) => {
    if (stack.length + memo.size >= MAX_ENTRIES)
      fail(ErrorCode.LIMIT, `more than ${MAX_ENTRIES} stack and memo entries`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks.at(-1)!))
      fail(ErrorCode.MALFORMED, 'stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail(ErrorCode.MALFORMED, 'stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const at = marks.pop();
    if (at === undefined) fail(ErrorCode.MALFORMED, 'no MARK to pop to');
    return stack.splice(at!);
  };
  const long = (raw: Uint8Array): number | bigint => {
    if (raw.byteLength === 0) return 0;
    let v = 0n;
    for (let i = raw.byteLength - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]!);
    if (raw[raw.byteLength - 1]! & 0x80) v -= 1n << BigInt(raw.byteLength * 8);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const forbidden = (name: string, action: string): never =>
    fail(
      ErrorCode.PICKLE_FORBIDDEN,
      `refusing to ${action} '${name}': not in the '${policy.name}' allow-list (a pickle can run arbitrary code; only tensors and plain data are read)`,
    );
  const lookupGlobal = (module: string, name: string): PickleGlobal => {
    const qualified = `${PYTHON2_MODULES.get(module) ?? module}.${name}`;
    const entry = policy.globals.get(qualified);
    if (entry === undefined && !policy.inertInstances) forbidden(qualified, 'load global');
    return new PickleGlobal(qualified, entry);
  };
  const call = (callee: unknown, args: unknown): unknown => {
    if (!(callee instanceof PickleGlobal))
      return fail(ErrorCode.PICKLE_FORBIDDEN, 'refusing to call a value that is not an allow-listed global');
    if (typeof callee.entry !== 'function') return forbidden(callee.qualifiedName, 'call');
    if (!Array.isArray(args)) return fail(ErrorCode.MALFORMED, `arguments of ${callee.qualifiedName} are not a tuple`);
    try {
      return callee.entry(args, options.context);
    } catch (cause) {
      if (cause instanceof Tf2TorchError) throw cause;
      if (cause instanceof ForbiddenGlobalError) return forbidden(cause.qualifiedName, 'instantiate');
      return fail(ErrorCode.MALFORMED, `${callee.qualifiedName}: ${(cause as Error).message}`);
    }
  };
  /** NEWOBJ / NEWOBJ_EX / INST / OBJ: an allowed call, or an inert record if the policy and the class name allow it. */
  const instantiate = (cls: unknown, args: unknown, opcode: string): unknown => {
    const name = cls instanceof PickleGlobal ? cls.qualifiedName : undefined;
    if (name === undefined)
      return fail(ErrorCode.PICKLE_FORBIDDEN, `refusing ${opcode} of a value that is not a global`);
    if (args !== null && !Array.isArray(args)) return fail(ErrorCode.MALFORMED, `arguments of ${name} are not a tuple`);
    const entry = (cls as PickleGlobal).entry;
    if (typeof entry === 'function') return call(cls, args ?? []);
    const inert =
      policy.inertInstances && (name === 'numpy.ndarray' || (entry === undefined && mayBeInertInstance(name)));
    if (!inert) return forbidden(name, `instantiate (${opcode})`);
    return { __class__: name, args: (args as unknown[] | null) ?? [] } satisfies InertRecord;
  };
  const build = (target: unknown, state: unknown): void => {
    if (target instanceof Map) {
      (target as unknown as Record<symbol, unknown>)[PICKLE_ATTRIBUTES] = state;
    } else if (target !== null && typeof target === 'object' && '__class__' in target) {
      (target as InertRecord).state = state;
    } else if (target !== null && typeof target === 'object' && 'stream' in target) {
      // torch.nn.Parameter / tensor attributes: nothing we need.
    } else {
      fail(ErrorCode.PICKLE_FORBIDDEN, `refusing BUILD on a ${target === null ? 'None' : typeof target} value`);
    }
  };
  const append = (target: unknown, items: unknown[]) => {
    let list: unknown[] | undefined;
    if (Array.isArray(target)) list = target;
    else if (target !== null && typeof target === 'object' && '__class__' in target) {
      const record = target as InertRecord;
      record.items ??= [];
      list = record.items;
    } else fail(ErrorCode.PICKLE_FORBIDDEN, 'refusing APPEND on a value that is not a list');
    // One by one: spreading `items` into push() overflows the call stack beyond ~100k arguments.
    for (const item of items) list!.push(item);
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (items.length % 2) fail(ErrorCode.MALFORMED, 'odd number of items for SETITEMS');
    if (target instanceof Map) {
      for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
    } else if (target !== null && typeof target === 'object' && '__class__' in target) {
      const record = target as InertRecord;
      record.items ??= [];
      for (let i = 0; i < items.length; i += 2) record.items.push([items[i], items[i + 1]]);
    } else {
      fail(ErrorCode.PICKLE_FORBIDDEN, 'refusing SETITEM on a value that is not a dict');
    }
  };
  const memoIndex = (index: number | bigint): number =>
    typeof index === 'number' && index >= 0 ? index : fail(ErrorCode.MALFORMED, `memo index ${index} is out of range`);
  const memoGet = (index: number) => {
    if (!memo.has(index)) fail(ErrorCode.MALFORMED, `memo entry ${index} was never stored`);
    return memo.get(index);
  };
  const memoPut = (index: number) => {
    if (stack.length + memo.size >= MAX_ENTRIES)
      fail(ErrorCode.LIMIT, `more than ${MAX_ENTRIES} stack and memo entries`);
    memo.set(index, top());
  };

  for (;;) {
    const opAt = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO: {
        const proto = u8();
        if (proto > 5) fail(ErrorCode.UNSUPPORTED, `pickle protocol ${proto} (protocols 0-5 are supported)`);
        break;
      }
      case OP.FRAME:
        need(u64(), 'FRAME'); // the framed bytes follow inline; only the length is checked
        break;
      case OP.STOP:
        return { value: pop(), end: pos };
      case OP.MARK:
        if (marks.length >= MAX_MARK_DEPTH) fail(ErrorCode.LIMIT, `MARK nesting deeper than ${MAX_MARK_DEPTH}`);
        marks.push(stack.length);
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        push(top());
        break;
      case OP.NONE:
        push(null);
        break;
      case OP.NEWTRUE:
        push(true);
        break;
      case OP.NEWFALSE:
        push(false);
        break;
      case OP.BININT:
        need(4, 'BININT');
        push(view.getInt32(pos, true));
        pos += 4;
        break;
      case OP.BININT1:
        push(u8());
        break;
      case OP.BININT2:
        push(u16());
        break;
      case OP.LONG1:
        push(long(take(u8(), 'LONG1')));
        break;
      case OP.LONG4: {
        const n = u32();
        if (n > MAX_LONG_BYTES) fail(ErrorCode.LIMIT, `LONG4 of ${n} bytes exceeds ${MAX_LONG_BYTES}`);
        push(long(take(n, 'LONG4')));
        break;
      }
      case OP.INT: {
        const at = pos;
        const text = intLine('INT'); // protocol 0 spells False / True as I00 / I01
        push(text === '00' ? false : text === '01' ? true : textInt(text, 'INT', at));
        break;
      }
      case OP.LONG: {
        const at = pos;
        push(textInt(intLine('LONG').replace(/L$/, ''), 'LONG', at));
        break;
      }
      case OP.BINFLOAT:
        need(8, 'BINFLOAT');
        push(float(view.getFloat64(pos, false))); // big-endian
        pos += 8;
        break;
      case OP.FLOAT:
        push(float(parseTextFloat(line('FLOAT'), fail)));
        break;
      case OP.BINUNICODE:
        push(utf8(u32(), 'BINUNICODE'));
        break;
      case OP.SHORT_BINUNICODE:
        push(utf8(u8(), 'SHORT_BINUNICODE'));
        break;
      case OP.BINUNICODE8:
        push(utf8(u64(), 'BINUNICODE8'));
        break;
      case OP.UNICODE:
        push(
          line('UNICODE').replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) =>
            String.fromCharCode(Number.parseInt(h, 16)),
          ),
        );
        break;
      case OP.BINSTRING: // a Python 2 str
        push(latin1Text(take(u32(), 'BINSTRING')));
        break;
      case OP.SHORT_BINSTRING:
        push(latin1Text(take(u8(), 'SHORT_BINSTRING')));
        break;
      case OP.BINBYTES:
        push(Uint8Array.from(take(u32(), 'BINBYTES')));
        break;
      case OP.SHORT_BINBYTES:
        push(Uint8Array.from(take(u8(), 'SHORT_BINBYTES')));
        break;
      case OP.BINBYTES8:
        push(Uint8Array.from(take(u64(), 'BINBYTES8')));
        break;
      case OP.BYTEARRAY8:
        push(Uint8Array.from(take(u64(), 'BYTEARRAY8')));
        break;
      case OP.EMPTY_TUPLE:
      case OP.EMPTY_LIST:
        push([]);
        break;
      case OP.TUPLE:
      case OP.LIST:
        push(popMark());
        break;
      case OP.TUPLE1:
        push([pop()]);
        break;
      case OP.TUPLE2: {
        const b = pop();
        push([pop(), b]);
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        push([pop(), b, c]);
        break;
      }
      case OP.APPEND: {
        const v = pop();
        append(top(), [v]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        append(top(), items);
        break;
      }
      case OP.EMPTY_DICT:
        push(new Map());
        break;
      case OP.DICT: {
        const items = popMark();
        const m = new Map();
        setItems(m, items);
        push(m);
        break;
      }
      case OP.SETITEM: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case OP.EMPTY_SET:
        push(new Set());
        break;
      case OP.ADDITEMS: {
        const items = popMark();
        const target = top();
        if (!(target instanceof Set)) fail(ErrorCode.MALFORMED, 'ADDITEMS on a value that is not a set');
        for (const item of items) (target as Set<unknown>).add(item);
        break;
      }
      case OP.FROZENSET:
        push(new Set(popMark()));
        break;
      case OP.GLOBAL: {
        const module = line('GLOBAL module');
        push(lookupGlobal(module, line('GLOBAL name')));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          fail(ErrorCode.MALFORMED, 'STACK_GLOBAL needs two strings');
        push(lookupGlobal(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        push(call(pop(), args));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop();
        push(instantiate(pop(), args, 'NEWOBJ'));
        break;
      }
      case OP.NEWOBJ_EX: {
        const kwargs = pop();
        const args = pop();
        const r = instantiate(pop(), args, 'NEWOBJ_EX');
        build(r, kwargs);
        push(r);
        break;
      }
      case OP.INST: {
        const module = line('INST module');
        const cls = lookupGlobal(module, line('INST name'));
        push(instantiate(cls, popMark(), 'INST'));
        break;
      }
      case OP.OBJ: {
        const items = popMark();
        push(instantiate(items[0], items.slice(1), 'OBJ'));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        build(top(), state);
        break;
      }
      case OP.PUT: {
        const at = pos;
        memoPut(memoIndex(textInt(intLine('PUT'), 'PUT', at)));
        break;
      }
      case OP.BINPUT:
        memoPut(u8());
        break;
      case OP.LONG_BINPUT:
        memoPut(u32());
        break;
      case OP.MEMOIZE:
        memoPut(memo.size);
        break;
      case OP.GET: {
        const at = pos;
        push(memoGet(memoIndex(textInt(intLine('GET'), 'GET', at))));
        break;
      }
      case OP.BINGET:
        push(memoGet(u8()));
        break;
      case OP.LONG_BINGET:
        push(memoGet(u32()));
        break;
      case OP.BINPERSID:
      case OP.PERSID: {
        const pid = op === OP.BINPERSID ? pop() : line('PERSID');
        if (!options.persistentLoad) fail(ErrorCode.PICKLE_FORBIDDEN, 'persistent id outside a torch container');
        push(options.persistentLoad!(pid));
        break;
      }
      default:
        pos = opAt;
        fail(
          ErrorCode.UNSUPPORTED,
          `opcode 0x${op.toString(16).padStart(2, '0')} is not supported (extension registry, out-of-band buffers or unknown)`,
        );
    }
  }
}

/** Python 2's spellings of the special floats in protocol 0 FLOAT lines. */
const SPECIAL_FLOATS: ReadonlyMap<string, number> = new Map([
  ['nan', Number.NaN],
  ['-nan', Number.NaN],
  ['inf', Number.POSITIVE_INFINITY],
  ['+inf', Number.POSITIVE_INFINITY],
  ['-inf', Number.NEGATIVE_INFINITY],
]);

/** Protocol 0 FLOAT: repr() text, including Python 2's 'nan' / 'inf' spellings. */
function parseTextFloat(text: string, fail: (code: ErrorCode, message: string) => never): number {
  const lower = text.trim().toLowerCase();
  const special = SPECIAL_FLOATS.get(lower);
  if (special !== undefined) return special;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower))
    fail(ErrorCode.MALFORMED, `'${text.slice(0, 40)}' is not a float`);
  return Number(lower);
}
