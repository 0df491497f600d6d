/**
 * Benchmark at scale: a T5 v1.1-XL-shaped Mesh TensorFlow checkpoint (2.85 B parameters, bfloat16,
 * 4 shards, 5.7 GB; names and layout as mesh-tf writes them, see the t5-mtf-tiny-indexonly fixture)
 * converted to float32 — once to one `pytorch_model.bin` (11.4 GB, zip64) and once to a folder
 * (sharded `model-0000x-of-00003.safetensors`) — against a user-space copy of the same output bytes.
 *
 * Conditions: before each run, of either side, the machine is settled the same way (`settle`: no dirty
 * pages, page cache emptied where permitted, that side's inputs warm); the baseline copies the
 * conversion's own output files with `dd bs=8M conv=fsync`, so that both sides move the same bytes
 * through user space and fsync them.
 * Memory must not follow the largest tensor (the [32128, 2048] embedding and the transposed logits).
 * Targets: time ratio <= 1.2, peak RSS <= 200 MiB. BENCH_RUNS (default 1) runs per output.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType } from '../src/tensor.js';
import { convertOnce, median, mib, secs, settle, settledConditions, sh, verdict } from './measure.js';
import { outputFiles, pooledCheckpoint } from './pooled-checkpoint.js';

export const TARGET_RATIO = 1.2;
export const TARGET_RSS_BYTES = 200 * 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const SHARDS = 4;

/** google/t5-v1_1-xl's config.json (the fields the converter reads). */
const CONFIG = {
  architectures: ['T5ForConditionalGeneration'],
  d_ff: 5120,
  d_kv: 64,
  d_model: 2048,
  decoder_start_token_id: 0,
  dropout_rate: 0.1,
  eos_token_id: 1,
  feed_forward_proj: 'gated-gelu',
  initializer_factor: 1.0,
  is_encoder_decoder: true,
  layer_norm_epsilon: 1e-6,
  model_type: 't5',
  num_decoder_layers: 24,
  num_heads: 32,
  num_layers: 24,
  output_past: true,
  pad_token_id: 0,
  relative_attention_num_buckets: 32,
  tie_word_embeddings: false,
  vocab_size: 32128,
};

/** Mesh TensorFlow's variable names and shapes for the config (mesh_tensorflow/transformer). */
export function t5Listing(c: typeof CONFIG): { name: string; dtype: DType; shape: number[] }[] {
  const inner = c.num_heads * c.d_kv;
  const out: { name: string; dtype: DType; shape: number[] }[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, dtype: 'bfloat16', shape });
  const attention = (prefix: string, bias: boolean) => {
    for (const m of ['q', 'k', 'v']) add(`${prefix}/${m}`, [c.d_model, inner]);
    add(`${prefix}/o`, [inner, c.d_model]);
    if (bias) add(`${prefix}/relative_attention_bias`, [c.num_heads, c.relative_attention_num_buckets]);
  };
  const feedForward = (prefix: string) => {
    add(`${prefix}/DenseReluDense/wi_0/kernel`, [c.d_model, c.d_ff]);
    add(`${prefix}/DenseReluDense/wi_1/kernel`, [c.d_model, c.d_ff]);
    add(`${prefix}/DenseReluDense/wo/kernel`, [c.d_ff, c.d_model]);
    add(`${prefix}/rms_norm/scale`, [c.d_model]);
  };
  for (const stack of ['encoder', 'decoder']) {
    const layers = stack === 'encoder' ? c.num_layers : c.num_decoder_layers;
    for (let b = 0; b < layers; b++) {
      const block = `${stack}/block_${String(b).padStart(3, '0')}`;
      attention(`${block}/layer_000/SelfAttention`, b === 0);
      add(`${block}/layer_000/rms_norm/scale`, [c.d_model]);
      if (stack === 'decoder') {
        attention(`${block}/layer_001/EncDecAttention`, false);
        add(`${block}/layer_001/rms_norm/scale`, [c.d_model]);
      }
      feedForward(`${block}/layer_00${stack === 'decoder' ? 2 : 1}`);
    }
    add(`${stack}/rms_norm/scale`, [c.d_model]);
  }
  add('decoder/logits/kernel', [c.d_model, c.vocab_size]);
  add('shared/embedding', [c.vocab_size, c.d_model]);
  out.push({ name: 'global_step', dtype: 'int64', shape: [] });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Synthesizes the checkpoint once under `workDir` (kept between runs), then measures. */
export async function benchConvertT5Xl(workDir: string, log: (line: string) => void): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const prefix = join(workDir, 'model.ckpt-1000000');
  const shardPaths = await pooledCheckpoint(prefix, t5Listing(CONFIG), {
    seed: 2020,
    shards: SHARDS,
    label: 'convert-t5-xl',
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
    for (const output of ['pytorch_model.bin', 't5-xl-hf/']) {
      const out = join(outDir, output);
      const runs: ReturnType<typeof convertOnce>[] = [];
      const copies: number[] = [];
      let written = 0;
      for (let i = 0; i < RUNS; i++) {
        rmSync(outDir, { recursive: true, force: true });
        mkdirSync(outDir, { recursive: true });
        settle(inputs);
        const args = ['--model_type', 't5', '--tf_checkpoint', prefix, '--config', config];
        runs.push(convertOnce([...args, '--pytorch_dump_output', out, '--quiet']));
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
      log(`convert-t5-xl → ${shown} (${(written / 1e9).toFixed(2)} GB)`);
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
