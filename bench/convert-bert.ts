/**
 * Benchmark: convert a full-size BERT-base checkpoint (synthesized from the real index
 * `bert-base-uncased-pretrain-adam-indexonly`: 1.32 GB with its Adam slots, 440 MB of weights) and
 * compare with copying the same number of bytes through user space (`head -c N data > out`).
 * Targets: time ratio <= 1.5, peak RSS of the conversion process <= 150 MB.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesizeFromIndex } from '../test/support/tf-bundle-writer.js';
import { FIXTURES_DIR } from '../test/support/fixtures.js';

const FIXTURE = 'bert-base-uncased-pretrain-adam-indexonly';
const CHILD = fileURLToPath(new URL('./convert-child.js', import.meta.url));
export const TARGET_RATIO = 1.5;
export const TARGET_RSS_BYTES = 150 * 1024 * 1024;

export interface ConvertBertResult {
  readonly output: string;
  readonly bytes: number;
  readonly convertMs: number;
  readonly copyMs: number;
  readonly ratio: number;
  readonly maxRssBytes: number;
}

function timeShell(command: string): number {
  const start = performance.now();
  const r = spawnSync('sh', ['-c', command], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`'${command}' failed`);
  return performance.now() - start;
}

function convertOnce(args: string[]): { ms: number; maxRssBytes: number } {
  const r = spawnSync(process.execPath, [CHILD, ...args], { encoding: 'utf8' });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`conversion failed:\n${r.stderr}`);
  return JSON.parse(last) as { ms: number; maxRssBytes: number };
}

/** Synthesizes the checkpoint once under `workDir` (kept between runs), then measures. */
export async function benchConvertBert(workDir: string, log: (line: string) => void): Promise<ConvertBertResult[]> {
  const fixture = join(FIXTURES_DIR, FIXTURE);
  if (!existsSync(fixture)) {
    log(`convert-bert: skipped (real fixture ${FIXTURE} not under ${FIXTURES_DIR})`);
    return [];
  }
  mkdirSync(workDir, { recursive: true });
  const prefix = join(workDir, 'bert_model.ckpt');
  const data = `${prefix}.data-00000-of-00001`;
  if (!existsSync(data) || statSync(data).size !== 1_321_277_144) {
    log('convert-bert: synthesizing the full-size checkpoint (1.32 GB, seeded) …');
    await synthesizeFromIndex(join(fixture, 'bert_model.ckpt'), prefix, { seed: 2018 });
  }
  const config = join(fixture, 'bert_config.json');
  timeShell(`cat '${data}' > /dev/null`); // same page-cache state for both measurements
  const results: ConvertBertResult[] = [];
  for (const output of ['pytorch_model.bin', 'bert-hf/']) {
    const out = join(workDir, 'out', output);
    rmSync(join(workDir, 'out'), { recursive: true, force: true });
    mkdirSync(join(workDir, 'out'), { recursive: true });
    const run = convertOnce(['--model_type', 'bert', '--tf_checkpoint', prefix, '--config', config, '--pytorch_dump_output', out, '--quiet']);
    const written = output.endsWith('/') ? statSync(join(out, 'model.safetensors')).size : statSync(out).size;
    const copyMs = timeShell(`head -c ${written} '${data}' > '${join(workDir, 'out', 'copy.bin')}'`);
    const result = { output, bytes: written, convertMs: run.ms, copyMs, ratio: run.ms / copyMs, maxRssBytes: run.maxRssBytes };
    results.push(result);
    const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
    log(
      `convert-bert → ${output}: ${mb(written)} in ${(run.ms / 1000).toFixed(2)} s; copy ${(copyMs / 1000).toFixed(2)} s; ` +
        `ratio ${result.ratio.toFixed(2)} (target <= ${TARGET_RATIO}); peak RSS ${mb(run.maxRssBytes)} (target <= ${mb(TARGET_RSS_BYTES)})`,
    );
  }
  rmSync(join(workDir, 'out'), { recursive: true, force: true });
  return results;
}
