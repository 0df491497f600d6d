/**
 * The plan's outputs from the keys the rules produced: cast to the target dtype, reconciled with the model's
 * expected keys (shapes checked, tied keys as aliases, generated and zero-filled keys), or passed through in the
 * checkpoint's order where a type lists no expected keys.
 */
import { ErrorCode } from '../errors.js';
import { type DType, FLOAT_DTYPES, type StorageView, sameStorageView } from '../tensor.js';
import type { Problem } from './plan-problems.js';
import type { AbsentKey, PlanOutput, PlanSource } from './plan-types.js';
import type { ExpectedKey, GeneratedValues, TensorInfo, Transform } from './types.js';

export const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** A key the rules produced from checkpoint variables. */
export interface Produced {
  key: string;
  sources: PlanSource[];
  transforms: Transform[];
  shape: number[];
  dtype: DType;
  note: string | undefined;
}

export const sourceNames = (p: Produced) => p.sources.map((s) => s.name).join(' + ');

export type Skipped = { name: string; reason: string };

function defaultGeneratedDType(g: GeneratedValues): DType {
  return g.kind === 'arange' ? 'int64' : 'float32';
}

/** The output of a produced key, cast to `target` when it is floating-point (absent: the checkpoint's dtype). */
export function castTo(target: DType | undefined): (p: Produced) => PlanOutput {
  return (p) => {
    const cast = target !== undefined && target !== p.dtype && FLOAT_DTYPES.has(p.dtype);
    return {
      kind: 'tensor',
      key: p.key,
      sources: p.sources,
      transforms: cast ? [...p.transforms, { op: 'cast', dtype: target }] : p.transforms,
      shape: p.shape,
      dtype: cast ? target : p.dtype,
      ...(p.note === undefined ? {} : { note: p.note }),
    };
  };
}

/**
 * Phase 4 (architectures without a key list): the checkpoint's keys pass through in its order, as a copy
 * of the state dict has them; variables that are one storage view with the same transforms stay tied.
 */
export function passThroughOutputs(
  listing: readonly TensorInfo[],
  produced: ReadonlyMap<string, Produced>,
  withCast: (p: Produced) => PlanOutput,
): PlanOutput[] {
  const viewOf = new Map(listing.map((info) => [info.name, info.view]));
  const position = new Map(listing.map((info, i) => [info.name, i]));
  const inOrder = [...produced.values()].sort(
    (x, y) => position.get(x.sources[0]!.name)! - position.get(y.sources[0]!.name)!,
  );
  const outputs: PlanOutput[] = [];
  // Written tensors by where their view starts.
  const written = new Map<string, { key: string; view: StorageView; transforms: string }[]>();
  for (const p of inOrder) {
    const view = p.sources.length === 1 ? viewOf.get(p.sources[0]!.name) : undefined;
    const out = withCast(p);
    if (!view) {
      outputs.push(out);
      continue;
    }
    const start = `${view.file}\0${view.key}\0${view.offset}`;
    const transforms = JSON.stringify(p.transforms);
    const tied = written.get(start)?.find((w) => w.transforms === transforms && sameStorageView(w.view, view));
    if (tied) {
      outputs.push({ kind: 'alias', key: p.key, aliasOf: tied.key, shape: out.shape, dtype: out.dtype });
    } else {
      outputs.push(out);
      written.set(start, [...(written.get(start) ?? []), { key: p.key, view, transforms }]);
    }
  }
  return outputs;
}

/**
 * Phase 5 (architectures with a key list): every expected key in state_dict order, from what the rules
 * produced, an alias, or a generator; produced keys the model lacks and shapes that disagree are problems.
 */
export function reconcileExpected(
  expected: readonly ExpectedKey[],
  produced: ReadonlyMap<string, Produced>,
  how: {
    withCast: (p: Produced) => PlanOutput;
    /** The dtype of keys written as zeros: the output's floating-point dtype. */
    zerosDType: DType;
    /** The cast of floating-point outputs, generated ones included (as a model's `.half()` casts its buffers). */
    target: DType | undefined;
    problems: Problem[];
    skipped: Skipped[];
  },
): { outputs: PlanOutput[]; missing: AbsentKey[]; zeroFilled: AbsentKey[] } {
  const { withCast, problems, skipped } = how;
  refuseUnexpected(expected, produced, problems);
  const outputs: PlanOutput[] = [];
  const missing: AbsentKey[] = [];
  const zeroFilled: AbsentKey[] = [];
  const done = new Map<string, PlanOutput>();
  for (const e of expected) {
    const p = produced.get(e.key);
    let out: PlanOutput | undefined;
    if (e.aliasOf !== undefined) out = tiedOutput(e, e.aliasOf, p, done, skipped);
    else if (p) {
      checkShape(e, p, problems);
      out = withCast(p);
    } else if (e.generate !== undefined) out = generatedOutput(e, e.generate, how.target);
    else if (e.zerosWhenAbsent) {
      out = generatedOutput({ ...e, dtype: how.zerosDType }, { kind: 'fill', value: 0 });
      zeroFilled.push({ key: e.key, shape: e.shape });
    }
    if (out) {
      outputs.push(out);
      done.set(e.key, out);
    } else if (e.optional || e.aliasOf !== undefined) {
      missing.push({ key: e.key, shape: e.shape });
    } else {
      problems.push({
        code: ErrorCode.PLAN,
        text: `${e.key} ${fmt(e.shape)}: required, but no checkpoint variable maps to it (every real checkpoint of this type has it)`,
      });
    }
  }
  return { outputs, missing, zeroFilled };
}

/** The floating-point dtype of the checkpoint's mapped tensors (the first one's). */
export function floatDTypeOf(produced: ReadonlyMap<string, Produced>): DType | undefined {
  for (const p of produced.values()) if (FLOAT_DTYPES.has(p.dtype)) return p.dtype;
  return undefined;
}

function refuseUnexpected(
  expected: readonly ExpectedKey[],
  produced: ReadonlyMap<string, Produced>,
  problems: Problem[],
): void {
  const expectedKeys = new Set(expected.map((e) => e.key));
  for (const p of produced.values())
    if (!expectedKeys.has(p.key))
      problems.push({
        code: ErrorCode.SHAPE_MISMATCH,
        text: `${p.key} (from ${sourceNames(p)}): not a key of the model for this config (more layers or modules than the config declares?)`,
      });
}

/** A tied key: an alias of its (already placed) source; a checkpoint variable mapping to it is skipped as tied. */
function tiedOutput(
  { key, copyInSafetensors }: ExpectedKey,
  aliasOf: string,
  p: Produced | undefined,
  done: ReadonlyMap<string, PlanOutput>,
  skipped: Skipped[],
): PlanOutput | undefined {
  if (p)
    skipped.push(
      ...p.sources.map((s) => ({ name: s.name, reason: `tied weight: the model uses ${aliasOf} for ${key}` })),
    );
  const source = done.get(aliasOf);
  if (!source) return undefined;
  const copy = copyInSafetensors ? { copyInSafetensors } : {};
  return { kind: 'alias', key, aliasOf, shape: source.shape, dtype: source.dtype, ...copy };
}

function checkShape(e: ExpectedKey, p: Produced, problems: Problem[]): void {
  if (sameShape(p.shape, e.shape)) return;
  const fields = e.fromConfig ? ` (${e.fromConfig} from the config)` : '';
  problems.push({
    code: ErrorCode.SHAPE_MISMATCH,
    text: `${e.key}: the checkpoint's ${sourceNames(p)} gives ${fmt(p.shape)}, the config expects ${fmt(e.shape)}${fields}`,
  });
}

export function generatedOutput(e: ExpectedKey, generator: GeneratedValues, target?: DType): PlanOutput {
  const dtype = e.dtype ?? defaultGeneratedDType(generator);
  const cast = target !== undefined && FLOAT_DTYPES.has(target) && FLOAT_DTYPES.has(dtype);
  return { kind: 'generated', key: e.key, generator, shape: [...e.shape], dtype: cast ? target : dtype };
}
