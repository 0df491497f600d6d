/**
 * Writes the protocol-2 pickle `torch.save` produces for a state dict (data.pkl): an OrderedDict
 * (or dict) of `torch._utils._rebuild_tensor_v2` calls whose storages are persistent ids
 * ('storage', torch.<X>Storage, key, 'cpu', numel). Only the opcodes torch itself emits are used,
 * so `torch.load(weights_only=True)` accepts the result.
 */

import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { concatBytes, setI32, setU32 } from '../../io/little-endian.js';
import { DTYPES, type DType } from '../../tensor.js';

/** What one state-dict value refers to: a storage (by key) viewed with a shape. */
export interface PickledTensor {
  readonly key: string;
  readonly storageKey: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Element count of the whole storage. */
  readonly storageNumel: number;
  /** Steps in storage elements per axis; row-major when absent. */
  readonly strides?: readonly number[];
}

/** SETITEMS batch size, as CPython's pickler (`_BATCHSIZE`). */
const BATCH_SIZE = 1000;

class PickleBuilder {
  private readonly parts: Uint8Array[] = [];

  op(...bytes: number[]): this {
    this.parts.push(Uint8Array.from(bytes));
    return this;
  }

  global(module: string, name: string): this {
    this.op(0x63); // GLOBAL
    this.parts.push(new TextEncoder().encode(`${module}\n${name}\n`));
    return this;
  }

  string(text: string): this {
    const utf8 = new TextEncoder().encode(text);
    const head = new Uint8Array(5);
    head[0] = 0x58; // BINUNICODE
    setU32(head, 1, utf8.byteLength);
    this.parts.push(head, utf8);
    return this;
  }

  int(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    if (value >= 0 && value < 0x100) return this.op(0x4b, value); // BININT1
    if (value >= 0 && value < 0x10000) return this.op(0x4d, value & 0xff, value >>> 8); // BININT2
    if (value >= -0x80000000 && value < 0x80000000) {
      const b = new Uint8Array(5);
      b[0] = 0x4a; // BININT
      setI32(b, 1, value);
      this.parts.push(b);
      return this;
    }
    // LONG1: little-endian two's complement, shortest form.
    const bytes: number[] = [];
    let v = BigInt(value);
    for (;;) {
      const byte = Number(v & 0xffn);
      bytes.push(byte);
      v >>= 8n;
      if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
    }
    return this.op(0x8a, bytes.length, ...bytes);
  }

  tuple(values: readonly number[]): this {
    if (values.length === 0) return this.op(0x29); // EMPTY_TUPLE
    if (values.length > 3) this.op(0x28); // MARK
    for (const v of values) this.int(v);
    if (values.length === 1) return this.op(0x85);
    if (values.length === 2) return this.op(0x86);
    if (values.length === 3) return this.op(0x87);
    return this.op(0x74); // TUPLE
  }

  emptyOrderedDict(): this {
    return this.global('collections', 'OrderedDict').op(0x29, 0x52); // EMPTY_TUPLE, REDUCE
  }

  bytes(): Uint8Array {
    return concatBytes(this.parts);
  }
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i]!;
  }
  return strides;
}

export function pickleStateDict(
  tensors: readonly PickledTensor[],
  container: 'OrderedDict' | 'dict' = 'OrderedDict',
): Uint8Array {
  const p = new PickleBuilder().op(0x80, 2); // PROTO 2
  if (container === 'OrderedDict') p.emptyOrderedDict();
  else p.op(0x7d); // EMPTY_DICT
  for (let start = 0; start < tensors.length; start += BATCH_SIZE) {
    p.op(0x28); // MARK
    for (const t of tensors.slice(start, start + BATCH_SIZE)) {
      const storageClass = DTYPES[t.dtype].torchStorage;
      if (!storageClass) {
        throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `tensor ${t.key}: PyTorch has no storage for dtype ${t.dtype}`, {
          tensor: t.key,
        });
      }
      p.string(t.key);
      p.global('torch._utils', '_rebuild_tensor_v2');
      p.op(0x28); // MARK: the argument tuple
      p.op(0x28).string('storage').global('torch', storageClass).string(t.storageKey).string('cpu').int(t.storageNumel);
      p.op(0x74, 0x51); // TUPLE, BINPERSID
      p.int(0); // storage_offset
      p.tuple(t.shape);
      p.tuple(t.strides ?? contiguousStrides(t.shape));
      p.op(0x89); // NEWFALSE: requires_grad
      p.emptyOrderedDict(); // backward_hooks
      p.op(0x74, 0x52); // TUPLE, REDUCE
    }
    p.op(0x75); // SETITEMS
  }
  return p.op(0x2e).bytes(); // STOP
}
