/**
 * Benchmark: convert a full-size BERT-base checkpoint (synthesized from the real index
 * `bert-base-uncased-pretrain-adam-indexonly`: 1.32 GB with its Adam slots, 440 MB of weights) to
 * pytorch_model.bin and to a Hugging Face folder (model.safetensors), and compare with copying the
 * same number of bytes through user space (`head -c N data > out && sync out`).
 *
 * Same conditions on both sides: before each run the machine is settled the same way (`settle`: no
 * dirty pages, page cache emptied where permitted, the source read warm), the output lands in the same folder, and both fsync
 * their output (the converter's atomic writer syncs; the copy runs `sync FILE`). Runs alternate
 * conversion / copy, RUNS times each (5 by default: this machine's disk timings vary a lot); the ratio is median over median, with the spread shown.
 * Conversion time is measured inside the child from the start of the command to its end (the
 * process's wall time, with Node's start-up, is printed beside it).
 * Targets: time ratio <= 1.3, peak RSS of the conversion process <= 150 MiB.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR } from '../test/support/fixtures.js';
import { synthesizeFromIndex } from '../test/support/tf-bundle-writer.js';
import { convertOnce, median, mib, secs, settle, settledConditions, sh, verdict } from './measure.js';

const FIXTURE = 'bert-base-uncased-pretrain-adam-indexonly';
export const TARGET_RATIO = 1.3;
export const TARGET_RSS_BYTES = 150 * 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

export interface ConvertBertResult {
  readonly output: string;
  readonly bytes: number;
  /** Median over RUNS, milliseconds; conversion measured in-process. */
  readonly convertMs: number;
  readonly copyMs: number;
  readonly ratio: number;
  /** Highest peak RSS over the runs. */
  readonly maxRssBytes: number;
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
  const outDir = join(workDir, 'out');
  const fresh = () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    settle([data, `${prefix}.index`, config]);
  };
  log(
    `conditions: ${settledConditions()}; output in ${outDir} (same filesystem), both sides fsync their output; ${RUNS} runs each, alternating; median [each run]`,
  );
  const results: ConvertBertResult[] = [];
  for (const output of ['pytorch_model.bin', 'bert-hf/']) {
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
          '--config',
          config,
          '--pytorch_dump_output',
          out,
          '--quiet',
        ]),
      );
      written = output.endsWith('/') ? statSync(join(out, 'model.safetensors')).size : statSync(out).size;
      fresh();
      const copy = join(outDir, 'copy.bin');
      copies.push(sh(`head -c ${written} '${data}' > '${copy}' && sync '${copy}'`));
      if (statSync(copy).size !== written)
        throw new Error(`copy wrote ${statSync(copy).size} bytes, expected ${written}`);
    }
    const ms = runs.map((r) => r.ms);
    const convertMs = median(ms);
    const copyMs = median(copies);
    const ratios = runs.map((r, i) => r.ms / (copies[i] as number));
    const maxRssBytes = Math.max(...runs.map((r) => r.maxRssBytes));
    const result = { output, bytes: written, convertMs, copyMs, ratio: convertMs / copyMs, maxRssBytes };
    results.push(result);
    log(
      `convert-bert → ${output === 'bert-hf/' ? 'bert-hf/model.safetensors' : output} (${(written / 1e6).toFixed(0)} MB)`,
    );
    log(
      `  time ours    ${secs(ms)}  ${(written / 1e6 / (convertMs / 1000)).toFixed(0)} MB/s  (process wall incl. Node start-up ${secs(runs.map((r) => r.wallMs))})`,
    );
    log(
      `  time copy    ${secs(copies)}  ${(written / 1e6 / (copyMs / 1000)).toFixed(0)} MB/s  (head -c N > out && sync out)`,
    );
    log(
      `  ratio        ${result.ratio.toFixed(2)}  [per run ${ratios.map((r) => r.toFixed(2)).join(' ')}]  target <= ${TARGET_RATIO}: ${verdict(result.ratio <= TARGET_RATIO)}`,
    );
    log(
      `  peak RSS     ${mib(maxRssBytes)}  [${runs.map((r) => mib(r.maxRssBytes)).join(' ')}]  target <= ${mib(TARGET_RSS_BYTES)}: ${verdict(maxRssBytes <= TARGET_RSS_BYTES)}`,
    );
  }
  rmSync(outDir, { recursive: true, force: true });
  return results;
}
