/**
 * The command line's model card: the facts about its inputs gathered from the file system (sizes, sha256
 * by Node's crypto, a license file beside the checkpoint), the text built by `model-card-text.ts`. A
 * README.md the user wrote (no marker line) is kept.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RemoteFileRead } from '../../io/url-tree.js';
import type { NoteInput } from '../../mapping/notices.js';
import type { PlannedConversion } from '../open-and-plan.js';
import {
  type InputFact,
  isOurModelCard,
  LICENSE_FILE,
  licenseIdOf,
  MAX_HASHED_BYTES,
  MAX_LICENSE_BYTES,
  MODEL_CARD_NAME,
  modelCardText,
  remoteFact,
} from './model-card-text.js';

export interface ModelCardInput {
  readonly planned: PlannedConversion;
  /** The output folder. */
  readonly dir: string;
  /** Every file the conversion read. */
  readonly inputs: readonly string[];
  /** Every remote file it read (by URL), listed by its URL as given, credentials and queries left out. */
  readonly remoteInputs?: readonly RemoteFileRead[];
  /** Files written into the folder (the card excluded). */
  readonly files: readonly string[];
  /** The command line, when run from the CLI. */
  readonly command?: string;
  /** Whether checksums were verified while reading (a TF bundle's CRC32C). */
  readonly verified: boolean;
  readonly warnings: NoteInput[];
}

/** The card's text, or undefined (with a warning) when the folder holds a README.md the user wrote. */
export async function modelCardFor(input: ModelCardInput): Promise<string | undefined> {
  const existing = join(input.dir, MODEL_CARD_NAME);
  if (existsSync(existing) && !isOurModelCard(readFileSync(existing, 'latin1'))) {
    input.warnings.push(
      `${existing} was not written by tf2torch: kept as it is, with no model card (move it away to get one)`,
    );
    return undefined;
  }
  return modelCardText({
    planned: input.planned,
    inputs: [
      ...(await inputFacts(input.inputs)),
      ...(input.remoteInputs ?? []).map((f) => remoteFact(f, nativeSha256)),
    ],
    files: input.files,
    ...(input.command === undefined ? {} : { command: input.command }),
    verified: input.verified,
    license: licenseBeside(input.planned.checkpointDir),
  });
}

const nativeSha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function licenseBeside(dir: string): { id: string; file: string } | undefined {
  // a folder by URL cannot be listed: its licence file, if any, is not looked for
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const file = readdirSync(dir).find((name) => LICENSE_FILE.test(name));
  if (file === undefined) return undefined;
  const path = join(dir, file);
  if (!statSync(path).isFile() || statSync(path).size > MAX_LICENSE_BYTES) return undefined;
  return { id: licenseIdOf(readFileSync(path, 'utf8')), file };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Each regular input file's size, and its digest when small enough (files fetched by URL are not here). */
async function inputFacts(paths: readonly string[]): Promise<InputFact[]> {
  const facts: InputFact[] = [];
  for (const path of paths) {
    if (!existsSync(path) || !statSync(path).isFile()) continue;
    const size = statSync(path).size;
    const fact = { dir: dirname(path), name: basename(path), size };
    facts.push(size <= MAX_HASHED_BYTES ? { ...fact, sha256: await sha256Of(path) } : fact);
  }
  return facts;
}
