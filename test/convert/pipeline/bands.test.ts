/**
 * Computed outputs produced in bands from a real TF bundle, with limits injected so small that every
 * path runs on small tensors: sources streamed front to back, read whole, or read in strided runs
 * (little- and big-endian). The joined bands must equal the whole-tensor computation (read()) and the
 * naive reference loops; a corrupt checksum must fail before any unverified byte is produced; the
 * read-ahead must stay within its byte budget.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Band, produceBands, type StreamLimits } from '../../../src/convert/pipeline/bands.js';
import { BandsAhead } from '../../../src/convert/pipeline/bands-ahead.js';
import { BufferPool } from '../../../src/convert/pipeline/buffer-pool.js';
import { planToStateDict } from '../../../src/convert/pipeline/plan-to-state-dict.js';
import { runTransposeJob, type Transposer } from '../../../src/convert/pipeline/transposer.js';
import { openTfCheckpoint } from '../../../src/formats/tf-checkpoint/index.js';
import type { FileTree } from '../../../src/io/byte-source.js';
import { defaultFiles } from '../../../src/io/node-platform.js';
import { type CompiledOutput, compileViews } from '../../../src/kernels/views.js';
import type { Plan, PlanOutput } from '../../../src/mapping/plan.js';
import type { Transform } from '../../../src/mapping/types.js';
import { type DType, memoryTensor, type TensorRef } from '../../../src/tensor.js';
import { flippingStridedReads } from '../../support/flipped-runs.js';
import { seededRandom } from '../../support/random.js';
import { bf16ToF32, type RawTensor, selectFirstAxis, transpose2d } from '../../support/reference-transforms.js';
import { randomTensorBytes, writeBundle } from '../../support/tf-bundle-writer.js';

const random = seededRandom(2027);
const SOURCES: RawTensor[] = [
  { dtype: 'bfloat16', shape: [24, 40], bytes: randomTensorBytes('bfloat16', 24 * 40, random) },
  { dtype: 'float32', shape: [3, 10, 7], bytes: randomTensorBytes('float32', 210, random) },
  { dtype: 'bfloat16', shape: [50, 30], bytes: randomTensorBytes('bfloat16', 1500, random) },
  { dtype: 'float32', shape: [4, 9], bytes: randomTensorBytes('float32', 36, random) },
  { dtype: 'float32', shape: [6, 9], bytes: randomTensorBytes('float32', 54, random) },
  { dtype: 'float64', shape: [17, 5], bytes: randomTensorBytes('float64', 85, random) },
];
const NAMES = ['kernel', 'stacked', 'embedding', 'part_a', 'part_b', 'wide'];

function output(key: string, sources: number[], transforms: Transform[], shape: number[], dtype: DType): PlanOutput {
  return {
    kind: 'tensor',
    key,
    sources: sources.map((i) => ({ name: NAMES[i], dtype: SOURCES[i]?.dtype, shape: SOURCES[i]?.shape })),
    transforms,
    shape,
    dtype,
  } as unknown as PlanOutput;
}

const f32 = (t: RawTensor) => bf16ToF32(t).bytes;
/** The outputs, each with its naive reference bytes. */
const OUTPUTS: { output: PlanOutput; want: Uint8Array }[] = [
  {
    output: output('k', [0], [{ op: 'transpose' }, { op: 'cast', dtype: 'float32' }], [40, 24], 'float32'),
    want: f32(transpose2d(SOURCES[0] as RawTensor)),
  },
  {
    output: output('passthrough', [3], [], [4, 9], 'float32'),
    want: (SOURCES[3] as RawTensor).bytes,
  },
  {
    output: output('s', [1], [{ op: 'select', axis: 0, index: 1 }, { op: 'transpose' }], [7, 10], 'float32'),
    want: transpose2d(selectFirstAxis(SOURCES[1] as RawTensor, 1)).bytes,
  },
  {
    output: output('e', [2], [{ op: 'cast', dtype: 'float32' }], [50, 30], 'float32'),
    want: f32(SOURCES[2] as RawTensor),
  },
  {
    output: output('c', [3, 4], [{ op: 'concat', axis: 0 }], [10, 9], 'float32'),
    want: Buffer.concat([(SOURCES[3] as RawTensor).bytes, (SOURCES[4] as RawTensor).bytes]),
  },
  {
    output: output('w', [5], [{ op: 'transpose' }], [5, 17], 'float64'),
    want: transpose2d(SOURCES[5] as RawTensor).bytes,
  },
];

async function withBundle(
  bigEndian: boolean,
  body: (tensors: readonly TensorRef[], dir: string) => Promise<void>,
  files?: FileTree,
) {
  const dir = mkdtempSync(join(tmpdir(), 'tf2torch-bands-'));
  try {
    await writeBundle(
      join(dir, 'model.ckpt'),
      SOURCES.map((s, i) => ({ name: NAMES[i] as string, ...s })),
      { bigEndian, shards: 2 },
    );
    const ckpt = await openTfCheckpoint(join(dir, 'model.ckpt'), files === undefined ? {} : { files });
    try {
      await body(ckpt.tensors, dir);
    } finally {
      await ckpt.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function streamed(t: TensorRef, slow = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of t.stream()) {
    if (slow) await sleep(1); // the read-ahead runs meanwhile, into recycled buffers
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

const LIMITS: Record<string, StreamLimits> = {
  'read whole, tiny bands': {
    bandBytes: 24,
    aheadBytes: 100,
    wholeInputBytes: 1 << 20,
    slabBytes: 24,
    earlyReadBytes: 24,
  },
  'read whole, bands of a few rows': {
    bandBytes: 480,
    aheadBytes: 1000,
    wholeInputBytes: 1 << 20,
    slabBytes: 480,
    earlyReadBytes: 480,
  },
  'strided runs, slabs of one band': {
    bandBytes: 40,
    aheadBytes: 64,
    wholeInputBytes: 8,
    slabBytes: 40,
    earlyReadBytes: 40,
  },
  'strided runs, slabs of several bands': {
    bandBytes: 40,
    aheadBytes: 64,
    wholeInputBytes: 8,
    slabBytes: 200,
    earlyReadBytes: 40,
  },
  'strided runs, one element per band': {
    bandBytes: 1,
    aheadBytes: 1,
    wholeInputBytes: 0,
    slabBytes: 1,
    earlyReadBytes: 1,
  },
  'default limits': {
    bandBytes: 8 << 20,
    aheadBytes: 24 << 20,
    wholeInputBytes: 32 << 20,
    slabBytes: 16 << 20,
    earlyReadBytes: 8 << 20,
  },
};

for (const bigEndian of [false, true]) {
  for (const [name, limits] of Object.entries(LIMITS)) {
    test(`banded outputs equal the whole computation and the reference (${name}, ${bigEndian ? 'big' : 'little'}-endian)`, async () => {
      await withBundle(bigEndian, async (tensors) => {
        const plan = { outputs: OUTPUTS.map((o) => o.output) } as unknown as Plan;
        const entries = planToStateDict(plan, tensors, { limits });
        for (const [i, entry] of entries.entries()) {
          assert.ok('tensor' in entry);
          const want = (OUTPUTS[i] as { want: Uint8Array }).want;
          const got = await streamed(entry.tensor, true);
          assert.ok(got.equals(want), `${entry.key}: streamed bands equal the reference`);
          assert.ok(Buffer.from(await entry.tensor.read()).equals(want), `${entry.key}: read() equals the reference`);
        }
        // Out of plan order (a second pass): produced without read-ahead, same bytes.
        const again = await streamed((entries[0] as { tensor: TensorRef }).tensor);
        assert.ok(again.equals((OUTPUTS[0] as { want: Uint8Array }).want));
      });
    });
  }
}

/** Flips one bit of the stored bytes of 'embedding' ([50, 30] bfloat16, in shard 0 after 'kernel'). */
function corruptEmbedding(dir: string): void {
  const at = (SOURCES[0] as RawTensor).bytes.length + 5;
  const fd = openSync(join(dir, 'model.ckpt.data-00000-of-00002'), 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, at);
  byte[0] = (byte[0] as number) ^ 0x40;
  writeSync(fd, byte, 0, 1, at);
  closeSync(fd);
}

/** Streams the output `transforms` of 'embedding' gives, read in strided runs: it must fail on the checksum; the chunks before. */
async function bandsBeforeError(tensors: readonly TensorRef[], transforms: Transform[], shape: number[]) {
  const plan = { outputs: [output('x', [2], transforms, shape, 'float32')] } as unknown as Plan;
  const [entry] = planToStateDict(plan, tensors, {
    limits: { bandBytes: 64, aheadBytes: 64, wholeInputBytes: 0, slabBytes: 64, earlyReadBytes: 64 },
  });
  assert.ok(entry && 'tensor' in entry);
  let bands = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of entry.tensor.stream()) bands++;
    })(),
    (e: Error & { code?: string; tensor?: string }) => e.code === 'E_TENSOR_CHECKSUM' && e.tensor === 'embedding',
  );
  return bands;
}

test('a corrupt transposed tensor read in strided runs fails on the checksum of the bytes those runs read', async () => {
  await withBundle(false, async (tensors, dir) => {
    corruptEmbedding(dir);
    // Its runs cover every byte once: checked as they are read, the error ends the stream after its last band.
    const transforms: Transform[] = [{ op: 'transpose' }, { op: 'cast', dtype: 'float32' }];
    await bandsBeforeError(tensors, transforms, [30, 50]);
  });
});

test('a corrupt source of a view of part of it (select, transpose) fails before any band is produced', async () => {
  await withBundle(false, async (tensors, dir) => {
    corruptEmbedding(dir);
    // [50, 30] seen as [5, 10, 30], row block 0 selected: its runs miss most bytes, so a streamed pass checks first.
    const transforms: Transform[] = [
      { op: 'reshape', shape: [5, 10, 30] },
      { op: 'select', axis: 0, index: 0 },
      { op: 'transpose' },
      { op: 'cast', dtype: 'float32' },
    ];
    assert.equal(await bandsBeforeError(tensors, transforms, [30, 10]), 0, 'no band of unverified bytes');
  });
});

for (const bigEndian of [false, true]) {
  test(`strided reads that return other bytes than the checksummed file fail, whole or part of a source read (${bigEndian ? 'big' : 'little'}-endian)`, async () => {
    await withBundle(
      bigEndian,
      async (tensors) => {
        await bandsBeforeError(tensors, [{ op: 'transpose' }, { op: 'cast', dtype: 'float32' }], [30, 50]);
        const part: Transform[] = [
          { op: 'reshape', shape: [5, 10, 30] },
          { op: 'select', axis: 0, index: 3 },
          { op: 'transpose' },
          { op: 'cast', dtype: 'float32' },
        ];
        await bandsBeforeError(tensors, part, [30, 10]);
      },
      flippingStridedReads('embedding'),
    );
  });
}

/** The file system, counting the strided reads (`readRunsInto`) of one tensor. */
function countingStridedReads(tensor: string): { files: FileTree; calls: () => number } {
  let calls = 0;
  const files: FileTree = {
    ...defaultFiles,
    async open(path) {
      const file = await defaultFiles.open(path);
      return {
        ...file,
        path: file.path,
        size: file.size,
        readAt: (offset, length, what) => file.readAt(offset, length, what),
        readInto: (target, offset, what) => file.readInto(target, offset, what),
        readChunks: (offset, length, chunkSize, what, reuse) => file.readChunks(offset, length, chunkSize, what, reuse),
        readRunsInto(target, offsets, runLength, what) {
          if (what?.includes(`'${tensor}'`)) calls++;
          return file.readRunsInto(target, offsets, runLength, what);
        },
        close: () => file.close(),
      };
    },
  };
  return { files, calls: () => calls };
}

test('a transposed source too large to hold is read in slabs of several bands: one strided read per slab', async () => {
  // [50, 30] bfloat16 transposed to [30, 50] float32: bands of 10 elements (runs of one element each);
  // slabs of 300 elements are 6 output rows, 50 runs of 6 elements: 5 strided reads instead of 150.
  const want = f32(transpose2d(SOURCES[2] as RawTensor));
  for (const [slabBytes, reads] of [
    [600, 5],
    [20, 150],
  ] as const) {
    const counting = countingStridedReads('embedding');
    await withBundle(
      false,
      async (tensors) => {
        const transforms: Transform[] = [{ op: 'transpose' }, { op: 'cast', dtype: 'float32' }];
        const plan = { outputs: [output('e', [2], transforms, [30, 50], 'float32')] } as unknown as Plan;
        const limits = { bandBytes: 40, aheadBytes: 40, wholeInputBytes: 0, slabBytes, earlyReadBytes: 0 };
        const [entry] = planToStateDict(plan, tensors, { limits });
        assert.ok(entry && 'tensor' in entry);
        assert.ok((await streamed(entry.tensor)).equals(want));
      },
      counting.files,
    );
    assert.equal(counting.calls(), reads, `slabs of ${slabBytes} bytes`);
  }
});

test('the read-ahead holds at most its byte budget of finished bands, across outputs', async () => {
  const BAND = 100;
  let outstanding = 0;
  let peak = 0;
  const produce = async function* (index: number): AsyncGenerator<Band> {
    for (let b = 0; b < 5; b++) {
      outstanding += BAND;
      peak = Math.max(peak, outstanding);
      yield {
        bytes: new Uint8Array(BAND).fill(index * 10 + b),
        release: () => {
          outstanding -= BAND;
        },
      };
    }
  };
  const bandsAhead = new BandsAhead([0, 1, 2, 3], produce, 350);
  for (let index = 0; index < 4; index++) {
    let b = 0;
    for await (const bytes of bandsAhead.take(index)) {
      await sleep(2); // a slow writer: the producer fills the budget
      assert.equal(bytes[0], index * 10 + b, 'bands in order, intact');
      b++;
    }
    assert.equal(b, 5);
  }
  assert.equal(outstanding, 0, 'every band released');
  // The budget (350) plus the band the producer holds while it waits for room.
  assert.ok(peak <= 350 + BAND, `peak ${peak}`);
  assert.ok(peak >= 300, `the producer did run ahead (peak ${peak})`);
});

test('when the writer gives up, the read-ahead stops producing and releases what it held', async () => {
  let produced = 0;
  let outstanding = 0;
  const produce = async function* (): AsyncGenerator<Band> {
    for (let b = 0; b < 1000; b++) {
      produced++;
      outstanding++;
      yield { bytes: new Uint8Array(10), release: () => void outstanding-- };
    }
  };
  const bandsAhead = new BandsAhead([0, 1], produce, 50);
  for await (const _ of bandsAhead.take(0)) break; // a failed write: the consumer stops after one band
  await sleep(20);
  assert.ok(produced <= 7, `produced ${produced} bands after the consumer stopped`);
  assert.equal(outstanding, 0, 'every produced band released');
});

test('direct transposes: band k + 1 is being transposed while band k is handed out; stopping waits for it', async () => {
  const rows = 64;
  const cols = 48;
  const words = Uint32Array.from({ length: rows * cols }, (_, i) => Math.imul(i + 3, 2654435761) >>> 0);
  const source = memoryTensor('w', 'float32', [rows, cols], new Uint8Array(words.buffer));
  const compiled = compileViews([source], [{ op: 'transpose' }]) as CompiledOutput;
  const asked: number[] = [];
  let running = 0;
  const slow: Transposer = {
    allocate: (n) => new Uint8Array(n),
    async transpose(job) {
      asked.push(job.dst.byteLength);
      running++;
      await sleep(5);
      runTransposeJob(job);
      running--;
    },
    async close() {},
  };
  const limits = {
    bandBytes: rows * 4 * 8,
    aheadBytes: 0,
    wholeInputBytes: 1 << 20,
    slabBytes: 1 << 20,
    earlyReadBytes: rows * 4 * 8,
  }; // 8 output rows a band
  const pool = new BufferPool();
  const bands: Buffer[] = [];
  for await (const band of produceBands([source], compiled, limits, pool, undefined, slow)) {
    assert.equal(
      asked.length,
      Math.min(cols / 8, bands.length + 2),
      'the next band was asked for before this one was handed out',
    );
    bands.push(Buffer.from(band.bytes));
    band.release();
  }
  const want = new Uint32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) want[c * rows + r] = words[r * cols + c] as number;
  assert.ok(Buffer.concat(bands).equals(Buffer.from(want.buffer)));
  for await (const _ of produceBands([source], compiled, limits, pool, undefined, slow)) break;
  assert.equal(running, 0, 'a consumer that stops does not leave a transpose writing into a recycled buffer');
});
