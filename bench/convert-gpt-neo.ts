/**
 * Benchmark at scale: a GPT-Neo 2.7B-shaped Mesh TensorFlow checkpoint (EleutherAI/gpt-neo's
 * configs/gpt3_2-7B_256.json: n_embd 2560, 32 layers, n_ctx 2048, n_vocab 50257; 2.65 B parameters, bfloat16
 * as "precision": "bfloat16" stores them, 8 data shards, 5.3 GB; names of models/gpt2/gpt2.py and
 * models/layers.py) converted to float32 — once to one `pytorch_model.bin` (10.6 GB, zip64) and once to a
 * folder (sharded safetensors) — against `dd bs=8M conv=fsync` of the conversion's own output files, under
 * the same settled conditions as convert-t5-xl. Its largest tensors: the [50257, 2560] embedding (sliced and
 * cast, 515 MB in float32) and the 32 × 2 transposed [2560, 10240] feed-forward kernels (52 MB each in
 * bfloat16, above the 32 MiB read whole). Targets: time ratio <= 1.2, peak RSS <= 200 MiB. BENCH_RUNS
 * (default 1) runs per output.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType } from '../src/tensor.js';
import { TARGET_RATIO, TARGET_RSS_BYTES } from './convert-t5-xl.js';
import { convertOnce, median, mib, secs, settle, settledConditions, sh, verdict } from './measure.js';
import { outputFiles, pooledCheckpoint } from './pooled-checkpoint.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const SHARDS = 8;

/** configs/gpt3_2-7B_256.json of EleutherAI/gpt-neo, with the precision the released models were trained in. */
const CONFIG = {
  n_head: 32,
  n_vocab: 50257,
  embed_dropout: 0,
  lr: 0.00016,
  lr_decay: 'cosine',
  warmup_steps: 3000,
  beta1: 0.9,
  beta2: 0.95,
  epsilon: 1e-8,
  opt_name: 'adam',
  weight_decay: 0.1,
  train_batch_size: 512,
  attn_dropout: 0,
  train_steps: 286150,
  res_dropout: 0,
  n_embd: 2560,
  model_path: 'gs://neo-models/GPT3_2-7B',
  n_ctx: 2048,
  n_layer: 32,
  scale_by_depth: true,
  scale_by_in: false,
  attention_types: [[['global'], 32]],
  mesh_shape: 'x:128,y:2',
  layout: 'embd:y,batch:x',
  activation_function: 'gelu',
  recompute_grad: true,
  gradient_clipping: 1.0,
  precision: 'bfloat16',
};

/** The variables models/gpt2/gpt2.py creates for the config (under model_fns.py's `gpt2` scope). */
function gptNeoListing(c: typeof CONFIG): { name: string; dtype: DType; shape: number[] }[] {
  const e = c.n_embd;
  const out: { name: string; dtype: DType; shape: number[] }[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, dtype: 'bfloat16', shape });
  add('gpt2/wte', [c.n_vocab, e]);
  add('gpt2/wpe', [c.n_ctx, e]);
  for (let n = 0; n < c.n_layer; n++) {
    const h = `gpt2/h${n}`;
    for (const norm of ['norm_1', 'norm_2']) add(`${h}/${norm}/g`, [e]), add(`${h}/${norm}/b`, [e]);
    for (const m of ['q', 'k', 'v', 'o']) add(`${h}/attn/${m}`, [e, e]);
    add(`${h}/attn/compute_output_bias/o_b`, [e]);
    add(`${h}/mlp/conv1d_main/c_fc/kernel`, [e, 4 * e]);
    add(`${h}/mlp/conv1d_main/c_fc/bias`, [4 * e]);
    add(`${h}/mlp/conv1d_main/c_proj/kernel`, [4 * e, e]);
    add(`${h}/mlp/conv1d_main/c_proj/bias`, [e]);
  }
  add('gpt2/ln_f/g', [e]);
  add('gpt2/ln_f/b', [e]);
  out.push({ name: 'global_step', dtype: 'int64', shape: [] });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Synthesizes the checkpoint once under `workDir` (kept between runs), then measures. */
export async function benchConvertGptNeo(workDir: string, log: (line: string) => void): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const prefix = join(workDir, 'model.ckpt-400000');
  const shardPaths = await pooledCheckpoint(prefix, gptNeoListing(CONFIG), {
    seed: 2021,
    shards: SHARDS,
    label: 'convert-gpt-neo',
    log,
  });
  const config = join(workDir, 'config.json');
  writeFileSync(config, JSON.stringify(CONFIG, null, 2));
  const outDir = join(workDir, 'out');
  const inputs = [...shardPaths, `${prefix}.index`, config];
  log(
    `conditions: ${settledConditions()}; baseline: dd bs=8M conv=fsync of the conversion's own output files; ${RUNS} run(s) per output`,
  );
  try {
    for (const output of ['pytorch_model.bin', 'gpt-neo-2.7B-hf/']) {
      const out = join(outDir, output);
      const runs: ReturnType<typeof convertOnce>[] = [];
      const copies: number[] = [];
      let written = 0;
      for (let i = 0; i < RUNS; i++) {
        rmSync(outDir, { recursive: true, force: true });
        mkdirSync(outDir, { recursive: true });
        settle(inputs);
        runs.push(
          convertOnce(['--tf_checkpoint', prefix, '--config', config, '--pytorch_dump_output', out, '--quiet']),
        );
        const files = outputFiles(out);
        written = files.reduce((s, f) => s + statSync(f).size, 0);
        settle(files);
        const copyDir = join(outDir, 'copy');
        mkdirSync(copyDir, { recursive: true });
        const copy = files.map((f, n) => `dd if='${f}' of='${join(copyDir, String(n))}' bs=8M conv=fsync status=none`);
        copies.push(sh(copy.join(' && ')));
        rmSync(copyDir, { recursive: true, force: true });
      }
      const ms = runs.map((r) => r.ms);
      const ratio = median(ms) / median(copies);
      const maxRssBytes = Math.max(...runs.map((r) => r.maxRssBytes));
      const shown = output.endsWith('/') ? `${output} (${outputFiles(out).length} safetensors shards)` : output;
      log(`convert-gpt-neo → ${shown} (${(written / 1e9).toFixed(2)} GB)`);
      log(
        `  time ours    ${secs(ms)}  ${(written / 1e6 / (median(ms) / 1000)).toFixed(0)} MB/s  (CPU user+system ${secs(runs.map((r) => r.cpuMs))})`,
      );
      log(
        `  time copy    ${secs(copies)}  ${(written / 1e6 / (median(copies) / 1000)).toFixed(0)} MB/s  (dd bs=8M conv=fsync)`,
      );
      log(`  ratio        ${ratio.toFixed(2)}  target <= ${TARGET_RATIO}: ${verdict(ratio <= TARGET_RATIO)}`);
      log(
        `  peak RSS     ${mib(maxRssBytes)}  [${runs.map((r) => mib(r.maxRssBytes)).join(' ')}]  target <= ${mib(TARGET_RSS_BYTES)}: ${verdict(maxRssBytes <= TARGET_RSS_BYTES)}`,
      );
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
