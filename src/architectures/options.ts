/**
 * Per-model-type flags (`--discriminator_or_generator` of electra): declared by each architecture,
 * parsed generically. Here: the flag names every architecture declares, and one architecture's values
 * checked against its declaration with the defaults filled in.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture, ArchitectureOption } from '../mapping/types.js';

export const kebab = (name: string): string => name.replace(/_/g, '-');

/** Every declared option once (several types may declare the same flag), with the types declaring it. */
export function declaredOptions(
  architectures: readonly Architecture[],
): { option: ArchitectureOption; types: string[] }[] {
  const byName = new Map<string, { option: ArchitectureOption; types: string[] }>();
  for (const a of architectures)
    for (const o of a.options ?? []) {
      const seen = byName.get(o.name);
      if (seen) seen.types.push(a.modelType);
      else byName.set(o.name, { option: o, types: [a.modelType] });
    }
  return [...byName.values()];
}

/**
 * The values `architecture` receives: given ones checked (a flag of another type, or a value outside
 * the choices, is a usage error naming the flag), absent ones defaulted.
 */
export function resolveOptions(
  architecture: Architecture,
  given: Readonly<Record<string, string>>,
): Record<string, string> {
  const declared = architecture.options ?? [];
  const out: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (!declared.some((o) => o.name === name))
      throw new Tf2TorchError(
        ErrorCode.USAGE,
        `--${name} is not an option of --model_type ${architecture.modelType}${
          declared.length > 0 ? ` (its options: ${declared.map((o) => `--${o.name}`).join(', ')})` : ''
        }`,
      );
  }
  for (const o of declared) {
    const value = given[o.name];
    if (o.choices === undefined) {
      out[o.name] = value === 'true' ? 'true' : 'false';
      continue;
    }
    if (value !== undefined && !o.choices.includes(value))
      throw new Tf2TorchError(ErrorCode.USAGE, `--${o.name} ${value}: expected one of ${o.choices.join(', ')}`);
    out[o.name] = value ?? (o.choices[0] as string);
  }
  return out;
}
