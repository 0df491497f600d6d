/**
 * The protocol every output follows, folder or single file: create the folder if needed, take its lock,
 * clean up after runs that are gone, check under the lock, build the new files in a stage inside the
 * folder, refuse if any name to write or remove is an input, then commit (see `io/staged-commit.ts` for
 * what an interruption can leave at each step).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { StateDictEntry } from '../../formats/state-dict.js';
import { temporaryOwner, trackTemporary, untrackTemporary } from '../../io/atomic.js';
import { lockFolder } from '../../io/lock.js';
import { type CommitPlan, commitStage, createStage, discardStage, recoverFolder } from '../../io/staged-commit.js';
import type { NoteInput } from '../../mapping/notices.js';
import { checkNotInputs, type InputFiles } from './input-files.js';
import { checkTarget, displayPath, type OutputTarget } from './output-target.js';

export interface ReplaceOptions {
  readonly target: OutputTarget;
  readonly force: boolean;
  readonly inputs: InputFiles;
  /** Told how many leftovers of runs that are gone were cleaned up (journaled commits finished, temporaries removed). */
  readonly onRecovered: (count: number) => void;
}

/** What either writer (folder or single file) is given, besides its own. */
export interface OutputJob {
  readonly target: OutputTarget;
  readonly container: 'OrderedDict' | 'dict' | undefined;
  /** The state dict to write in one format (a fresh one per call). */
  readonly entriesFor: (format: 'safetensors' | 'pytorch') => readonly StateDictEntry[];
  readonly configText: string;
  readonly inputs: InputFiles;
  readonly force: boolean;
  readonly warnings: NoteInput[];
  readonly onRecovered: (count: number) => void;
}

/** The folders `mkdir -p dir` creates, outermost first. */
async function makeFolders(dir: string): Promise<string[]> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return [];
  const created: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    created.unshift(d);
    if (relative(resolve(first), d) === '' || dirname(d) === d) break;
  }
  return created;
}

/** Removes the folders this run created, innermost first, as long as they are empty. */
async function removeCreated(created: readonly string[]): Promise<void> {
  for (const d of [...created].reverse()) {
    untrackTemporary(d);
    await rmdir(d).catch(() => undefined);
  }
}

/**
 * Cleans up after earlier runs that are gone (finishes a commit that kill -9 cut short, removes their
 * temporaries) in an existing folder `dir`, under its lock: done first by every conversion, so that the
 * checks that follow see a whole output.
 */
export function recoverOutput({ folder: dir, path: output }: OutputTarget, onRecovered: (count: number) => void): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
  if (!readdirSync(dir).some((name) => temporaryOwner(name) !== undefined)) return; // nothing to recover: no lock
  const release = lockFolder(dir, output);
  try {
    const { rolledForward, removed } = recoverFolder(dir);
    if (rolledForward + removed > 0) onRecovered(rolledForward + removed);
  } finally {
    release();
  }
}

/** A file is never renamed over a folder (`config.json/`): refused before the commit starts. */
function checkNoFolderAt(dir: string, names: readonly string[], output: string): void {
  for (const name of names) {
    const path = join(dir, name);
    if (existsSync(path) && statSync(path).isDirectory())
      throw new Tf2TorchError(
        ErrorCode.OUTPUT_EXISTS,
        `${displayPath(path)} is a folder: the output ${output} needs a file of that name there; move the folder away`,
        { file: path },
      );
  }
}

/**
 * Builds an output in a stage of `options.dir` and commits it: `build` writes the new files into the
 * stage and returns them in commit order, with the stale names to remove. Returns what was committed.
 */
export async function replaceOutput(
  options: ReplaceOptions,
  build: (stage: string) => Promise<CommitPlan>,
): Promise<CommitPlan> {
  const { folder: dir, path: output } = options.target;
  const created = await makeFolders(dir);
  for (const d of created) trackTemporary(d, 'created-folder');
  let release: (() => void) | undefined;
  let stage: string | undefined;
  let committed = false;
  try {
    release = lockFolder(dir, output);
    const { rolledForward, removed } = recoverFolder(dir);
    if (rolledForward + removed > 0) options.onRecovered(rolledForward + removed);
    // An output (or input) that appeared meanwhile, before anything is written.
    checkTarget(options.target, options.force);
    stage = createStage(dir);
    const plan = await build(stage);
    checkNotInputs(dir, [...plan.files, ...plan.remove], options.inputs);
    checkNoFolderAt(dir, plan.files, output);
    commitStage(dir, stage, plan);
    committed = true;
    return plan;
  } finally {
    if (stage !== undefined && !committed) discardStage(stage);
    release?.();
    if (committed) for (const d of created) untrackTemporary(d);
    else await removeCreated(created);
  }
}
