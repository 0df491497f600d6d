/**
 * Notes, warnings and errors as data are worded with the page's controls where the command line names
 * flags (`PAGE_SPELLING`); plain text from the library (flags to pass, commands to run) is reworded by
 * the text rules below. All wording is here.
 */
import { type OptionSpelling, renderNotice } from '../../src/portable.js';
import type { Note } from './messages.js';

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

/** The page's control for each option of `convert()` (a type's own options by their label). */
const OPTION_CONTROLS: Readonly<Record<string, string>> = {
  modelType: CONTROLS.model_type as string,
  config: CONTROLS.config as string,
  dtype: CONTROLS.dtype as string,
  format: CONTROLS.format as string,
  skipUnknown: CONTROLS.skip_unknown as string,
};

/** Options as the page's controls, with the values to choose there. */
export const PAGE_SPELLING: OptionSpelling = (option, choices) => {
  const control = OPTION_CONTROLS[option] ?? `“${optionLabel(option)}”`;
  return choices === undefined ? control : `${control} (${choices.join(' or ')})`;
};

/** Advice to run another command: the page shows the same listing in its plan. */
const withoutInspect = (text: string) => text.replace(/;?\s*`?tf2torch inspect`?[^.;]*/g, '');

/** A library message as the page says it. */
export function pageWording(note: Pick<Note, 'text' | 'template' | 'values'>): string {
  if (note.template !== undefined)
    return withoutInspect(renderNotice({ template: note.template, values: note.values ?? {} }, PAGE_SPELLING));
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
