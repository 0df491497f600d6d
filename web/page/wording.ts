/**
 * The library words its notes, warnings and errors for the command line (flags to pass, commands to
 * run); the page offers controls instead. All rewording is here, so that structured note codes can
 * replace the text rules in one place.
 */

/** The page's control for each flag the library's messages name. */
const CONTROLS: Readonly<Record<string, string>> = {
  model_type: '“Model type”',
  config: '“Config file”',
  dtype: '“Weights dtype”',
  format: 'the output format',
  pytorch_dump_output: 'the output',
  skip_unknown: '“Leave out variables no rule maps”',
};
/** Flags that are a checkbox on the page: "use --x" reads "tick …". */
const CHECKBOXES = new Set(['skip_unknown']);

/** The label of a per-type option's control (the flag's name in words). */
export const optionLabel = (name: string): string => name.replace(/[_-]+/g, ' ').replace(/^./, (c) => c.toUpperCase());

const controlOf = (flag: string): string => CONTROLS[flag.replace(/-/g, '_')] ?? `“${optionLabel(flag)}”`;

/** A library message as the page says it. */
export function pageWording(note: { readonly text: string }): string {
  return (
    note.text
      // advice to run another command: the page shows the same listing in its plan
      .replace(/;?\s*`?tf2torch inspect`?[^.;]*/g, '')
      .replace(
        /choose with --model_type ([\w|]+)/g,
        (_, types: string) => `choose ${types.split('|').join(' or ')} under “Model type”`,
      )
      .replace(/pass --model_type \(one of [^)]*\)/g, 'choose its type under “Model type”')
      .replace(
        /(leave|pass|give|use|with) --([\w-]+)(?: ([\w./|-]+))?/g,
        (_, verb: string, flag: string, value?: string) =>
          verb === 'leave'
            ? `set ${controlOf(flag)} back to detection`
            : CHECKBOXES.has(flag.replace(/-/g, '_'))
              ? `tick ${controlOf(flag)}${value ? ` ${value}` : ''}`
              : `choose${value ? ` ${value}` : ''} in ${controlOf(flag)}`,
      )
      .replace(/--([a-z][\w-]*)(?: ([\w./-]+))?/g, (_, flag: string, value?: string) =>
        value ? `${controlOf(flag)} ${value}` : controlOf(flag),
      )
  );
}

/** The types an error asks the user to choose between, if it is about the model type. */
export function typeCandidates(text: string, all: readonly string[]): string[] | undefined {
  const choose = /choose with --model_type ([\w|]+)/.exec(text);
  if (choose) return (choose[1] as string).split('|');
  if (/not recognised as a checkpoint of any model type/.test(text)) return [...all];
  return undefined;
}
