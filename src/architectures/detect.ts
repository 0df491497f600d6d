/**
 * Which model type (and head) a checkpoint is, from what each architecture declares in its `detect`:
 * the variable names only its original code writes, its source format, the entries of a pickled
 * checkpoint, and (to break ties) the files its releases ship beside it. No table of names lives here.
 */
import { ErrorCode } from '../errors.js';
import { AdviceCode, adviceError } from '../mapping/notices.js';
import { normalizeName } from '../mapping/plan.js';
import type { Architecture, TensorInfo } from '../mapping/types.js';
import { ARCHITECTURES, MODEL_TYPES } from './index.js';
import { FINETUNING_TASK, type FoundHead, findHeads } from './task-heads.js';

/** What detection looks at: the listing, never tensor bytes. */
export interface DetectionInput {
  readonly listing: readonly TensorInfo[];
  /** The source's format ('tf-bundle-v2', 'openai-npy', 'torch', …). */
  readonly format: string;
  /** Whether a file of that name is beside the checkpoint. */
  readonly hasSidecar: (fileName: string) => boolean;
  /** A pickled checkpoint's unpickled object (read as data), when the input is a torch file. */
  readonly embedded?: unknown;
}

/** A type the checkpoint looks like, and why. */
export interface Recognition {
  readonly architecture: Architecture;
  /** What matched: a variable name, the format, the pickled entries. */
  readonly evidence: string;
  /** Files beside the checkpoint that its releases ship (bert_config.json). */
  readonly sidecars: readonly string[];
  /** The class its heads choose (the base class without a head). */
  readonly modelClass: string;
  readonly heads: readonly FoundHead[];
}

export type Detected =
  | { readonly kind: 'recognised'; readonly recognition: Recognition }
  | { readonly kind: 'ambiguous'; readonly candidates: readonly Recognition[] }
  | { readonly kind: 'unrecognised'; readonly reason: string };

/** How many example names an answer quotes. */
const EXAMPLE_NAMES = 3;

/** Top-level keys of a pickled dict (a Map, or an inert object's items), as strings. */
function embeddedKeys(embedded: unknown): Set<string> {
  if (embedded instanceof Map) return new Set([...embedded.keys()].map(String));
  if (embedded !== null && typeof embedded === 'object' && 'items' in embedded && Array.isArray(embedded.items))
    return new Set(embedded.items.filter((i) => Array.isArray(i)).map((i) => String(i[0])));
  return new Set();
}

function evidenceFor(arch: Architecture, input: DetectionInput, keys: Set<string>): string | undefined {
  const d = arch.detect;
  if (!d) return undefined;
  const matches = (source: string) => {
    const pattern = new RegExp(source);
    return input.listing.find((t) => pattern.test(t.name));
  };
  // a name the type's original code never writes rules it out, whatever else matches
  if ((d.absent ?? []).some((source) => matches(source) !== undefined)) return undefined;
  if (d.formats?.includes(input.format)) return `a ${input.format} source`;
  if (d.embeddedKeys && d.embeddedKeys.length > 0 && d.embeddedKeys.every((k) => keys.has(k)))
    return `a pickled dict with ${d.embeddedKeys.map((k) => `'${k}'`).join(', ')}`;
  if (!(d.requires ?? []).every((source) => matches(source) !== undefined)) return undefined;
  for (const source of d.names ?? []) {
    const hit = matches(source);
    if (hit) return hit.name;
  }
  return undefined;
}

function recognise(arch: Architecture, evidence: string, input: DetectionInput): Recognition {
  const d = arch.detect!;
  const heads = findHeads(input.listing, d.heads ?? [], (n) => normalizeName(arch, n));
  return {
    architecture: arch,
    evidence,
    sidecars: (d.sidecars ?? []).filter((f) => input.hasSidecar(f)),
    modelClass: heads[0]?.modelClass ?? d.baseClass,
    heads,
  };
}

/** Names built by tf.train.Checkpoint / Keras: object paths, not the variable scopes of the original code. */
const OBJECT_BASED = /\/\.ATTRIBUTES\/VARIABLE_VALUE$/;

function unrecognisedReason(input: DetectionInput, registry: readonly Architecture[]): string {
  const names = input.listing.map((t) => t.name);
  if (names.some((n) => OBJECT_BASED.test(n)))
    return "a TF2 object-based checkpoint (names like '…/.ATTRIBUTES/VARIABLE_VALUE'): no original model code writes these";
  const examples = names.slice(0, EXAMPLE_NAMES).join(', ');
  const hinted = registry.filter((a) => a.detect?.sidecars?.some((f) => input.hasSidecar(f)));
  const hint =
    hinted.length > 0
      ? `; ${hinted.map((a) => `${a.detect?.sidecars?.find((f) => input.hasSidecar(f))} beside it is what ${a.modelType} releases ship, but no variable is named like theirs`).join('; ')}`
      : '';
  return `no variable is named as the original code of ${[...new Set(registry.map((a) => a.modelType))].join(', ')} names them (${names.length} variables${examples ? `: ${examples}${names.length > EXAMPLE_NAMES ? ', …' : ''}` : ''})${hint}`;
}

/** The type `input` is, among `registry` (every registered type unless a caller narrows or extends it). */
export function detectArchitecture(input: DetectionInput, registry: readonly Architecture[] = ARCHITECTURES): Detected {
  const keys = embeddedKeys(input.embedded);
  const matched: Recognition[] = [];
  for (const arch of registry) {
    const evidence = evidenceFor(arch, input, keys);
    if (evidence !== undefined) matched.push(recognise(arch, evidence, input));
  }
  // a type whose names a more specific matching type also carries gives way to it (bert to mobilebert)
  const specialised = new Set(matched.flatMap((c) => c.architecture.detect?.specialises ?? []));
  const candidates = matched.filter((c) => !specialised.has(c.architecture.modelType));
  if (candidates.length === 1) return { kind: 'recognised', recognition: candidates[0]! };
  if (candidates.length === 0) return { kind: 'unrecognised', reason: unrecognisedReason(input, registry) };
  // Names shared by two types: the release files beside the checkpoint decide, when only one type's are there.
  const backed = candidates.filter((c) => c.sidecars.length > 0);
  if (backed.length === 1) return { kind: 'recognised', recognition: backed[0]! };
  return { kind: 'ambiguous', candidates };
}

/** Types that come in a source format of their own (gpt: 'openai-npy'), by that format alone. */
export function architecturesOfFormat(format: string): Architecture[] {
  return ARCHITECTURES.filter((a) => a.detect?.formats?.includes(format));
}

/** "bert checkpoint: BertForSequenceClassification, 3 labels" (what `inspect` prints). */
export function describeRecognition(r: Recognition): string {
  const [head, ...more] = r.heads;
  let what = r.modelClass;
  if (head?.numLabels !== undefined) what += `, ${head.numLabels} label${head.numLabels === 1 ? '' : 's'}`;
  if (head?.scope !== undefined) what += ` (task ${head.scope})`;
  if (more.length > 0)
    what += ` and ${more.length} more head${more.length === 1 ? '' : 's'} (${more.map((h) => h.scope ?? h.variable).join(', ')}: --${FINETUNING_TASK} chooses)`;
  return `${r.architecture.modelType} checkpoint: ${what}`;
}

/** "bert (bert/encoder/layer_0/…)": a candidate as errors list it. */
function candidateLine(r: Recognition): string {
  const files = r.sidecars.length > 0 ? `, ${r.sidecars.join(', ')} beside it` : '';
  return `${r.architecture.modelType} (${r.evidence}${files})`;
}

/**
 * The architecture to convert with: `--model_type` when given (refused when the names say another type),
 * else the detected one. `where` names the checkpoint in messages.
 */
export function resolveArchitecture(
  modelType: string | undefined,
  explicit: Architecture | undefined,
  input: DetectionInput,
  where: string,
): { architecture: Architecture; detected?: Recognition } {
  const detected = detectArchitecture(input);
  if (explicit) {
    if (detected.kind === 'recognised' && detected.recognition.architecture !== explicit) {
      const r = detected.recognition;
      throw adviceError(
        ErrorCode.WRONG_CHECKPOINT_KIND,
        {
          code: AdviceCode.TYPE_MISMATCH,
          option: 'modelType',
          choices: [r.architecture.modelType],
          template:
            '{where}: {@modelType given}, but these variables look like a {detected} checkpoint ({evidence} …), not {given}: leave {@modelType} out, or pass {@modelType detected}',
          values: {
            where,
            given: modelType ?? explicit.modelType,
            detected: r.architecture.modelType,
            evidence: r.evidence,
          },
        },
        { file: where },
      );
    }
    if (detected.kind === 'ambiguous' && !detected.candidates.some((c) => c.architecture === explicit)) {
      const candidates = detected.candidates.map((c) => c.architecture.modelType);
      throw adviceError(
        ErrorCode.WRONG_CHECKPOINT_KIND,
        {
          code: AdviceCode.TYPE_MISMATCH,
          option: 'modelType',
          choices: candidates,
          template: '{where}: {@modelType given}, but these variables look like {described}, not {given}',
          values: {
            where,
            given: modelType ?? explicit.modelType,
            described: detected.candidates.map(candidateLine).join(' or '),
            candidates,
          },
        },
        { file: where },
      );
    }
    return { architecture: explicit };
  }
  if (detected.kind === 'recognised')
    return { architecture: detected.recognition.architecture, detected: detected.recognition };
  if (detected.kind === 'ambiguous') {
    const candidates = detected.candidates.map((c) => c.architecture.modelType);
    throw adviceError(
      ErrorCode.USAGE,
      {
        code: AdviceCode.TYPE_AMBIGUOUS,
        option: 'modelType',
        choices: candidates,
        template: '{where}: the model type is ambiguous; it could be {described}: choose with {@modelType candidates}',
        values: { where, described: detected.candidates.map(candidateLine).join(' or '), candidates },
      },
      { file: where },
    );
  }
  throw adviceError(
    ErrorCode.WRONG_CHECKPOINT_KIND,
    {
      code: AdviceCode.TYPE_UNRECOGNISED,
      option: 'modelType',
      choices: MODEL_TYPES,
      template:
        '{where}: not recognised as a checkpoint of any model type tf2torch converts: {reason}. If it is one, pass {@modelType} (one of {known}); `tf2torch inspect` lists its variables',
      values: { where, reason: detected.reason, known: MODEL_TYPES },
    },
    { file: where },
  );
}
