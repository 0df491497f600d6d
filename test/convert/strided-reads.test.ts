/**
 * Transposed kernels above the size read whole are produced in bands from strided reads. Those reads are
 * checksummed themselves: a shard whose strided reads return other bytes than its streamed ones (changed
 * between two reads; here a source whose strided reads flip one byte) fails with E_TENSOR_CHECKSUM naming
 * the tensor and the file, and leaves no output. A narrow kernel ([2621440, 4] float32, 40 MiB: a run of
 * one element per source row) converts in about a second within the README's memory bound.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { convert } from '../../src/convert/index.js';
import { DEFAULT_STREAM_LIMITS } from '../../src/convert/pipeline/bands.js';
import { openSafetensors } from '../../src/formats/safetensors/read.js';
import { runCli } from '../support/cli.js';
import { flippingStridedReads } from '../support/flipped-runs.js';
import {
  NARROW_BERT_CONFIG,
  NARROW_KERNEL,
  NARROW_KERNEL_KEY,
  patternWord,
  seedOf,
  writeNarrowBert,
} from '../support/narrow-bert.js';
import { tempDir } from '../support/temp.js';

/** The README's bound: "memory stays under 200 MiB whatever the size of the model or of its largest tensor". */
const MEMORY_BOUND_BYTES = 200 * 1024 * 1024;
const PEAK_RSS_HOOK = fileURLToPath(new URL('../support/peak-rss.js', import.meta.url));

test('the narrow kernel is above the size read whole: it is produced from strided reads', () => {
  assert.ok(
    NARROW_BERT_CONFIG.intermediate_size * NARROW_BERT_CONFIG.hidden_size * 4 > DEFAULT_STREAM_LIMITS.wholeInputBytes,
  );
});

for (const [label, output, contiguous] of [
  ['model.safetensors', 'model.safetensors', false],
  ['pytorch_model.bin --contiguous', 'pytorch_model.bin', true],
] as const) {
  test(`strided reads that return other bytes fail on the checksum, naming the tensor and file, with no output (${label})`, async (t) => {
    const dir = tempDir(t, 'strided-crc');
    const prefix = await writeNarrowBert(dir);
    const target = join(dir, 'out', output);
    await assert.rejects(
      convert({
        checkpoint: prefix,
        output: target,
        modelType: 'bert',
        contiguous,
        files: flippingStridedReads(NARROW_KERNEL),
      }),
      (e: Error & { code?: string; tensor?: string; file?: string }) => {
        assert.equal(e.code, 'E_TENSOR_CHECKSUM', e.message);
        assert.equal(e.tensor, NARROW_KERNEL);
        assert.equal(e.file, `${prefix}.data-00000-of-00001`);
        assert.ok(e.message.includes(NARROW_KERNEL) && e.message.includes('.data-00000-of-00001'), e.message);
        return true;
      },
    );
    assert.ok(!existsSync(target), 'no output under the final name');
    assert.deepEqual(existsSync(join(dir, 'out')) ? readdirSync(join(dir, 'out')) : [], [], 'nothing left behind');
  });
}

test('a narrow 40 MiB kernel converts to safetensors within the memory bound, every value in place', async (t) => {
  const dir = tempDir(t, 'narrow');
  const prefix = await writeNarrowBert(dir);
  const target = join(dir, 'model.safetensors');
  const rssFile = join(dir, 'peak-rss');
  const start = performance.now();
  const r = runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', prefix, '--pytorch_dump_output', target], {
    nodeArgs: ['--import', PEAK_RSS_HOOK],
    env: { ...process.env, TF2TORCH_PEAK_RSS_FILE: rssFile },
  });
  const seconds = (performance.now() - start) / 1000;
  assert.equal(r.code, 0, r.stderr);
  const peak = Number(readFileSync(rssFile, 'utf8'));
  t.diagnostic(`${seconds.toFixed(2)} s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(peak < MEMORY_BOUND_BYTES, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, bound 200 MiB`);

  const out = await openSafetensors(target);
  try {
    const kernel = out.tensors.find((x) => x.name === NARROW_KERNEL_KEY);
    assert.ok(kernel !== undefined);
    const rows = NARROW_BERT_CONFIG.intermediate_size;
    const cols = NARROW_BERT_CONFIG.hidden_size;
    assert.deepEqual(kernel.shape, [cols, rows]);
    const bytes = await kernel.read();
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const seed = seedOf(NARROW_KERNEL);
    for (let c = 0; c < cols; c++)
      for (let row = 0; row < rows; row++)
        if (words[c * rows + row] !== patternWord(seed, row * cols + c))
          assert.fail(`${NARROW_KERNEL_KEY}[${c}, ${row}] is not the source's [${row}, ${c}]`);
  } finally {
    await out.close();
  }
});
