/**
 * buildPlan(): checkpoint listing + architecture + config → Plan, plain data, without reading a byte.
 * Strict: every problem (unmapped variable, duplicate target, shape disagreeing with the config, a
 * required key the checkpoint lacks) is collected and reported in ONE error.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { DTYPES, type DType, FLOAT_DTYPES, numElements, type StorageView, sameStorageView } from '../tensor.js';
import { fillPattern, matchPattern } from './pattern.js';
import { transformType } from './transforms.js';
import type {
  Architecture,
  ExpectedKey,
  Generator,
  ModelConfig,
  Rule,
  SkipRule,
  TensorInfo,
  Transform,
} from './types.js';

export interface PlanSource {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export type PlanOutput =
  | {
      readonly kind: 'tensor';
      readonly key: string;
      readonly sources: readonly PlanSource[];
      readonly transforms: readonly Transform[];
      readonly shape: readonly number[];
      readonly dtype: DType;
      readonly note?: string;
    }
  | {
      readonly kind: 'alias';
      readonly key: string;
      readonly aliasOf: string;
      readonly shape: readonly number[];
      readonly dtype: DType;
    }
  | {
      readonly kind: 'generated';
      readonly key: string;
      readonly generator: Generator;
      readonly shape: readonly number[];
      readonly dtype: DType;
    };

export interface Plan {
  readonly modelType: string;
  /** The model class the keys belong to (config `architectures[0]`), if known. */
  readonly modelClass: string | undefined;
  /** Checkpoint variables considered. */
  readonly variableCount: number;
  /** Every output key in state_dict order. */
  readonly outputs: readonly PlanOutput[];
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  /** Variables no rule maps (only when skipUnknown; otherwise buildPlan fails). */
  readonly unmapped: readonly PlanSource[];
  /** Keys of the model the checkpoint does not provide: left for from_pretrained to initialise. */
  readonly missing: readonly { readonly key: string; readonly shape: readonly number[] }[];
  readonly warnings: readonly string[];
  /** Bytes of tensor data written once (aliases share storage). */
  readonly totalBytes: number;
}

export interface PlanOptions {
  /** Unmapped variables become a warning instead of an error. */
  readonly skipUnknown?: boolean;
  /** Output dtype of floating-point tensors; absent: the architecture's default, else the checkpoint's; 'keep': the checkpoint's. */
  readonly dtype?: 'keep' | DType;
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** The name rules match against: leading scopes stripped, renames applied. */
export function normalizeName(arch: Architecture, name: string): string {
  let n = name;
  for (const prefix of arch.stripPrefixes ?? []) if (n.startsWith(prefix)) n = n.slice(prefix.length);
  for (const r of arch.renames ?? []) n = n.split(r.from).join(r.to);
  return n;
}

export function skipReason(skip: readonly SkipRule[], name: string): string | undefined {
  const components = name.split('/');
  for (const rule of skip) {
    const hit = rule.components?.find((c) => components.includes(c));
    if (hit !== undefined) return `${rule.reason} (${hit})`;
    if (rule.pattern !== undefined && new RegExp(rule.pattern).test(name)) return rule.reason;
  }
  return undefined;
}

interface Produced {
  key: string;
  sources: PlanSource[];
  transforms: Transform[];
  shape: number[];
  dtype: DType;
  note: string | undefined;
}

function defaultGeneratedDType(g: Generator): DType {
  return g.kind === 'arange' ? 'int64' : 'float32';
}

export function buildPlan(
  listing: readonly TensorInfo[],
  arch: Architecture,
  config: ModelConfig,
  options: PlanOptions = {},
): Plan {
  const problems: { code: ErrorCode; text: string }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const candidates = new Map<string, TensorInfo>(); // normalized name → variable
  const skipRules = [...arch.skip, ...(arch.configSkip?.(config) ?? [])];
  for (const info of listing) {
    const name = normalizeName(arch, info.name);
    const reason = skipReason(skipRules, name);
    if (reason !== undefined) skipped.push({ name: info.name, reason });
    else candidates.set(name, info);
  }

  // Rules, in order; the first rule that matches a variable consumes it.
  const consumed = new Set<string>();
  const produced = new Map<string, Produced>();
  const rules: readonly Rule[] = arch.rules(config);
  for (const rule of rules) {
    const patterns = typeof rule.from === 'string' ? [rule.from] : rule.from;
    const [head, ...others] = patterns as [string, ...string[]];
    for (const [name, info] of candidates) {
      if (consumed.has(name)) continue;
      const captures = matchPattern(head, name);
      if (captures === undefined) continue;
      const group = [info];
      const groupNames = [name];
      let complete = true;
      for (const p of others) {
        const sibling = fillPattern(p, captures, 'name');
        const found = candidates.get(sibling);
        if (found === undefined) {
          problems.push({
            code: ErrorCode.PLAN,
            text: `${info.name}: rule '${rule.to}' also needs '${sibling}', which the checkpoint lacks`,
          });
          complete = false;
        } else {
          group.push(found);
          groupNames.push(sibling);
        }
      }
      for (const n of groupNames) consumed.add(n);
      if (!complete) continue;
      const sources = group.map((g) => ({ name: g.name, dtype: g.dtype, shape: [...g.shape] }));
      const count = rule.split ? (info.shape[rule.split.axis] ?? 0) : (rule.repeat?.count ?? 1);
      for (let i = 0; i < count; i++) {
        const index = rule.split?.as ?? rule.repeat?.as;
        const values = index !== undefined ? { ...captures, [index]: String(i) } : captures;
        const transforms: Transform[] = rule.split
          ? [{ op: 'select', axis: rule.split.axis, index: i }, ...(rule.transforms ?? [])]
          : [...(rule.transforms ?? [])];
        let key: string;
        try {
          key = fillPattern(rule.to, values, 'key');
          const type = transformType(sources, transforms);
          const previous = produced.get(key);
          if (previous) {
            problems.push({
              code: ErrorCode.PLAN,
              text: `${key}: produced twice, from ${previous.sources.map((s) => s.name).join(' + ')} and from ${info.name}`,
            });
            continue;
          }
          produced.set(key, { key, sources, transforms, shape: [...type.shape], dtype: type.dtype, note: rule.note });
        } catch (error) {
          if (!(error instanceof Tf2TorchError)) throw error;
          problems.push({ code: ErrorCode.PLAN, text: `${info.name}: ${error.message}` });
        }
      }
    }
  }

  const unmapped: PlanSource[] = [];
  for (const [name, info] of candidates)
    if (!consumed.has(name)) unmapped.push({ name: info.name, dtype: info.dtype, shape: [...info.shape] });
  const warnings: string[] = [];
  if (unmapped.length > 0) {
    if (options.skipUnknown)
      warnings.push(
        `${unmapped.length} checkpoint variable(s) match no rule of '${arch.modelType}' and are left out (--skip-unknown)`,
      );
    else
      for (const u of unmapped)
        problems.push({
          code: ErrorCode.UNMAPPED,
          text: `${u.name} ${fmt(u.shape)} ${u.dtype}: no rule of '${arch.modelType}' maps this variable (use --skip-unknown to leave it out)`,
        });
  }

  // An explicit 'keep' keeps the checkpoint's dtype even where the architecture casts by default (T5 → float32).
  const target = options.dtype === 'keep' ? undefined : (options.dtype ?? arch.defaultDType);
  const withCast = (p: Produced): PlanOutput => {
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

  const expected: readonly ExpectedKey[] = arch.expectedKeys(config);
  const outputs: PlanOutput[] = [];
  const missing: { key: string; shape: readonly number[] }[] = [];
  if (expected.length === 0) {
    const viewOf = new Map(listing.map((info) => [info.name, info.view]));
    // Checkpoint order, as a copy of the state dict has it (not the order of the rules that matched).
    const position = new Map(listing.map((info, i) => [info.name, i]));
    const inOrder = [...produced.values()].sort(
      (x, y) => position.get(x.sources[0]!.name)! - position.get(y.sources[0]!.name)!,
    );
    // Written tensors by where their view starts; equal views with the same transforms are tied.
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
  } else {
    const expectedKeys = new Set(expected.map((e) => e.key));
    for (const p of produced.values()) {
      if (!expectedKeys.has(p.key)) {
        problems.push({
          code: ErrorCode.SHAPE_MISMATCH,
          text: `${p.key} (from ${p.sources.map((s) => s.name).join(' + ')}): not a key of the model for this config (more layers or modules than the config declares?)`,
        });
      }
    }
    const done = new Map<string, PlanOutput>();
    for (const e of expected) {
      const p = produced.get(e.key);
      let out: PlanOutput | undefined;
      if (e.aliasOf !== undefined) {
        const source = done.get(e.aliasOf);
        if (p)
          skipped.push(
            ...p.sources.map((s) => ({
              name: s.name,
              reason: `tied weight: the model uses ${e.aliasOf} for ${e.key}`,
            })),
          );
        if (source) out = { kind: 'alias', key: e.key, aliasOf: e.aliasOf, shape: source.shape, dtype: source.dtype };
      } else if (p) {
        if (!sameShape(p.shape, e.shape)) {
          const fields = e.fromConfig ? ` (${e.fromConfig} from the config)` : '';
          problems.push({
            code: ErrorCode.SHAPE_MISMATCH,
            text: `${e.key}: the checkpoint's ${p.sources.map((s) => s.name).join(' + ')} gives ${fmt(p.shape)}, the config expects ${fmt(e.shape)}${fields}`,
          });
        }
        out = withCast(p);
      } else if (e.generate !== undefined) {
        out = {
          kind: 'generated',
          key: e.key,
          generator: e.generate,
          shape: [...e.shape],
          dtype: e.dtype ?? defaultGeneratedDType(e.generate),
        };
      }
      if (out) {
        outputs.push(out);
        done.set(e.key, out);
      } else if (e.optional || e.aliasOf !== undefined) {
        missing.push({ key: e.key, shape: e.shape });
      } else {
        problems.push({
          code: ErrorCode.PLAN,
          text: `${e.key} ${fmt(e.shape)}: required, but no checkpoint variable maps to it`,
        });
      }
    }
  }

  if (problems.length > 0) {
    const codes = new Set(problems.map((p) => p.code));
    const code = codes.size === 1 ? (problems[0] as { code: ErrorCode }).code : ErrorCode.PLAN;
    const hint =
      outputs.length === 0 && unmapped.length > 0
        ? `\nno variable matched a rule of '${arch.modelType}': is --model_type right? (\`tf2torch inspect\` lists the names)`
        : '';
    throw new Tf2TorchError(
      code,
      `cannot convert this checkpoint as '${arch.modelType}': ${problems.length} problem(s):\n${listProblems(problems)}${hint}`,
    );
  }
  if (missing.length > 0)
    warnings.push(
      `${missing.length} key(s) of the model are not in the checkpoint; from_pretrained will initialise them`,
    );

  const totalBytes = outputs.reduce(
    (sum, o) => (o.kind === 'alias' ? sum : sum + numElements(o.shape) * DTYPES[o.dtype].itemSize),
    0,
  );
  const classes = config.architectures;
  const modelClass = Array.isArray(classes) && typeof classes[0] === 'string' ? classes[0] : undefined;
  return {
    modelType: arch.modelType,
    modelClass,
    variableCount: listing.length,
    outputs,
    skipped,
    unmapped,
    missing,
    warnings,
    totalBytes,
  };
}

/** Problems a kind at a time, each kind cut at MAX_PROBLEMS_SHOWN lines so the message stays readable. */
const MAX_PROBLEMS_SHOWN = 20;

function listProblems(problems: readonly { code: ErrorCode; text: string }[]): string {
  const lines: string[] = [];
  for (const code of new Set(problems.map((p) => p.code))) {
    const ofCode = problems.filter((p) => p.code === code);
    lines.push(...ofCode.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `  - ${p.text}`));
    if (ofCode.length > MAX_PROBLEMS_SHOWN) lines.push(`  … and ${ofCode.length - MAX_PROBLEMS_SHOWN} more like these`);
  }
  return lines.join('\n');
}
