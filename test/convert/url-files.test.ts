/**
 * How `openUrlFiles` finds a checkpoint's files by URL: what it asks for, and in how many rounds. The
 * transport is a stand-in serving a folder from disk that records every request and can hold the
 * index's answer back: requests made before it is released belong to the first round. The checkpoint
 * is written with the names Google's BERT `run_pretraining.py` gives its variables (tiny-bert.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { openAndPlan } from '../../src/convert/open-and-plan.js';
import { expectPlanReads, openUrlFiles } from '../../src/convert/url-input.js';
import type { HttpAnswer, HttpTransport } from '../../src/io/http-transport.js';
import { writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertShapes } from '../support/tiny-bert.js';

const ORIGIN = 'http://checkpoints.test';
const CONFIG = TINY_BERT_CONFIG;

async function runFolder(t: TestContext) {
  const dir = tempDir(t, 'run');
  await writeOriginalCheckpoint(join(dir, 'bert_model.ckpt'), tinyBertShapes(CONFIG), { slots: ['adam_m', 'adam_v'] });
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(CONFIG));
  writeFileSync(join(dir, 'vocab.txt'), Array.from({ length: CONFIG.vocab_size }, (_, i) => `t${i}`).join('\n'));
  writeFileSync(join(dir, 'checkpoint'), 'model_checkpoint_path: "bert_model.ckpt"\n');
  return dir;
}

interface Asked {
  readonly method: string;
  readonly path: string;
  readonly range?: string;
  /** Asked before the index's answer was released. */
  readonly firstRound: boolean;
}

/** `dir` served under ORIGIN/run/; the index's answer held until `releaseIndexAfterMs`. */
function folderServer(dir: string, releaseIndexAfterMs = 100) {
  const asked: Asked[] = [];
  let released = false;
  const transport: HttpTransport = async (url, { method, headers }) => {
    const path = new URL(url).pathname;
    asked.push({ method, path, ...(headers.range ? { range: headers.range } : {}), firstRound: !released });
    if (path.endsWith('.index') && !released) {
      await new Promise((r) => setTimeout(r, releaseIndexAfterMs));
      released = true;
    }
    const file = path.startsWith('/run/') ? join(dir, path.slice('/run/'.length)) : '';
    const found = file !== '' && existsSync(file) && statSync(file).isFile();
    const all: Uint8Array = found ? readFileSync(file) : new TextEncoder().encode('not found');
    const m = /^bytes=(\d+)-(\d+)$/.exec(headers.range ?? '');
    const body = found && m ? all.subarray(Number(m[1]), Number(m[2]) + 1) : all;
    const fields: Record<string, string> = {
      'content-length': String(body.byteLength),
      ...(found ? { etag: `"${statSync(file).mtimeMs}"` } : {}),
      ...(found && m ? { 'content-range': `bytes ${m[1]}-${m[2]}/${all.byteLength}` } : {}),
    };
    const answer: HttpAnswer = {
      status: found ? (m ? 206 : 200) : 404,
      statusText: found ? 'OK' : 'Not Found',
      header: (name) => fields[name],
      async readBody(onChunk) {
        if (method === 'GET') onChunk(body);
      },
      cancel: () => undefined,
    };
    return answer;
  };
  return { transport, asked };
}

const named = (asked: readonly Asked[], name: string) => asked.filter((a) => a.path.endsWith(`/${name}`));

test('by its prefix: the index, the one data shard and the files beside it are asked for in one round', async (t) => {
  const dir = await runFolder(t);
  const { transport, asked } = folderServer(dir);
  const tree = await openUrlFiles(`${ORIGIN}/run/bert_model.ckpt`, undefined, { transport, modelType: 'bert' });
  assert.ok(tree);
  t.after(() => tree.close());
  for (const name of ['bert_config.json', 'vocab.txt', 'bert_model.ckpt.data-00000-of-00001'])
    assert.ok(
      named(asked, name).every((a) => a.firstRound) && named(asked, name).length === 1,
      `${name}: asked once, before the index arrived (${JSON.stringify(named(asked, name))})`,
    );
  assert.equal(named(asked, 'bert_model.ckpt.data-00000-of-00001')[0]?.method, 'HEAD');
  // --model_type bert: no other type's tokenizer, but every file detection weighs
  for (const name of ['spiece.model', 'encoder.json', 'merges.txt', 'pegasus.model'])
    assert.deepEqual(named(asked, name), [], `${name} is not a BERT file`);
  for (const name of ['albert_config.json', 'hparams.json', 'config.json'])
    assert.equal(named(asked, name).length, 1, `${name}: detection checks the type given against it`);
  assert.equal(tree.stat(`${ORIGIN}/run/vocab.txt`)?.kind, 'file');
  assert.equal(tree.stat(`${ORIGIN}/run/bert_model.ckpt.data-00000-of-00001`)?.kind, 'file');
});

test('a checkpoint in several shards: the guessed single shard is asked for once, then each named by the index', async (t) => {
  const dir = tempDir(t, 'sharded');
  const tensor = (name: string) => ({ name, dtype: 'float32' as const, shape: [4], bytes: new Uint8Array(16) });
  await writeBundle(join(dir, 'model.ckpt-7'), ['a', 'b', 'c'].map(tensor), { shards: 3 });
  const { transport, asked } = folderServer(dir, 0);
  const tree = await openUrlFiles(`${ORIGIN}/run/model.ckpt-7`, undefined, { transport, modelType: 'bert' });
  assert.ok(tree);
  t.after(() => tree.close());
  assert.equal(named(asked, 'model.ckpt-7.data-00000-of-00001').length, 1, 'the guess, once');
  for (let k = 0; k < 3; k++) {
    const shard = `model.ckpt-7.data-0000${k}-of-00003`;
    assert.deepEqual(
      named(asked, shard).map((a) => a.method),
      ['HEAD'],
    );
    assert.equal(tree.stat(`${ORIGIN}/run/${shard}`)?.kind, 'file');
  }
});

test('without --model_type every type the files beside it could belong to are looked for', async (t) => {
  const dir = await runFolder(t);
  const { transport, asked } = folderServer(dir, 0);
  const tree = await openUrlFiles(`${ORIGIN}/run/bert_model.ckpt`, undefined, { transport });
  t.after(() => tree?.close());
  for (const name of ['spiece.model', 'encoder.json', 'vocab.txt']) assert.equal(named(asked, name).length, 1, name);
});

test('a folder named without its trailing slash: the files beside are looked for in it, not in its parent', async (t) => {
  const dir = await runFolder(t);
  const { transport, asked } = folderServer(dir, 0);
  const tree = await openUrlFiles(`${ORIGIN}/run`, undefined, { transport, modelType: 'bert' });
  assert.ok(tree);
  t.after(() => tree.close());
  // `run` could be a prefix: its index is asked for too; nothing else outside the folder
  assert.deepEqual(
    asked.filter((a) => !a.path.startsWith('/run/')).map((a) => a.path),
    ['/run.index'],
  );
  assert.equal(named(asked, 'bert_config.json').length, 1);
  assert.equal(tree.stat(`${ORIGIN}/run/bert_model.ckpt.data-00000-of-00001`)?.kind, 'file');
});

test("a plan's reads are announced from its tensors' ranges: the weights' bytes are fetched, no optimizer slot", async (t) => {
  const dir = await runFolder(t);
  const { transport, asked } = folderServer(dir, 0);
  const checkpoint = `${ORIGIN}/run/bert_model.ckpt`;
  const files = await openUrlFiles(checkpoint, undefined, { transport, modelType: 'bert' });
  assert.ok(files);
  t.after(() => files.close());
  const { source, plan } = await openAndPlan({ checkpoint, files, modelType: 'bert' });
  t.after(() => source.close());
  expectPlanReads(files, source, plan);
  for (const output of plan.outputs) {
    if (output.kind !== 'tensor') continue;
    for (const { name } of output.sources) await source.tensors.find((x) => x.name === name)?.read();
  }
  await new Promise((r) => setTimeout(r, 20)); // the fetch-ahead settled
  const ranges = asked.filter((a) => a.range !== undefined && a.path.endsWith('.data-00000-of-00001'));
  const fetched = ranges.reduce((sum, a) => {
    const [from, to] = (a.range as string).slice('bytes='.length).split('-').map(Number) as [number, number];
    return sum + to - from + 1;
  }, 0);
  const weights = source.tensors
    .filter((x) => plan.outputs.some((o) => o.kind === 'tensor' && o.sources.some((s) => s.name === x.name)))
    .reduce((sum, x) => sum + x.byteLength, 0);
  assert.equal(fetched, weights, "exactly the planned tensors' bytes");
  assert.ok(statSync(join(dir, 'bert_model.ckpt.data-00000-of-00001')).size > 2.9 * weights, 'the slots were there');
});
