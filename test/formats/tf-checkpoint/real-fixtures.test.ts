/**
 * The reader against checkpoints written by TensorFlow itself (never by us): every folder of the real
 * fixtures is listed through the CLI and compared with the tensor list in its SOURCE.md; every tensor
 * of the complete ones is read with its checksum verified; corrupted copies fail with the right code.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Tf2TorchError } from '../../../src/errors.js';
import { openTfCheckpoint } from '../../../src/formats/tf-checkpoint/index.js';
import { runCli, runCliJson } from '../../support/cli.js';
import { FIXTURES_DIR, realFixture } from '../../support/fixtures.js';
import { copyFixture } from '../../support/temp.js';

interface Listed {
  name: string;
  dtype: string;
  shape: number[];
}

/**
 * The ``` block after "Tensor list" in SOURCE.md: name TAB dtype TAB [shape] TAB shard=…; big lists end
 * with "... (N entries in total; list above filtered: …)", then `total` is N and the list a subset.
 */
function sourceListing(dir: string): (Listed[] & { total?: number }) | undefined {
  const md = readFileSync(join(dir, 'SOURCE.md'), 'utf8');
  const m = /^Tensor list[^\n]*\n```\n([\s\S]*?)\n```/m.exec(md);
  if (!m) return undefined;
  const lines = m[1]!.split('\n');
  const summary = /^\.\.\. \((\d+) entries in total/.exec(lines[lines.length - 1] ?? '');
  if (summary) lines.pop();
  const listed: Listed[] & { total?: number } = lines.map((line) => {
    const [name, dtype, shape] = line.split('\t');
    const dims = shape!.slice(1, -1).trim();
    return { name: name!, dtype: dtype!, shape: dims === '' ? [] : dims.split(',').map((d) => Number(d.trim())) };
  });
  if (summary) listed.total = Number(summary[1]);
  return listed;
}

const folders = existsSync(FIXTURES_DIR) ? readdirSync(FIXTURES_DIR).sort() : [];

test('real fixtures folder is present', (t) => {
  if (realFixture(t, '') !== undefined) assert.ok(folders.length >= 10, `found ${folders.length} fixture folders`);
});

for (const folder of folders) {
  test(`inspect --json lists exactly the tensors of SOURCE.md: ${folder}`, (t) => {
    const dir = realFixture(t, folder);
    if (!dir) return;
    const expected = sourceListing(dir);
    if (folder === 'openai-gpt-params-shapes') {
      const r = runCli(['inspect', dir, '--json']);
      // numpy shards, not a TF checkpoint; the .npy files themselves are absent from the fixture
      assert.equal(expected, undefined);
      assert.notEqual(r.code, 0, 'a folder without weights cannot be listed');
      assert.doesNotMatch(r.stderr, /tf-bundle|internal error/);
      return;
    }
    const report = runCliJson<{ format: string; notes: string[]; tensors: Listed[]; totals: { tensors: number } }>([
      'inspect',
      dir,
      '--json',
    ]);
    const got = report.tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
    if (folder === 'tf-v1-format-single-file') {
      assert.equal(report.format, 'tf-v1');
      assert.deepEqual(got, [
        { name: 'Variable', dtype: 'float32', shape: [] },
        { name: 'Variable_1', dtype: 'float32', shape: [] },
      ]);
      return;
    }
    assert.ok(expected, `${folder}/SOURCE.md has a tensor list`);
    assert.equal(report.format, 'tf-bundle-v2');
    const byName = (a: Listed, b: Listed) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    if (expected.total === undefined) {
      assert.deepEqual(got, [...expected].sort(byName));
      assert.equal(report.totals.tensors, expected.length);
    } else {
      // filtered list: only non-layer entries and layer 0 / h0 / block_000 are shown
      assert.equal(got.length, expected.total);
      const gotByName = new Map(got.map((x) => [x.name, x]));
      for (const e of expected) assert.deepEqual(gotByName.get(e.name), e, e.name);
      const firstLayer = got.filter((x) => /(^|\/)(layer_0|h0|block_000|layer_with_weights-0)\//.test(x.name));
      const shown = new Set(expected.map((e) => e.name));
      assert.deepEqual(
        firstLayer.filter((x) => !shown.has(x.name)),
        [],
        'every first-layer tensor is in SOURCE.md',
      );
    }
    assert.equal(
      report.notes.some((n) => n.startsWith('TF2 object-based checkpoint')),
      folder.startsWith('tf2-'),
    );
  });
}

const COMPLETE = folders.filter((f) => {
  const listed = existsSync(join(FIXTURES_DIR, f, 'SOURCE.md')) ? sourceListing(join(FIXTURES_DIR, f)) : undefined;
  return listed !== undefined && !f.includes('indexonly') && f !== 'openai-gpt-params-shapes';
});

test('every tensor of every complete fixture reads with its checksum verified', async (t) => {
  if (!realFixture(t, 'bert-tiny-keras-bert')) return;
  assert.ok(COMPLETE.length >= 7, COMPLETE.join(','));
  let tensors = 0;
  for (const folder of COMPLETE) {
    const ckpt = await openTfCheckpoint(join(FIXTURES_DIR, folder));
    for (const ref of ckpt.tensors) {
      const bytes = await ref.read();
      assert.equal(bytes.length, ref.byteLength, ref.name);
      const streamed = [];
      for await (const chunk of ref.stream(7 * 4)) streamed.push(chunk);
      assert.deepEqual(Buffer.concat(streamed), Buffer.from(bytes), `${folder}: ${ref.name} streams the same bytes`);
      tensors++;
    }
    await ckpt.close();
  }
  assert.ok(tensors > 500, `${tensors} tensors read`);
});

test('the V1 single-file checkpoint decodes to its known values', async (t) => {
  const dir = realFixture(t, 'tf-v1-format-single-file');
  if (!dir) return;
  const ckpt = await openTfCheckpoint(dir); // its `checkpoint` file names a stale /tmp path
  assert.equal(ckpt.format, 'tf-v1');
  assert.equal(Buffer.from(await ckpt.tensor('Variable').read()).readFloatLE(0), 0.5);
  assert.equal(Buffer.from(await ckpt.tensor('Variable_1').read()).readFloatLE(0), 2.0);
});

async function codeOf(p: Promise<unknown>): Promise<Tf2TorchError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Tf2TorchError, String(e));
    return e;
  }
  assert.fail('expected an error');
}

test('one flipped byte in a data file is a checksum error naming the tensor', async (t) => {
  const dir = realFixture(t, 'gpt2-toy-keras-gpt-2');
  if (!dir) return;
  const copy = copyFixture(t, dir, 'corrupt');
  const data = join(copy, 'model.ckpt.data-00000-of-00001');
  const bytes = readFileSync(data);
  const ckpt0 = await openTfCheckpoint(copy);
  const victim = ckpt0.tensors[5]!;
  const index = readFileSync(join(copy, 'model.ckpt.index')); // untouched
  assert.ok(index.length > 0);
  await ckpt0.close();
  // find the victim's offset through SOURCE.md's listing (off=…)
  const line = readFileSync(join(dir, 'SOURCE.md'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${victim.name}\t`))!;
  const offset = Number(/off=(\d+)/.exec(line)![1]);
  bytes[offset + 3]! ^= 0x01;
  writeFileSync(data, bytes);
  const ckpt = await openTfCheckpoint(copy);
  const e = await codeOf(ckpt.tensor(victim.name).read());
  assert.equal(e.code, 'E_TENSOR_CHECKSUM');
  assert.equal(e.tensor, victim.name);
  assert.match(e.message, new RegExp(victim.name.replace(/[/]/g, '\\/')));
  const s = await codeOf(
    (async () => {
      for await (const _ of ckpt.tensor(victim.name).stream(16)) void _;
    })(),
  );
  assert.equal(s.code, 'E_TENSOR_CHECKSUM');
  // the other tensors still read; --no-verify reads the damaged one
  await ckpt.tensors[0]!.read();
  const unverified = await openTfCheckpoint(copy, { verify: false });
  assert.equal((await unverified.tensor(victim.name).read()).length, victim.byteLength);
  await Promise.all([ckpt.close(), unverified.close()]);
});

test('one flipped byte inside an index block is a block checksum error', async (t) => {
  const dir = realFixture(t, 'xlnet-tiny-untied-lmhead');
  if (!dir) return;
  const copy = copyFixture(t, dir, 'corrupt');
  const index = join(copy, 'xlnet_model.ckpt.index');
  const bytes = readFileSync(index);
  bytes[40]! ^= 0x20; // inside the first data block (a tensor name)
  writeFileSync(index, bytes);
  const e = await codeOf(openTfCheckpoint(copy));
  assert.equal(e.code, 'E_BLOCK_CHECKSUM');
  assert.match(e.message, /xlnet_model\.ckpt\.index/);
  const cli = runCli(['inspect', copy]);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /^error\[E_BLOCK_CHECKSUM\]/);
});

test('t5-mtf-tiny-indexonly lists its bfloat16 tensors without shard 1; reading one is E_MISSING_SHARD', async (t) => {
  const dir = realFixture(t, 't5-mtf-tiny-indexonly');
  if (!dir) return;
  const ckpt = await openTfCheckpoint(join(dir, 'model.ckpt-0'));
  const bf16 = ckpt.tensors.filter((x) => x.dtype === 'bfloat16');
  assert.equal(bf16.length, 52);
  assert.ok(ckpt.notes.some((n) => /shard 1 of 2 is missing/.test(n)));
  const e = await codeOf(bf16[0]!.read());
  assert.equal(e.code, 'E_MISSING_SHARD');
  assert.match(e.message, /model\.ckpt-0\.data-00001-of-00002/);
  assert.equal(e.tensor, bf16[0]!.name);
  // global_step lives in shard 0, which is present
  assert.equal(Buffer.from(await ckpt.tensor('global_step').read()).readBigInt64LE(0), 0n);
  assert.equal(ckpt.roleOf('decoder/block_000/layer_000/SelfAttention/k_slot_v'), 'optimizer');
  await ckpt.close();
});

test('path forms: prefix, .index, .data-*, .meta, directory with a stale checkpoint file', async (t) => {
  const dir = realFixture(t, 'tf2-keras-bert-objgraph-indexonly');
  const toy = realFixture(t, 'bert-tiny-keras-bert');
  if (!dir || !toy) return;
  const viaDir = await openTfCheckpoint(dir); // `checkpoint` names "mycheckpoits", which is absent
  assert.equal(viaDir.prefix, join(dir, 'bert_model.ckpt'));
  assert.equal(viaDir.objectBased, true);
  assert.equal(viaDir.roleOf('_CHECKPOINTABLE_OBJECT_GRAPH'), 'metadata');
  for (const form of [
    'bert_model.ckpt',
    'bert_model.ckpt.index',
    'bert_model.ckpt.data-00000-of-00001',
    'bert_model.ckpt.meta',
  ]) {
    const c = await openTfCheckpoint(join(toy, form));
    assert.equal(c.prefix, join(toy, 'bert_model.ckpt'), form);
    assert.equal(c.tensors.length, 139);
    await c.close();
  }
  const e = await codeOf(openTfCheckpoint(join(toy, 'bert_model')));
  assert.equal(e.code, 'E_NOT_FOUND');
  assert.match(e.message, /bert_model\.ckpt/); // suggests what is there
});
