/**
 * Small helpers the architectures share to build a config: read dimensions off the checkpoint
 * listing, and refuse a config that disagrees with the tensors before any byte moves (a 345M GPT-2
 * with a 124M config fails here, naming the field and both values, not later inside PyTorch).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { ConfigInput, ModelConfig, TensorInfo } from '../mapping/types.js';

/**
 * The transformers release whose behaviour the configs reproduce (modern key set, safetensors by
 * default in save_pretrained); written as `transformers_version` as PretrainedConfig.to_dict does.
 */
export const TRANSFORMERS_VERSION = '4.46.3';

/** The shape of `name` in the listing, if present. */
export function shapeOf(listing: readonly TensorInfo[], name: string): readonly number[] | undefined {
  return listing.find((t) => t.name === name)?.shape;
}

/** The number of distinct indices captured by `pattern`'s first group (`model/h(\d+)/` → layer count). */
export function countIndexed(listing: readonly TensorInfo[], pattern: RegExp): number {
  const seen = new Set<number>();
  for (const t of listing) {
    const m = pattern.exec(t.name);
    if (m?.[1] !== undefined) seen.add(Number.parseInt(m[1], 10));
  }
  return seen.size;
}

/** Renames alias keys (transformers' `attribute_map`) to the real field when the real one is absent. */
export function resolveAliases(config: ModelConfig, aliases: Readonly<Record<string, string>>): ModelConfig {
  const out: ModelConfig = { ...config };
  for (const [alias, field] of Object.entries(aliases)) {
    if (alias in out) {
      if (!(field in out)) out[field] = out[alias];
      delete out[alias];
    }
  }
  return out;
}

/** A config field as a positive integer, or a clear error naming the file and the field. */
export function intField(config: ModelConfig, field: string, source: string): number {
  const v = config[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${source}: '${field}' must be a non-negative integer, got ${JSON.stringify(v)}`,
      { file: source },
    );
  }
  return v;
}

export interface Disagreement {
  readonly field: string;
  readonly config: unknown;
  readonly checkpoint: unknown;
  /** Where the checkpoint value comes from ("model/wte [50257, 1024]"). */
  readonly evidence: string;
}

/** Throws E_CONFIG listing every field where the config and the checkpoint's shapes disagree. */
export function refuseDisagreements(disagreements: readonly Disagreement[], source: string, hint: string): void {
  if (disagreements.length === 0) return;
  const lines = disagreements.map(
    (d) =>
      `  ${d.field}: config says ${JSON.stringify(d.config)}, checkpoint has ${JSON.stringify(d.checkpoint)} (${d.evidence})`,
  );
  throw new Tf2TorchError(
    ErrorCode.CONFIG,
    `the config (${source}) does not describe this checkpoint:\n${lines.join('\n')}\n${hint}`,
    { file: source },
  );
}

/** Where the config came from, for messages: the --config path, a sidecar name, or "defaults". */
export function configSource(input: ConfigInput, sidecarName?: string): string {
  if (input.user) return input.userPath ?? '--config';
  return sidecarName ?? 'built-in defaults';
}
