/**
 * Benchmark: a narrow transposed kernel. A BERT checkpoint of hidden size 4 with a feed-forward
 * 2,621,440 wide (test/support/narrow-bert.ts: 94 MB; its output kernel [2621440, 4] float32 and
 * intermediate kernel [4, 2621440] are 40 MiB each, above the size read whole, so both are produced in
 * bands from strided reads, the narrow one a run of one element per source row) converted to
 * `model.safetensors` and to `pytorch_model.bin --contiguous`, against copying the same number of bytes
 * (`head -c N data > out && sync out`), settled the same way as convert-bert. Target: peak RSS ≤ 200 MiB
 * (the README's bound, whatever the largest tensor's shape); the time ratio is reported.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeNarrowBert } from '../test/support/narrow-bert.js';
import { convertOnce, median, mib, secs, settle, settledConditions, sh, verdict } from './measure.js';

export const TARGET_RSS_BYTES = 200 * 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

export interface ConvertNarrowResult {
  readonly output: string;
  readonly bytes: number;
  readonly convertMs: number;
  readonly copyMs: number;
  readonly ratio: number;
  readonly maxRssBytes: number;
}

export async function benchConvertNarrow(workDir: string, log: (line: string) => void): Promise<ConvertNarrowResult[]> {
  mkdirSync(workDir, { recursive: true });
  const prefix = join(workDir, 'bert_model.ckpt');
  const data = `${prefix}.data-00000-of-00001`;
  if (!existsSync(data)) await writeNarrowBert(workDir);
  const outDir = join(workDir, 'out');
  const fresh = () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    settle([data, `${prefix}.index`, join(workDir, 'bert_config.json')]);
  };
  log(
    `conditions: ${settledConditions()}; output in ${outDir} (same filesystem), both sides fsync their output; ${RUNS} runs each, alternating; median [each run]`,
  );
  const results: ConvertNarrowResult[] = [];
  for (const [output, extra] of [
    ['model.safetensors', []],
    ['pytorch_model.bin', ['--contiguous']],
  ] as const) {
    const out = join(outDir, output);
    const runs: ReturnType<typeof convertOnce>[] = [];
    const copies: number[] = [];
    let written = 0;
    for (let i = 0; i < RUNS; i++) {
      fresh();
      runs.push(
        convertOnce([
          '--model_type',
          'bert',
          '--tf_checkpoint',
          prefix,
          ...extra,
          '--pytorch_dump_output',
          out,
          '--quiet',
        ]),
      );
      written = statSync(out).size;
      fresh();
      const copy = join(outDir, 'copy.bin');
      copies.push(sh(`head -c ${written} '${data}' > '${copy}' && sync '${copy}'`));
    }
    const ms = runs.map((r) => r.ms);
    const convertMs = median(ms);
    const copyMs = median(copies);
    const maxRssBytes = Math.max(...runs.map((r) => r.maxRssBytes));
    const result = { output, bytes: written, convertMs, copyMs, ratio: convertMs / copyMs, maxRssBytes };
    results.push(result);
    log(
      `convert-narrow → ${output}${extra.length > 0 ? ` ${extra.join(' ')}` : ''} (${(written / 1e6).toFixed(0)} MB)`,
    );
    log(`  time ours    ${secs(ms)}  (CPU user+system ${secs(runs.map((r) => r.cpuMs))})`);
    log(`  time copy    ${secs(copies)}  (head -c N > out && sync out)`);
    log(
      `  ratio        ${result.ratio.toFixed(2)}  [per run ${runs.map((r, i) => (r.ms / (copies[i] as number)).toFixed(2)).join(' ')}]`,
    );
    log(
      `  peak RSS     ${mib(maxRssBytes)}  [${runs.map((r) => mib(r.maxRssBytes)).join(' ')}]  target <= ${mib(TARGET_RSS_BYTES)}: ${verdict(maxRssBytes <= TARGET_RSS_BYTES)}`,
    );
  }
  rmSync(outDir, { recursive: true, force: true });
  return results;
}
