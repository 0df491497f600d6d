#!/usr/bin/env node
import { COMMANDS } from './commands/index.js';
import type { Command, CommandIO } from './commands/io.js';
/**
 * The command-line entry: picks the subcommand, runs it, prints errors as `error[CODE]: message`.
 * The only module that touches process.exit and the console.
 */
import { ErrorCode, fileSystemError, isTf2TorchError } from './errors.js';
import { removePendingTemporaries } from './io/atomic.js';
import { VERSION } from './version.js';

/**
 * The console failing must not turn work done into a crash. stdout closed by its reader (EPIPE: `| head -1`):
 * the reader has what it wanted; nothing more is printed and the exit status stays the command's (0 after a
 * committed conversion). stdout failing otherwise (ENOSPC: `> /dev/full`): error[CODE] on stderr, saying what
 * was committed before, and exit 1. stderr failing: nothing is left to tell it to, so it is not written again.
 */
let stdoutClosed = false;
let stdoutFailed = false;
let stderrFailed = false;
let committed: string | undefined;
let commandStatus: number | undefined;

/** The exit status from the command's and stdout's: a failed stdout makes a success 1, not a failure 0. */
function settleExitCode(): void {
  process.exitCode = commandStatus !== undefined && commandStatus !== 0 ? commandStatus : stdoutFailed ? 1 : 0;
}

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (stdoutClosed) return; // told once; later writes are not made
  stdoutFailed = error.code !== 'EPIPE';
  stdoutClosed = true;
  if (!stdoutFailed) return;
  const named = fileSystemError(error, 'the standard output', 'write');
  const [code, message] = isTf2TorchError(named)
    ? [named.code, named.message]
    : [ErrorCode.FILE_SYSTEM, `cannot write the standard output: ${error.message}`];
  io.err(`error[${code}]: ${message}${committed === undefined ? '' : `; ${committed}`}\n`);
  settleExitCode();
});
process.stderr.on('error', () => {
  stderrFailed = true;
});

const io: CommandIO = {
  out: (text) => {
    if (!stdoutClosed) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  },
  err: (text) => {
    if (!stderrFailed) process.stderr.write(text);
  },
  errIsTTY: process.stderr.isTTY === true,
  committed: (what) => {
    committed = what;
  },
};

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'tf2torch — convert original TensorFlow / numpy / XLM checkpoints into Hugging Face PyTorch weights',
    '',
    'Usage: tf2torch <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `tf2torch <command> --help` for the options of a command.',
    '',
    'Exit status: 0 done, 1 bad input or a file system problem (error[CODE] names the path), 2 usage mistake, 130 interrupted',
    '(Ctrl-C; 143 on SIGTERM, 129 on SIGHUP), 70 internal error (a bug: please report it with the message).',
    'A reader that stops reading stdout (| head) leaves the status as it was; a full stdout is E_NO_SPACE, exit 1.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(`${usage()}\n`); // a usage mistake: stderr, exit 2
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    io.out(VERSION);
    return 0;
  }
  const command: Command | undefined = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`error[E_USAGE]: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help);
    return 0;
  }
  return command.run(rest, io);
}

// Interrupted (Ctrl-C, kill, a closed terminal): remove the unfinished outputs and release the locks of this
// run; final names hold the old or the new output (a commit in progress is synchronous and ends first).
// Exit 128 + the signal number, as shells report it.
const SIGNAL_EXIT = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
for (const signal of Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]) {
  process.once(signal, () => {
    const removed = removePendingTemporaries();
    io.err(
      `\ninterrupted${removed.length > 0 ? `: removed ${removed.length} unfinished output${removed.length > 1 ? 's' : ''}` : ''}\n`,
    );
    process.exit(SIGNAL_EXIT[signal]);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    commandStatus = code;
    settleExitCode();
  },
  (thrown: unknown) => {
    // A file system failure that reached here unnamed (disk full, permissions) is the user's to fix, not a bug.
    const error = fileSystemError(thrown);
    if (isTf2TorchError(error)) {
      io.err(`error[${error.code}]: ${error.message}\n`);
      commandStatus = error.code === 'E_USAGE' ? 2 : 1;
    } else {
      // A bug, not a user mistake: keep the stack so it can be reported.
      io.err(
        `internal error (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      commandStatus = 70;
    }
    settleExitCode();
  },
);
