/** What a command may do to the outside world; the CLI entry supplies the real console streams. */
export interface CommandIO {
  /** Normal output (stdout). */
  out(text: string): void;
  /** Diagnostics, warnings and progress (stderr). */
  err(text: string): void;
  /** Whether stderr is a terminal (progress bars only then). */
  readonly errIsTTY: boolean;
  /** Work that stands whatever happens to stdout next (said if stdout then fails: "out/ was committed"). */
  committed?(what: string): void;
}

/** A subcommand: parses its own argv, returns the exit code. Throws Tf2TorchError for user mistakes. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}
