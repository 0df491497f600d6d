/**
 * Writing benchmark: copies a ~1 GB safetensors file (synthetic float32 tensors) into
 * pytorch_model.bin and model.safetensors, each in a child process so its peak RSS is its own, and
 * compares the time with `cp` of the same file in the same run.
 * BENCH_BYTES (default 1e9) sets the size; files go to a fresh folder under `workDir`, removed afterwards.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSafetensors } from '../src/formats/safetensors/read.js';
import { writeSafetensorsFile } from '../src/formats/safetensors/write.js';
import { writeTorchFile } from '../src/formats/torch/write.js';
import { DEFAULT_CHUNK_BYTES, type TensorRef } from '../src/tensor.js';

const TENSOR_BYTES = 16 * 1024 * 1024;

/** A lazy float32 tensor of pseudo-random bytes, generated chunk by chunk (never held whole). */
function syntheticTensor(name: string, byteLength: number, seed: number): TensorRef {
  const chunk = (at: number, length: number) => {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i + 4 <= length; i += 4) out.writeUInt32LE(((at + i) * 2654435761 + seed) >>> 0, i);
    return out;
  };
  return {
    name,
    dtype: 'float32',
    shape: [byteLength / 4],
    byteLength,
    read: async () => chunk(0, byteLength),
    async *stream(size = DEFAULT_CHUNK_BYTES) {
      for (let at = 0; at < byteLength; at += size) yield chunk(at, Math.min(size, byteLength - at));
    },
  };
}

/** Child mode: `node write.js child <format> <source> <dest>` prints {seconds, maxRssMB}. */
async function child(format: string, source: string, dest: string): Promise<void> {
  const start = process.hrtime.bigint();
  const input = await openSafetensors(source);
  const entries = input.tensors.map((tensor) => ({ key: tensor.name, tensor }));
  if (format === 'pytorch') await writeTorchFile(dest, entries);
  else await writeSafetensorsFile(dest, entries);
  await input.close();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export interface WriteBenchResult {
  readonly format: 'pytorch' | 'safetensors';
  readonly bytes: number;
  /** Medians over RUNS. */
  readonly seconds: number;
  readonly cpSeconds: number;
  readonly maxRssMB: number;
}

/**
 * Same conditions on both sides: the source warm in the page cache and no dirty pages pending before
 * each run (`cat > /dev/null && sync`), output in the same folder, both fsync their output (our writers
 * sync before the rename; the copy runs `cp && sync FILE`). Runs alternate; medians are compared.
 */
export async function benchWrite(workDir: string, log: (line: string) => void): Promise<WriteBenchResult[]> {
  const totalBytes = Number(process.env.BENCH_BYTES ?? 1e9);
  mkdirSync(workDir, { recursive: true });
  const dir = mkdtempSync(join(workDir, 'run-'));
  const results: WriteBenchResult[] = [];
  try {
    const count = Math.max(1, Math.round(totalBytes / TENSOR_BYTES));
    const source = join(dir, 'source.safetensors');
    await writeSafetensorsFile(
      source,
      Array.from({ length: count }, (_, i) => ({
        key: `layer.${i}.weight`,
        tensor: syntheticTensor(`layer.${i}.weight`, TENSOR_BYTES, i),
      })),
    );
    const bytes = statSync(source).size;
    log(
      `source: ${count} float32 tensors, ${(bytes / 1e9).toFixed(2)} GB (${dir}); ${RUNS} runs each, alternating, medians; both sides fsync their output`,
    );
    const settle = () => execFileSync('sh', ['-c', `cat '${source}' > /dev/null && sync`]);
    const script = fileURLToPath(import.meta.url);
    for (const [format, name] of [
      ['pytorch', 'pytorch_model.bin'],
      ['safetensors', 'model.safetensors'],
    ] as const) {
      const dest = join(dir, name);
      const copy = join(dir, 'copy.bin');
      const ours: number[] = [];
      const cps: number[] = [];
      let maxRssMB = 0;
      let written = 0;
      for (let i = 0; i < RUNS; i++) {
        settle();
        const r = spawnSync(process.execPath, [script, 'child', format, source, dest], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`benchmark child failed: ${r.stderr}`);
        const run = JSON.parse(r.stdout) as { seconds: number; maxRssMB: number };
        ours.push(run.seconds);
        maxRssMB = Math.max(maxRssMB, run.maxRssMB);
        written = statSync(dest).size;
        rmSync(dest);
        settle();
        cps.push(timed(() => execFileSync('sh', ['-c', `cp '${source}' '${copy}' && sync '${copy}'`])));
        rmSync(copy);
      }
      const result = { format, bytes: written, seconds: median(ours), cpSeconds: median(cps), maxRssMB };
      results.push(result);
      log(
        `${name.padEnd(19)} ${result.seconds.toFixed(2)} s (${(written / 1e6 / result.seconds).toFixed(0)} MB/s)  cp ${result.cpSeconds.toFixed(2)} s  ` +
          `ratio ours÷cp ${(result.seconds / result.cpSeconds).toFixed(2)}  peak RSS ${maxRssMB.toFixed(0)} MB`,
      );
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child' && process.argv[1] === fileURLToPath(import.meta.url)) {
  await child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
}
