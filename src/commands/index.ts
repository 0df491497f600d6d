/** The explicit list of subcommands, in the order `--help` shows them. */

import { convertCommand } from './convert.js';
import { inspectCommand } from './inspect.js';
import type { Command } from './io.js';

export const COMMANDS: readonly Command[] = [convertCommand, inspectCommand];
