/**
 * The globals a pickle may name, as data. Like `torch.load(weights_only=True)`, nothing outside
 * these tables is ever called: an allowed "callable" is our own pure function that builds plain
 * data (Map, Set, bytes, TensorRef), never the Python object of that name.
 *
 * Two policies:
 * - 'weights': state dicts only (what torch's weights-only unpickler accepts).
 * - 'checkpoint': also numpy arrays/scalars/dtypes and instances of arbitrary classes created
 *   without running code (NEWOBJ, copyreg._reconstructor): they become inert records
 *   `{ __class__: 'module.Name', args, state, items }`. Calling any other global is still refused.
 *   Floats are PyFloat there: a checkpoint's parameters are printed back as Python prints them.
 */

import { latin1Bytes } from '../../io/text.js';
import type { DType } from '../../tensor.js';

/** An instance of a class we did not (and never will) construct: just its name and data. */
export interface InertRecord {
  __class__: string;
  args?: unknown[];
  state?: unknown;
  items?: unknown[];
}

export interface CallContext {
  /** Builds a tensor handle from `_rebuild_tensor(_v2)` arguments (provided by the container reader). */
  rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): unknown;
}

export type AllowedCall = (args: readonly unknown[], context: CallContext) => unknown;

/** A name that may appear as a value (storage type, dtype) but may not be called. */
export const REFERENCE_ONLY = 'reference' as const;
export type AllowEntry = AllowedCall | typeof REFERENCE_ONLY;

export interface PicklePolicy {
  readonly name: 'weights' | 'checkpoint';
  readonly globals: ReadonlyMap<string, AllowEntry>;
  /** Whether NEWOBJ/INST/OBJ/copyreg._reconstructor of an unknown class yields an inert record. */
  readonly inertInstances: boolean;
  /** Python floats as JS numbers, or as PyFloat (kept apart from ints, for printing them back as Python does). */
  readonly floats: 'number' | 'PyFloat';
}

/** Storage classes and dtype objects a persistent id may name, with the dtype they mean (no prototype: a name finds only these). */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, DType>> = Object.assign(Object.create(null), {
  'torch.FloatStorage': 'float32',
  'torch.DoubleStorage': 'float64',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
  'torch.LongStorage': 'int64',
  'torch.IntStorage': 'int32',
  'torch.ShortStorage': 'int16',
  'torch.CharStorage': 'int8',
  'torch.ByteStorage': 'uint8',
  'torch.BoolStorage': 'bool',
  'torch.ComplexFloatStorage': 'complex64',
  'torch.ComplexDoubleStorage': 'complex128',
  'torch.cuda.FloatStorage': 'float32',
  'torch.cuda.DoubleStorage': 'float64',
  'torch.cuda.HalfStorage': 'float16',
  'torch.cuda.BFloat16Storage': 'bfloat16',
  'torch.cuda.LongStorage': 'int64',
  'torch.cuda.IntStorage': 'int32',
  'torch.cuda.ShortStorage': 'int16',
  'torch.cuda.CharStorage': 'int8',
  'torch.cuda.ByteStorage': 'uint8',
  'torch.cuda.BoolStorage': 'bool',
  'torch.float32': 'float32',
  'torch.float64': 'float64',
  'torch.float16': 'float16',
  'torch.bfloat16': 'bfloat16',
  'torch.int64': 'int64',
  'torch.int32': 'int32',
  'torch.int16': 'int16',
  'torch.int8': 'int8',
  'torch.uint8': 'uint8',
  'torch.bool': 'bool',
  'torch.complex64': 'complex64',
  'torch.complex128': 'complex128',
});

const toMap: AllowedCall = (args) => new Map((args[0] as [unknown, unknown][] | undefined) ?? []);
const toSet: AllowedCall = (args) => new Set((args[0] as unknown[] | undefined) ?? []);
const firstArgument: AllowedCall = (args) => args[0];

/** `_codecs.encode(text, 'latin1')` is how protocol 2 spells `bytes`. */
const encode: AllowedCall = (args) => {
  const encoding = String(args[1] ?? 'utf-8')
    .toLowerCase()
    .replace('-', '');
  const text = String(args[0]);
  return encoding === 'latin1' || encoding === 'iso88591' ? latin1Bytes(text) : new TextEncoder().encode(text);
};

const WEIGHTS_GLOBALS: [string, AllowEntry][] = [
  ['collections.OrderedDict', toMap],
  ['builtins.dict', toMap],
  ['builtins.set', toSet],
  ['builtins.frozenset', toSet],
  ['builtins.list', (args) => [...((args[0] as unknown[] | undefined) ?? [])]],
  ['builtins.bytes', (args) => Uint8Array.from((args[0] as number[] | undefined) ?? [])],
  [
    'builtins.bytearray',
    (args) => (args[0] instanceof Uint8Array ? args[0] : Uint8Array.from((args[0] as number[] | undefined) ?? [])),
  ],
  ['_codecs.encode', encode],
  ['torch.Size', (args) => [...((args[0] as unknown[] | undefined) ?? [])]],
  ['torch.device', (args) => args.map(String).join(':')],
  ['torch._utils._rebuild_tensor_v2', (args, ctx) => ctx.rebuildTensor(args[0], args[1], args[2], args[3])],
  ['torch._utils._rebuild_tensor', (args, ctx) => ctx.rebuildTensor(args[0], args[1], args[2], args[3])],
  ['torch._utils._rebuild_parameter', firstArgument],
  ['torch._utils._rebuild_parameter_with_state', firstArgument],
  ['torch.nn.parameter.Parameter', firstArgument],
  ...Object.keys(TORCH_STORAGE_DTYPES).map((name): [string, AllowEntry] => [name, REFERENCE_ONLY]),
];

/** numpy objects become inert records; `module` varies with the numpy version (numpy 2: numpy._core). */
const inert =
  (className: string): AllowedCall =>
  (args) =>
    ({ __class__: className, args: [...args] }) satisfies InertRecord;
const NUMPY_GLOBALS: [string, AllowEntry][] = ['numpy.core.multiarray', 'numpy._core.multiarray'].flatMap(
  (m): [string, AllowEntry][] => [
    [
      `${m}._reconstruct`,
      (args) => ({ __class__: inertClassOf(args[0], 'numpy.ndarray'), args: args.slice(1) }) satisfies InertRecord,
    ],
    [`${m}.scalar`, inert('numpy.scalar')],
  ],
);

/**
 * Standard-library modules whose names act on the system (processes, files, imports, code). No
 * instance of anything in them is ever a checkpoint's data, so even an inert record of one is refused.
 */
const ACTING_MODULES = new Set([
  'builtins',
  'os',
  'posix',
  'nt',
  'sys',
  'subprocess',
  'shutil',
  'socket',
  'pickle',
  '_pickle',
  'marshal',
  'importlib',
  'runpy',
  'code',
  'codeop',
  'ctypes',
  'types',
  'functools',
  'operator',
  'io',
  '_io',
  'pty',
  'webbrowser',
  'multiprocessing',
  'threading',
  'signal',
  'asyncio',
  'pathlib',
  'tempfile',
  'glob',
  'platform',
  'pdb',
  'timeit',
]);

/** Raised by an allowed call that was handed a forbidden global (e.g. `copyreg._reconstructor(os.system, …)`). */
export class ForbiddenGlobalError extends Error {
  constructor(readonly qualifiedName: string) {
    super(`'${qualifiedName}' may not be instantiated`);
  }
}

/**
 * Whether an unknown global may become an inert record ('checkpoint' policy): only a name spelled as a
 * class (last part capitalised, as `argparse.Namespace`, `src.utils.AttrDict`) outside the modules that
 * act on the system. `os.system` or `subprocess.Popen` built by NEWOBJ/INST/OBJ are refused like REDUCE.
 */
export function mayBeInertInstance(qualifiedName: string): boolean {
  const parts = qualifiedName.split('.');
  const last = parts.at(-1) ?? '';
  return parts.length >= 2 && /^_?[A-Z]/.test(last) && !ACTING_MODULES.has(parts[0]!);
}

/** The class name of an inert record built by `copyreg._reconstructor` / numpy's `_reconstruct`. */
function inertClassOf(value: unknown, fallback: string): string {
  const name = globalName(value);
  if (name === undefined) return fallback;
  if (name !== 'numpy.ndarray' && name !== 'builtins.object' && !mayBeInertInstance(name))
    throw new ForbiddenGlobalError(name);
  return name;
}

/** The dotted name of a global reference, if `value` is one. */
export function globalName(value: unknown): string | undefined {
  return value instanceof PickleGlobal ? value.qualifiedName : undefined;
}

/** The value GLOBAL / STACK_GLOBAL push: a reference to a name, callable only through its table entry. */
export class PickleGlobal {
  constructor(
    readonly qualifiedName: string,
    readonly entry: AllowEntry | undefined,
  ) {}
}

export const WEIGHTS_POLICY: PicklePolicy = {
  name: 'weights',
  globals: new Map(WEIGHTS_GLOBALS),
  inertInstances: false,
  floats: 'number',
};

export const CHECKPOINT_POLICY: PicklePolicy = {
  name: 'checkpoint',
  globals: new Map([
    ...WEIGHTS_GLOBALS,
    ...NUMPY_GLOBALS,
    ['numpy.ndarray', REFERENCE_ONLY],
    ['numpy.dtype', inert('numpy.dtype')],
    // copyreg._reconstructor(cls, base, state) is how protocols 0-1 create an object without __init__.
    [
      'copyreg._reconstructor',
      (args) => ({ __class__: inertClassOf(args[0], 'object'), args: args.slice(1) }) satisfies InertRecord,
    ],
  ]),
  inertInstances: true,
  floats: 'PyFloat',
};

export const POLICIES = { weights: WEIGHTS_POLICY, checkpoint: CHECKPOINT_POLICY } as const;
