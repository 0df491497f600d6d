/** The explicit list of subcommands, in the order `--help` shows them. */
import type { Command } from './io.js';
import { convertCommand } from './convert.js';
import { inspectCommand } from './inspect.js';

export const COMMANDS: readonly Command[] = [convertCommand, inspectCommand];
