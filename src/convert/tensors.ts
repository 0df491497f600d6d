/**
 * Plan outputs → the state dict writers consume, lazily: an untransformed output IS the source's
 * TensorRef (streamed in chunks by the writer); a transformed one is materialised only when the
 * writer reaches it, so memory holds about one tensor at a time whatever the model size.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { StateDictEntry } from '../formats/state-dict.js';
import { applyTransforms } from '../mapping/apply.js';
import type { Plan, PlanOutput } from '../mapping/plan.js';
import type { Generator } from '../mapping/types.js';
import { DEFAULT_CHUNK_BYTES, DTYPES, numElements, type DType, type TensorRef } from '../tensor.js';

/** A TensorRef whose bytes are computed on demand (and dropped after the writer streamed them). */
function computedTensor(name: string, dtype: DType, shape: readonly number[], compute: () => Promise<Uint8Array>): TensorRef {
  const byteLength = numElements(shape) * DTYPES[dtype].itemSize;
  return {
    name,
    dtype,
    shape: [...shape],
    byteLength,
    read: compute,
    async *stream(chunkSize = DEFAULT_CHUNK_BYTES) {
      const bytes = await compute();
      if (bytes.byteLength !== byteLength) throw new Error(`${name}: computed ${bytes.byteLength} bytes, expected ${byteLength}`);
      for (let at = 0; at < bytes.byteLength; at += chunkSize) yield bytes.subarray(at, Math.min(bytes.byteLength, at + chunkSize));
    },
  };
}

/**
 * Values of a generated key (float32 unless int64 arange). `inv-freq` follows torch's float32 steps:
 * 1 / 10000 ** (arange(0, d, 2) / d), each step rounded to float32.
 */
export function generateBytes(g: Generator, dtype: DType, shape: readonly number[]): Uint8Array {
  const n = numElements(shape);
  if (dtype === 'int64') {
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = g.kind === 'arange' ? BigInt(i) : BigInt(g.kind === 'fill' ? g.value : 0);
    return new Uint8Array(out.buffer);
  }
  if (dtype !== 'float32') throw new Tf2TorchError(ErrorCode.UNSUPPORTED, `generated values are float32 or int64, not ${dtype}`);
  const out = new Float32Array(n);
  switch (g.kind) {
    case 'identity':
      for (let i = 0; i < g.size; i++) out[i * g.size + i] = 1;
      break;
    case 'fill':
      out.fill(g.value);
      break;
    case 'arange':
      for (let i = 0; i < n; i++) out[i] = i;
      break;
    case 'inv-freq': {
      const d = Math.fround(g.dModel);
      for (let i = 0; i < n; i++) {
        const exponent = Math.fround(Math.fround(2 * i) / d);
        out[i] = Math.fround(1 / Math.fround(10000 ** exponent));
      }
      break;
    }
  }
  return new Uint8Array(out.buffer);
}

function entryFor(o: PlanOutput, byName: ReadonlyMap<string, TensorRef>): StateDictEntry {
  if (o.kind === 'alias') return { key: o.key, aliasOf: o.aliasOf };
  if (o.kind === 'generated') return { key: o.key, tensor: computedTensor(o.key, o.dtype, o.shape, async () => generateBytes(o.generator, o.dtype, o.shape)) };
  const refs = o.sources.map((s) => {
    const ref = byName.get(s.name);
    if (!ref) throw new Tf2TorchError(ErrorCode.TENSOR_NOT_FOUND, `${s.name}: in the plan but not in the checkpoint`, { tensor: s.name });
    return ref;
  });
  const only = refs[0] as TensorRef;
  if (o.transforms.length === 0 && refs.length === 1) return { key: o.key, tensor: only };
  return {
    key: o.key,
    tensor: computedTensor(o.key, o.dtype, o.shape, async () => {
      const inputs = [];
      for (const ref of refs) inputs.push({ dtype: ref.dtype, shape: ref.shape, bytes: await ref.read() });
      return applyTransforms(inputs, o.transforms).bytes;
    }),
  };
}

/** The plan's outputs as writer entries over the source's tensors. */
export function planToStateDict(plan: Plan, tensors: readonly TensorRef[]): StateDictEntry[] {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return plan.outputs.map((o) => entryFor(o, byName));
}
