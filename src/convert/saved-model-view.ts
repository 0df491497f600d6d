/**
 * A TF2 SavedModel read as transformers reads it with `tf.saved_model.load(path).variables`: the
 * variables in that list's order under their `var.name`s (saved_model.pb), renamed by the type that
 * claims them (`Architecture.savedModelNames`). The result is an ordinary tensor source whose names go
 * through detection-free planning; the other entries of variables/ (object graph, trainer state) are
 * not among `.variables` and are left out, as transformers never sees them.
 */
import { ARCHITECTURES } from '../architectures/index.js';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { TensorSource } from '../formats/source.js';
import type { Architecture } from '../mapping/types.js';

export interface SavedModelView {
  readonly source: TensorSource;
  readonly architecture: Architecture;
}

/** The source renamed by `explicit` (or the first type that claims its names), or undefined when none does. */
export function savedModelView(source: TensorSource, explicit: Architecture | undefined): SavedModelView | undefined {
  const saved = source.savedVariables;
  if (saved === undefined || saved.length === 0) return undefined;
  const names = saved.map((v) => v.name);
  for (const architecture of explicit ? [explicit] : ARCHITECTURES) {
    const renamed = architecture.savedModelNames?.(names);
    if (renamed === undefined) continue;
    return { source: renamedSource(source, renamed, architecture), architecture };
  }
  return undefined;
}

function renamedSource(source: TensorSource, renamed: readonly string[], architecture: Architecture): TensorSource {
  const saved = source.savedVariables!;
  const keyOf = new Map<string, string>();
  renamed.forEach((name, i) => {
    const earlier = keyOf.get(name);
    if (earlier !== undefined)
      // transformers keeps the later of the two in a dict and loads it twice: never silently here
      throw new Tf2TorchError(
        ErrorCode.WRONG_CHECKPOINT_KIND,
        `${source.path}: the SavedModel's variables '${saved.find((v) => v.key === earlier)?.name}' and '${saved[i]!.name}' both map to '${name}' as ${architecture.modelType} reads them: not a layout tf2torch converts`,
        { file: source.path, tensor: saved[i]!.key },
      );
    keyOf.set(name, saved[i]!.key);
  });
  const byKey = new Map(source.tensors.map((t) => [t.name, t]));
  const tensors = renamed.map((name) => ({ ...byKey.get(keyOf.get(name)!)!, name }));
  const others = source.tensors.length - tensors.length;
  return {
    path: source.path,
    format: source.format,
    tensors,
    notes: [
      ...source.notes,
      `a TF2 SavedModel: its ${tensors.length} variables read in tf.saved_model.load(…).variables order by their names in saved_model.pb, as ${architecture.modelType} maps them${others > 0 ? ` (${others} other entries of variables/ are not among them)` : ''}`,
    ],
    roleOf: (name) => source.roleOf(keyOf.get(name) ?? name),
    close: () => source.close(),
  };
}
