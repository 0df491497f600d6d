/**
 * What a user does next with a converted folder, printed after the summary: the `from_pretrained` line that
 * loads it and the `huggingface-cli upload` command that shares it. Also the shell spelling of a command line.
 */
import { basename } from 'node:path';

/** A word as a POSIX shell reads it back unchanged: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `argv` of `tf2torch convert` as a command line to paste. */
/** Flags that change only what is printed, not what is written: left out of the recorded command. */
const DISPLAY_ONLY_FLAGS = new Set(['--quiet']);

/** The command as the model card records it: what made these files (display-only flags left out). */
export const commandLine = (argv: readonly string[]) =>
  ['tf2torch', 'convert', ...argv.filter((a) => !DISPLAY_ONLY_FLAGS.has(a))].map(shellQuote).join(' ');

/** Python's spelling of a string literal (double-quoted, backslashes and quotes escaped). */
const pythonString = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The two lines after a folder conversion; `folder` as the user typed it (relative to where they are). */
export function nextSteps(folder: string, modelClass: string | undefined): string[] {
  const loader = modelClass ?? 'AutoModel';
  const repo = `<your-name>/${basename(folder.replace(/[/\\]+$/, '')).replace(/[^A-Za-z0-9_.-]/g, '-') || 'model'}`;
  return [
    `  load it:  from transformers import ${loader}; model = ${loader}.from_pretrained(${pythonString(folder)})`,
    `  share it: huggingface-cli upload ${repo} ${shellQuote(folder)}`,
  ];
}
