/**
 * Notes and warnings as data: a stable `code`, the `values` they are about, and their wording as a
 * template in which `{name}` is a value and `{@option}` names a conversion option. Each front end spells
 * options its own way (`renderNotice`): the command line as flags (`--config`), the library as option
 * names, the page as its controls. `message` is the library's wording. A plain string stays a valid
 * note (code `note`), so that a model type may tell anything without a code of its own.
 */
import { type ErrorAdvice, type ErrorCode, type ErrorContext, Tf2TorchError } from '../errors.js';

export const NoticeCode = {
  /** A note without a code of its own (its message is all there is). */
  NOTE: 'note',
  /** A warning without a code of its own. */
  WARNING: 'warning',
  /** The model type was recognised from the checkpoint (values: modelType, modelClass, evidence). */
  TYPE_DETECTED: 'type-detected',
  /** The config file found beside the checkpoint was used (values: path). */
  CONFIG_FOUND: 'config-found',
  /** No config given: fields no tensor shows were assumed (values: assumed). */
  CONFIG_ASSUMED: 'config-assumed',
  /** The config given is ignored, as transformers ignores it (values: path). */
  CONFIG_IGNORED: 'config-ignored',
  /** The fine-tuning task given names no known task: the base class is written (values: task, baseClass). */
  TASK_UNKNOWN: 'task-unknown',
  /** The fine-tuning task given is ignored: the checkpoint has no head (values: task, baseClass). */
  TASK_IGNORED: 'task-ignored',
  /** What tokenizer_config.json records and which evidence decided (values: tokenizerClass, doLowerCase). */
  TOKENIZER_CONFIG: 'tokenizer-config',
  /** A tokenizer file is not beside the checkpoint: the folder has none (values: file, candidates). */
  TOKENIZER_FILE_MISSING: 'tokenizer-file-missing',
  /** An existing config.json beside a single-file output was kept (values: path). */
  CONFIG_JSON_KEPT: 'config-json-kept',
} as const;
export type NoticeCode = (typeof NoticeCode)[keyof typeof NoticeCode];

/** A list (candidate types) is spelled by the front end where it is an option's value, else joined by ', '. */
export type NoticeValue = string | number | boolean | readonly string[];

export type NoticeLevel = 'note' | 'warning';

export interface Notice {
  /** A note tells what was done; a warning, what the output lacks or may get wrong. */
  readonly level: NoticeLevel;
  /** Stable: a front end may match on it (a `NoticeCode`, or `note`). */
  readonly code: string;
  /** The library's wording (options named as `convert()` takes them). */
  readonly message: string;
  readonly values: Readonly<Record<string, NoticeValue>>;
  /** The wording with `{value}` and `{@option}` placeholders, for front ends that spell options otherwise (none: plain text). */
  readonly template?: string;
}

/** What a model type may tell: a notice, or plain text. */
export type NoteInput = string | Notice;

/**
 * How a front end names a conversion option (`modelType`, `config`, a type's own `finetuning_task_name`, …);
 * with `choices`, the option set to that value or to one of those values (`{@modelType candidates}`).
 */
export type OptionSpelling = (option: string, choices?: readonly string[]) => string;

/** The options of `convert()` by name; a model type's own options as `modelOptions.<name>`. */
const CORE_OPTIONS = new Set(['modelType', 'config', 'dtype', 'doLowerCase', 'force', 'format', 'skipUnknown']);
export const LIBRARY_SPELLING: OptionSpelling = (option, choices) => {
  const name = CORE_OPTIONS.has(option) ? `option ${option}` : `modelOptions.${option}`;
  return choices === undefined ? name : `${name} ${choices.map((c) => `'${c}'`).join(' or ')}`;
};

/** What `renderNotice` words: a notice, or an error's advice (errors.ts). */
type Renderable = Pick<Notice, 'values'> & { readonly template?: string; readonly message?: string };

/**
 * `{@option}`, `{@option value}` (the option set to a value or a list of them) and `{value}` filled in;
 * an unknown value is left as written, visibly.
 */
export function renderNotice(notice: Renderable, spell: OptionSpelling): string {
  if (notice.template === undefined) return notice.message ?? '';
  return notice.template.replace(/\{(@?)(\w+)(?: (\w+))?\}/g, (whole, option: string, name: string, of?: string) => {
    if (option === '@') {
      const choices = of === undefined ? undefined : notice.values[of];
      if (of !== undefined && choices === undefined) return whole;
      return spell(name, choices === undefined ? undefined : listOf(choices));
    }
    const value = notice.values[name];
    return value === undefined ? whole : listOf(value).join(', ');
  });
}

const listOf = (value: NoticeValue): readonly string[] => (Array.isArray(value) ? value : [String(value)]);

export function notice(
  code: NoticeCode,
  template: string,
  values: Record<string, NoticeValue> = {},
  level: NoticeLevel = 'note',
): Notice {
  const message = renderNotice({ values, template }, LIBRARY_SPELLING);
  return { level, code, values, template, message };
}

/** A plain note as a notice: its text is its wording everywhere. */
export function asNotice(note: NoteInput, level: NoticeLevel = 'note'): Notice {
  return typeof note === 'string'
    ? { level, code: level === 'note' ? NoticeCode.NOTE : NoticeCode.WARNING, message: note, values: {} }
    : note;
}

/** The command line's flags, as transformers-cli spells them (a model type's own options are flags of their name). */
const FLAGS: Readonly<Record<string, string>> = {
  modelType: '--model_type',
  config: '--config',
  dtype: '--dtype',
  doLowerCase: '--do_lower_case',
  force: '--force',
  format: '--format',
  skipUnknown: '--skip-unknown',
};
export const COMMAND_LINE_SPELLING: OptionSpelling = (option, choices) =>
  `${FLAGS[option] ?? `--${option}`}${choices === undefined ? '' : ` ${choices.join('|')}`}`;

/** Why an error names an option (`ErrorAdvice.code`): what a front end offers its control for. */
export const AdviceCode = {
  /** Detection found several types (values: candidates; choices: them). */
  TYPE_AMBIGUOUS: 'type-ambiguous',
  /** Detection found none (values: reason, known; choices: every type). */
  TYPE_UNRECOGNISED: 'type-unrecognised',
  /** The type given is not one tf2torch converts (values: given, known; choices: every type). */
  TYPE_UNKNOWN: 'type-unknown',
  /** The type given is not what the variables say (values: given, detected; choices: the detected). */
  TYPE_MISMATCH: 'type-mismatch',
  /** The type needs a config file that is not beside the checkpoint. */
  CONFIG_NEEDED: 'config-needed',
  /** The config given is a folder (values: path, and example when the folder has a config file). */
  CONFIG_IS_FOLDER: 'config-is-folder',
} as const;
export type AdviceCode = (typeof AdviceCode)[keyof typeof AdviceCode];

/**
 * An error that setting `option` would resolve: its message is the command line's wording of `template`
 * (as it always was); `advice` carries the template, values and choices for other front ends.
 */
export function adviceError(
  code: ErrorCode,
  advice: Omit<ErrorAdvice, 'code'> & { readonly code: AdviceCode },
  context: Omit<ErrorContext, 'advice'> = {},
): Tf2TorchError {
  return new Tf2TorchError(code, renderNotice(advice, COMMAND_LINE_SPELLING), { ...context, advice });
}
