/**
 * `node dist/scripts/output-hashes.js [checkpoint…]`: converts every real fixture under TF2TORCH_FIXTURES
 * that converts (and the checkpoints named on the command line, e.g. sample/bert/bert_model.ckpt) into a
 * `.bin` (strided and contiguous), a `.safetensors`, a folder of both formats through `convert()`, and a
 * folder through the platform-neutral `writeModelFolder`; prints the sha256 of every file written, one a
 * line, in a stable order. Run on two versions of the code and compare with `diff`: a change that
 * only moves code must leave every line as it was.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  type ConvertOptions,
  convert,
  isTf2TorchError,
  openAndPlan,
  planToStateDict,
  writeModelFolder,
} from '../src/index.js';
import { defaultFiles, defaultOutputs } from '../src/io/node-platform.js';

const FIXTURES = process.env.TF2TORCH_FIXTURES ?? join(process.cwd(), '..', 'shared', 'fixtures', 'real');

function hashes(root: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else lines.push(`${relative(root, path)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
    }
  };
  walk(root);
  return lines;
}

/** The outputs of one checkpoint, each a way of writing it. */
const VARIANTS: Record<string, (checkpoint: string, out: string) => Promise<unknown>> = {
  bin: (checkpoint, out) => convert({ checkpoint, output: join(out, 'model.bin') }),
  'bin-contiguous': (checkpoint, out) => convert({ checkpoint, output: join(out, 'model.bin'), contiguous: true }),
  safetensors: (checkpoint, out) => convert({ checkpoint, output: join(out, 'model.safetensors') }),
  folder: (checkpoint, out) => convert({ checkpoint, output: `${join(out, 'hf')}/`, format: 'both' }),
  'portable-folder': async (checkpoint, out) => {
    const options: ConvertOptions = { checkpoint, files: defaultFiles };
    const { source, reads: _, ...planned } = await openAndPlan(options);
    try {
      const entries = planToStateDict(planned.plan, source.tensors);
      await writeModelFolder(planned, entries, defaultFiles, defaultOutputs, out, {
        format: 'both',
        maxShardSize: 1 << 20,
      });
    } finally {
      await source.close();
    }
  },
};

/** Each checkpoint and the name its lines carry: a fixture's folder name, or the path as given. */
const checkpoints = [
  ...readdirSync(FIXTURES)
    .sort()
    .map((name) => [join(FIXTURES, name), name]),
  ...process.argv.slice(2).map((path) => [path, path]),
];
for (const [checkpoint, name] of checkpoints as [string, string][]) {
  for (const [variant, write] of Object.entries(VARIANTS)) {
    const out = mkdtempSync(join(tmpdir(), 'output-hashes-'));
    try {
      await write(checkpoint, out);
      for (const line of hashes(out)) process.stdout.write(`${name} ${variant} ${line}\n`);
    } catch (error) {
      if (!isTf2TorchError(error)) throw error;
      process.stdout.write(`${name} ${variant} error[${error.code}]\n`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
}
