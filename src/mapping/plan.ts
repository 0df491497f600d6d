/**
 * buildPlan(): checkpoint listing + architecture + config → Plan, plain data, without reading a byte.
 * Strict: every problem (unmapped variable, duplicate target, shape disagreeing with the config, a
 * required key the checkpoint lacks) is collected and reported in ONE error.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { trainerStateOf } from '../formats/trainer-state.js';
import { transformType } from '../kernels/transforms.js';
import { DTYPES, numElements } from '../tensor.js';
import { fillPattern, matchPattern } from './pattern.js';
import {
  castTo,
  floatDTypeOf,
  fmt,
  generatedOutput,
  type Produced,
  passThroughOutputs,
  reconcileExpected,
  type Skipped,
  sourceNames,
} from './plan-outputs.js';
import { type Problem, planError } from './plan-problems.js';
import type { Plan, PlanOptions, PlanOutput, PlanSource } from './plan-types.js';
import type { Architecture, ModelConfig, Rule, SkipRule, TensorInfo, Transform } from './types.js';

export type { AbsentKey, Plan, PlanOptions, PlanOutput, PlanSource } from './plan-types.js';

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

const sourceOf = (info: TensorInfo): PlanSource => ({ name: info.name, dtype: info.dtype, shape: [...info.shape] });

export function buildPlan(
  listing: readonly TensorInfo[],
  arch: Architecture,
  config: ModelConfig,
  options: PlanOptions = {},
): Plan {
  const problems: Problem[] = [];
  const separated = separateSkipped(listing, arch, config);
  const { candidates } = separated;
  const { produced, consumed, superseded } = matchRules(candidates, arch.rules(config), problems, separated.shadows);
  const skipped = withShadowsUsed(separated.skipped, superseded, listing);
  const unmapped = collectUnmapped(candidates, consumed);
  const warnings = reportUnmapped(unmapped, arch, options, problems);
  // An explicit 'keep' keeps the checkpoint's dtype even where the architecture casts by default (T5 → float32).
  const target = options.dtype === 'keep' ? undefined : (options.dtype ?? arch.defaultDType);
  const withCast = castTo(target);
  const expected = arch.expectedKeys(config);
  const { outputs, missing, zeroFilled } =
    expected.length === 0
      ? {
          outputs: [
            ...(arch.passThroughBuffers?.(config) ?? []).map((e) => generatedOutput(e, e.generate!, target)),
            ...passThroughOutputs(listing, produced, withCast),
          ],
          missing: [],
          zeroFilled: [],
        }
      : reconcileExpected(expected, produced, {
          withCast,
          zerosDType: target ?? floatDTypeOf(produced) ?? 'float32',
          target,
          problems,
          skipped,
        });
  if (problems.length > 0) throw planError(arch, problems, outputs.length === 0 && unmapped.length > 0);
  if (missing.length > 0)
    warnings.push(
      `${missing.length} key(s) of the model are not in the checkpoint; from_pretrained will initialise them`,
    );
  return {
    modelType: arch.modelType,
    modelClass: modelClassOf(config),
    variableCount: listing.length,
    outputs,
    skipped,
    unmapped,
    missing,
    zeroFilled,
    warnings,
    totalBytes: bytesWritten(outputs),
  };
}

/**
 * Phase 1: trainer state (by the registry, whatever the architecture) and what the architecture ignores,
 * apart from the candidates (by normalized name). Trainer state goes first: a slot has its weight's shape.
 */
function separateSkipped(
  listing: readonly TensorInfo[],
  arch: Architecture,
  config: ModelConfig,
): { skipped: Skipped[]; candidates: Map<string, TensorInfo>; shadows: Map<string, TensorInfo> } {
  const skipped: Skipped[] = [];
  const candidates = new Map<string, TensorInfo>();
  const shadows = new Map<string, TensorInfo>();
  const skipRules = [...(arch.skip ?? []), ...(arch.configSkip?.(config) ?? [])];
  for (const info of listing) {
    const name = normalizeName(arch, info.name);
    const trainerState = trainerStateOf(info.name);
    const reason = trainerState?.reason ?? skipReason(skipRules, name);
    if (trainerState !== undefined) shadows.set(name, info);
    if (reason !== undefined) skipped.push({ name: info.name, reason });
    else candidates.set(name, info);
  }
  return { skipped, candidates, shadows };
}

/** A variable a rule's `preferShadow` replaced by its shadow. */
interface Superseded {
  readonly name: string;
  readonly shadow: string;
  /** The rule's `preferShadow`: one reason for every variable it supersedes (the model card counts them as one kind). */
  readonly suffix: string;
}

/** The skips with each shadow used taken out and the variable it supersedes put in, in the listing's order. */
function withShadowsUsed(
  skipped: Skipped[],
  superseded: readonly Superseded[],
  listing: readonly TensorInfo[],
): Skipped[] {
  if (superseded.length === 0) return skipped;
  const used = new Set(superseded.map((s) => s.shadow));
  const order = new Map(listing.map((t, i) => [t.name, i]));
  return [
    ...skipped.filter((s) => !used.has(s.name)),
    ...superseded.map((s) => ({
      name: s.name,
      reason: `superseded: its shadow (…${s.suffix}) is converted instead`,
    })),
  ].sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
}

/** Phase 2: rules, in order; the first rule that matches a variable consumes it (and its siblings). */
function matchRules(
  candidates: ReadonlyMap<string, TensorInfo>,
  rules: readonly Rule[],
  problems: Problem[],
  shadows: ReadonlyMap<string, TensorInfo>,
): { produced: Map<string, Produced>; consumed: Set<string>; superseded: Superseded[] } {
  const consumed = new Set<string>();
  const produced = new Map<string, Produced>();
  const superseded: Superseded[] = [];
  for (const rule of rules) {
    const [head, ...others] = (typeof rule.from === 'string' ? [rule.from] : rule.from) as [string, ...string[]];
    for (const [name, info] of candidates) {
      if (consumed.has(name)) continue;
      const captures = matchPattern(head, name);
      if (captures === undefined) continue;
      const group = gatherSiblings(info, others, captures, candidates, rule, problems);
      consumed.add(name);
      for (const g of group.names) consumed.add(g);
      const shadow = rule.preferShadow === undefined ? undefined : shadows.get(`${name}${rule.preferShadow}`);
      if (shadow !== undefined && others.length === 0)
        superseded.push({ name: info.name, shadow: shadow.name, suffix: rule.preferShadow as string });
      const first = shadow !== undefined && others.length === 0 ? shadow : info;
      if (group.complete) produceKeys(rule, first, [first, ...group.infos].map(sourceOf), captures, produced, problems);
    }
  }
  return { produced, consumed, superseded };
}

/** The other sources of a multi-source rule (`['q/{x*}', 'k/{x*}']`), found by the head's captures. */
function gatherSiblings(
  info: TensorInfo,
  patterns: readonly string[],
  captures: Record<string, string>,
  candidates: ReadonlyMap<string, TensorInfo>,
  rule: Rule,
  problems: Problem[],
): { infos: TensorInfo[]; names: string[]; complete: boolean } {
  const infos: TensorInfo[] = [];
  const names: string[] = [];
  for (const p of patterns) {
    const sibling = fillPattern(p, captures, 'name');
    const found = candidates.get(sibling);
    if (found === undefined) {
      problems.push({
        code: ErrorCode.PLAN,
        text: `${info.name}: rule '${rule.to}' also needs '${sibling}', which the checkpoint lacks`,
      });
    } else {
      infos.push(found);
      names.push(sibling);
    }
  }
  return { infos, names, complete: infos.length === patterns.length };
}

/** One matched group → its key(s): one, or one per index of a split or repeat. */
function produceKeys(
  rule: Rule,
  info: TensorInfo,
  sources: PlanSource[],
  captures: Record<string, string>,
  produced: Map<string, Produced>,
  problems: Problem[],
): void {
  const count = rule.split ? (info.shape[rule.split.axis] ?? 0) : (rule.repeat?.count ?? 1);
  const index = rule.split?.as ?? rule.repeat?.as;
  for (let i = 0; i < count; i++) {
    const values = index !== undefined ? { ...captures, [index]: String(i) } : captures;
    const transforms: Transform[] = rule.split
      ? [{ op: 'select', axis: rule.split.axis, index: i }, ...(rule.transforms ?? [])]
      : [...(rule.transforms ?? [])];
    try {
      const key = fillPattern(rule.to, values, 'key');
      const type = transformType(sources, transforms);
      const previous = produced.get(key);
      if (previous) {
        problems.push({
          code: ErrorCode.PLAN,
          text: `${key}: produced twice, from ${sourceNames(previous)} and from ${info.name}`,
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

/** Phase 3: candidates no rule consumed. */
function collectUnmapped(candidates: ReadonlyMap<string, TensorInfo>, consumed: ReadonlySet<string>): PlanSource[] {
  return [...candidates].filter(([name]) => !consumed.has(name)).map(([, info]) => sourceOf(info));
}

/** Unmapped variables are problems, or one warning with --skip-unknown. Returns the plan's warnings so far. */
function reportUnmapped(
  unmapped: readonly PlanSource[],
  arch: Architecture,
  options: PlanOptions,
  problems: Problem[],
): string[] {
  if (unmapped.length === 0) return [];
  if (options.skipUnknown)
    return [
      `${unmapped.length} checkpoint variable(s) match no rule of '${arch.modelType}' and are left out (--skip-unknown)`,
    ];
  for (const u of unmapped)
    problems.push({
      code: ErrorCode.UNMAPPED,
      text: `${u.name} ${fmt(u.shape)} ${u.dtype}: no rule of '${arch.modelType}' maps this variable (use --skip-unknown to leave it out)`,
    });
  return [];
}

function modelClassOf(config: ModelConfig): string | undefined {
  const classes = config.architectures;
  return Array.isArray(classes) && typeof classes[0] === 'string' ? classes[0] : undefined;
}

/** Bytes of tensor data written once (aliases share storage). */
function bytesWritten(outputs: readonly PlanOutput[]): number {
  return outputs.reduce(
    (sum, o) => (o.kind === 'alias' ? sum : sum + numElements(o.shape) * DTYPES[o.dtype].itemSize),
    0,
  );
}
