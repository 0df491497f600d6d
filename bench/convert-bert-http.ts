/**
 * Benchmark: the BERT-base checkpoint of `convert-bert` (1.32 GB with its Adam slots, 440 MB of
 * weights) converted over loopback HTTP from a real nginx, against the same conversion of the local
 * files. Both sides are settled the same way (`settle`), write the same Hugging Face folder and fsync it;
 * runs alternate. nginx's access log counts the bytes each URL run fetched.
 * Targets: time ratio (URL / local) <= 1.3, bytes fetched <= 36 % of the checkpoint's files. The ratio is
 * the median of each pair's (a URL run over the local run just before it): the host's load drifts within a
 * bench, and the ratio of the two sides' medians then compares a fast stretch of one with a slow stretch
 * of the other (printed too).
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR } from '../test/support/fixtures.js';
import { startNginx } from '../test/support/nginx.js';
import { synthesizeFromIndex } from '../test/support/tf-bundle-writer.js';
import { convertOnce, median, mib, secs, settle, settledConditions, verdict } from './measure.js';

const FIXTURE = 'bert-base-uncased-pretrain-adam-indexonly';
export const TARGET_RATIO = 1.3;
export const TARGET_FETCHED_SHARE = 0.36;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/** `checkpointDir` holds the checkpoint `convert-bert` synthesizes (made here too when absent). */
export async function benchConvertBertHttp(
  checkpointDir: string,
  workDir: string,
  log: (line: string) => void,
): Promise<void> {
  const fixture = join(FIXTURES_DIR, FIXTURE);
  if (!existsSync(fixture)) {
    log(`convert-bert-http: skipped (real fixture ${FIXTURE} not under ${FIXTURES_DIR})`);
    return;
  }
  mkdirSync(checkpointDir, { recursive: true });
  const prefix = join(checkpointDir, 'bert_model.ckpt');
  const data = `${prefix}.data-00000-of-00001`;
  if (!existsSync(data) || statSync(data).size !== 1_321_277_144) {
    log('convert-bert-http: synthesizing the full-size checkpoint (1.32 GB, seeded) …');
    await synthesizeFromIndex(join(fixture, 'bert_model.ckpt'), prefix, { seed: 2018 });
  }
  const checkpointBytes = statSync(data).size + statSync(`${prefix}.index`).size;
  const hooks: (() => void | Promise<void>)[] = [];
  const context = {
    after: (fn: () => void | Promise<void>) => hooks.push(fn),
    skip: (why: string) => log(`convert-bert-http: skipped (${why})`),
  } as unknown as import('node:test').TestContext;
  try {
    const nginx = await startNginx(context, { '/ck/': checkpointDir, '/cfg/': fixture });
    if (nginx === undefined) return;
    const config = join(fixture, 'bert_config.json');
    const outDir = join(workDir, 'out');
    const fresh = () => {
      rmSync(outDir, { recursive: true, force: true });
      mkdirSync(outDir, { recursive: true });
      settle([data, `${prefix}.index`, config]);
    };
    log(
      `conditions: ${settledConditions()}; nginx on 127.0.0.1 serving the same files; output in ${outDir}; ${RUNS} runs each, alternating; median [each run]`,
    );
    const args = (checkpoint: string, cfg: string) => [
      '--model_type',
      'bert',
      '--tf_checkpoint',
      checkpoint,
      '--config',
      cfg,
      '--pytorch_dump_output',
      join(outDir, 'bert-hf/'),
      '--quiet',
    ];
    const local: ReturnType<typeof convertOnce>[] = [];
    const remote: ReturnType<typeof convertOnce>[] = [];
    const fetched: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      fresh();
      local.push(convertOnce(args(prefix, config)));
      fresh();
      const before = nginx.bytesSent();
      remote.push(convertOnce(args(`${nginx.origin}/ck/bert_model.ckpt`, `${nginx.origin}/cfg/bert_config.json`)));
      fetched.push(nginx.bytesSent() - before);
    }
    const localMs = median(local.map((r) => r.ms));
    const remoteMs = median(remote.map((r) => r.ms));
    const perRun = remote.map((r, i) => r.ms / (local[i] as typeof r).ms);
    const ratio = median(perRun);
    const share = Math.max(...fetched) / checkpointBytes;
    log(`convert-bert-http → bert-hf/model.safetensors from ${(checkpointBytes / 1e6).toFixed(0)} MB of checkpoint`);
    log(`  time local   ${secs(local.map((r) => r.ms))}`);
    log(`  time URL     ${secs(remote.map((r) => r.ms))}`);
    log(
      `  ratio        ${ratio.toFixed(2)} (median of the pairs) [per run ${perRun.map((r) => r.toFixed(2)).join(' ')}]; of the medians ${(remoteMs / localMs).toFixed(2)}  target <= ${TARGET_RATIO}: ${verdict(ratio <= TARGET_RATIO)}`,
    );
    log(
      `  fetched      ${(Math.max(...fetched) / 1e6).toFixed(1)} MB = ${(share * 100).toFixed(1)} % of the checkpoint  target <= ${TARGET_FETCHED_SHARE * 100} %: ${verdict(share <= TARGET_FETCHED_SHARE)}`,
    );
    log(
      `  peak RSS     local ${mib(Math.max(...local.map((r) => r.maxRssBytes)))}, URL ${mib(Math.max(...remote.map((r) => r.maxRssBytes)))}`,
    );
    rmSync(outDir, { recursive: true, force: true });
  } finally {
    for (const hook of hooks.reverse()) await hook();
  }
}
