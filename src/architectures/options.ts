/**
 * Per-model-type flags (`--finetuning_task_name` of bert, albert and xlnet, `--discriminator_or_generator`
 * of electra): declared by each architecture, parsed generically. Here: the flag names every architecture
 * declares, how help spells one, and one architecture's values checked against its declaration with the
 * defaults filled in.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture, ArchitectureOption } from '../mapping/types.js';
import { ARCHITECTURES } from './index.js';

export const kebab = (name: string): string => name.replace(/_/g, '-');

/** Whether the flag is followed by a value (a choice or a free value) rather than a boolean flag. */
export const takesValue = (o: ArchitectureOption): boolean => o.choices !== undefined || o.value !== undefined;

/** The flag as help shows it: `--name a|b`, `--name NAME` or `--name`. */
export function optionSyntax(o: ArchitectureOption): string {
  const value = o.choices?.join('|') ?? o.value;
  return value === undefined ? `--${o.name}` : `--${o.name} ${value}`;
}

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

/** "--x is not an option of --model_type t (its options: …); only a, b take it". */
function notAnOption(name: string, architecture: Architecture, all: readonly Architecture[]): Tf2TorchError {
  const own = architecture.options ?? [];
  const takers = declaredOptions(all).find((d) => d.option.name === name)?.types ?? [];
  return new Tf2TorchError(
    ErrorCode.USAGE,
    `--${name} is not an option of --model_type ${architecture.modelType}${architecture.objectBased === true ? ' for TF2 object-based checkpoints' : ''}${
      own.length > 0 ? ` (its options: ${own.map((o) => `--${o.name}`).join(', ')})` : ''
    }${takers.length > 0 ? `; only ${takers.join(', ')} take${takers.length === 1 ? 's' : ''} it` : ''}`,
  );
}

/**
 * The values `architecture` receives: given ones checked (a flag of another type, or a value outside
 * the choices, is a usage error naming the flag), absent ones defaulted (free values stay absent).
 */
export function resolveOptions(
  architecture: Architecture,
  given: Readonly<Record<string, string>>,
  all: readonly Architecture[] = ARCHITECTURES,
): Record<string, string> {
  const declared = architecture.options ?? [];
  const out: Record<string, string> = {};
  for (const name of Object.keys(given))
    if (!declared.some((o) => o.name === name)) throw notAnOption(name, architecture, all);
  for (const o of declared) {
    const value = given[o.name];
    if (o.value !== undefined) {
      if (value !== undefined) out[o.name] = value;
    } else if (o.choices === undefined) {
      out[o.name] = value === 'true' ? 'true' : 'false';
    } else {
      if (value !== undefined && !o.choices.includes(value))
        throw new Tf2TorchError(ErrorCode.USAGE, `--${o.name} ${value}: expected one of ${o.choices.join(', ')}`);
      out[o.name] = value ?? (o.choices[0] as string);
    }
  }
  return out;
}
