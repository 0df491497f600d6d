/** The problems a plan collects, reported in one error that names every offender. */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture } from './types.js';

export interface Problem {
  code: ErrorCode;
  text: string;
}

/** All problems in one error: one code when they share it, E_PLAN otherwise. */
export function planError(arch: Architecture, problems: readonly Problem[], nothingMatched: boolean): Tf2TorchError {
  const codes = new Set(problems.map((p) => p.code));
  const code = codes.size === 1 ? problems[0]!.code : ErrorCode.PLAN;
  const hint = nothingMatched
    ? `\nno variable matched a rule of '${arch.modelType}': is --model_type right? (\`tf2torch inspect\` lists the names)`
    : '';
  return new Tf2TorchError(
    code,
    `cannot convert this checkpoint as '${arch.modelType}': ${problems.length} problem(s):\n${listProblems(problems)}${hint}`,
  );
}

/** Problems a kind at a time, each kind cut at MAX_PROBLEMS_SHOWN lines so the message stays readable. */
const MAX_PROBLEMS_SHOWN = 20;

function listProblems(problems: readonly Problem[]): string {
  const lines: string[] = [];
  for (const code of new Set(problems.map((p) => p.code))) {
    const ofCode = problems.filter((p) => p.code === code);
    lines.push(...ofCode.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `  - ${p.text}`));
    if (ofCode.length > MAX_PROBLEMS_SHOWN) lines.push(`  … and ${ofCode.length - MAX_PROBLEMS_SHOWN} more like these`);
  }
  return lines.join('\n');
}
