/**
 * The one high-level call, `convert()`: an AbortSignal stops it cleanly (E_ABORTED, nothing it wrote is
 * kept, an existing output is left as it was, the checkpoint is closed), progress reports stages and
 * bytes, notes and warnings come as data (code, values) that the command line words as flags. Both ways
 * in: Node paths, and a FileTree + OutputTree as a browser passes them (the portable entry's `convert`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type ConvertResult,
  convert as convertOnNode,
  ErrorCode,
  isTf2TorchError,
  NoticeCode,
} from '../../src/index.js';
import type { ByteSink, ByteSource, ConversionProgress, FileTree, OutputTree } from '../../src/portable.js';
import { blobFileTree, convert, POSIX_PATHS } from '../../src/portable.js';
import { cliText } from '../support/notices.js';
import { hiddenEntries, snapshot } from '../support/output-tree.js';
import { tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertWeights } from '../support/tiny-bert.js';

/** A tiny BERT release folder (checkpoint, bert_config.json; vocab.txt unless `vocab` is false). */
async function release(t: { after: (fn: () => void) => void }, vocab = true): Promise<string> {
  const dir = tempDir(t, 'library');
  mkdirSync(join(dir, 'ck'));
  await writeBundle(join(dir, 'ck', 'bert_model.ckpt'), tinyBertWeights(11));
  writeFileSync(join(dir, 'ck', 'bert_config.json'), JSON.stringify(TINY_BERT_CONFIG));
  if (vocab)
    writeFileSync(join(dir, 'ck', 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].join('\n')}\n`);
  return dir;
}

/** An AbortController aborted once `after` bytes have been written (stage `writing`), and the reports seen. */
function abortAfter(after: number) {
  const controller = new AbortController();
  const seen: ConversionProgress[] = [];
  const onProgress = (p: ConversionProgress) => {
    seen.push(p);
    if (p.stage === 'writing' && p.bytesDone >= after) controller.abort(new Error('stop'));
  };
  return { signal: controller.signal, onProgress, seen };
}

async function aborted(run: Promise<unknown>): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(isTf2TorchError(error), String(error));
    assert.equal(error.code, ErrorCode.ABORTED);
    assert.equal((error.cause as Error).message, 'stop');
    return true;
  });
}

test('Node paths: an abort mid-way leaves no output and no temporary; an existing output stays as it was', async (t) => {
  const dir = await release(t);
  const checkpoint = join(dir, 'ck', 'bert_model.ckpt');
  for (const output of [join(dir, 'new-hf'), join(dir, 'model.bin'), join(dir, 'model.safetensors')]) {
    const stop = abortAfter(1);
    await aborted(convertOnNode({ checkpoint, output, signal: stop.signal, onProgress: stop.onProgress }));
    assert.ok(
      stop.seen.some((p) => p.stage === 'writing' && p.bytesDone > 0),
      'aborted before writing',
    );
    assert.equal(existsSync(output), false, `${output} exists after an abort`);
  }
  assert.deepEqual(readdirSync(dir).sort(), ['ck']);

  const kept = join(dir, 'kept-hf');
  await convertOnNode({ checkpoint, output: kept, format: 'pytorch' });
  const before = snapshot(kept);
  const stop = abortAfter(1);
  await aborted(
    convertOnNode({ checkpoint, output: kept, force: true, signal: stop.signal, onProgress: stop.onProgress }),
  );
  assert.deepEqual(snapshot(kept), before);
  assert.deepEqual(hiddenEntries(kept), []);
});

test('Node paths: progress is planning, then writing with bytes rising to the total, then done', async (t) => {
  const dir = await release(t);
  const seen: ConversionProgress[] = [];
  const result: ConvertResult = await convertOnNode({
    checkpoint: join(dir, 'ck', 'bert_model.ckpt'),
    output: join(dir, 'hf'),
    format: 'both',
    onProgress: (p) => seen.push(p),
  });
  const stages = seen.map((p) => p.stage).filter((s, i, all) => s !== all[i - 1]);
  assert.deepEqual(stages, ['planning', 'writing', 'done']);
  const writing = seen.filter((p) => p.stage === 'writing');
  assert.ok(writing.length > 4);
  for (const [i, p] of writing.entries()) {
    assert.equal(p.bytesTotal, 2 * result.plan.totalBytes);
    if (i > 0) assert.ok(p.bytesDone >= (writing[i - 1] as ConversionProgress).bytesDone);
  }
  assert.deepEqual(seen.at(-1), { stage: 'done', bytesDone: result.bytesWritten, bytesTotal: result.bytesWritten });
});

/** The release as a browser's picked files (Blobs), with the opened sources counted. */
function pickedTree(dir: string): { files: FileTree; open: () => number } {
  const texts = new Map<Blob, string>();
  const picked = readdirSync(join(dir, 'ck')).map((name) => {
    const bytes = readFileSync(join(dir, 'ck', name));
    const blob = new Blob([bytes]);
    texts.set(blob, bytes.toString('latin1'));
    return { path: `/ck/${name}`, blob };
  });
  const tree = blobFileTree(picked, (blob) => texts.get(blob) ?? '');
  let open = 0;
  const files: FileTree = {
    ...tree,
    paths: tree.paths,
    stat: (p) => tree.stat(p),
    list: (d) => tree.list(d),
    readText: (p) => tree.readText(p),
    open: async (path) => {
      const source = await tree.open(path);
      open++;
      // the source itself, its close counted
      return Object.assign(Object.create(source) as ByteSource, {
        close: async () => {
          open--;
          await source.close();
        },
      });
    },
  };
  return { files, open: () => open };
}

/** An OutputTree in memory: a file appears only when its writer completed. */
function memoryOutputs(): { output: OutputTree; written: Map<string, Uint8Array> } {
  const written = new Map<string, Uint8Array>();
  const output: OutputTree = {
    paths: POSIX_PATHS,
    writeFile: async (path, write) => {
      let bytes = new Uint8Array(0);
      const sink: ByteSink = {
        write: async (chunk, position) => {
          if (position + chunk.byteLength > bytes.byteLength) {
            const grown = new Uint8Array(position + chunk.byteLength);
            grown.set(bytes);
            bytes = grown;
          }
          bytes.set(chunk, position);
        },
      };
      const result = await write(sink);
      written.set(path, bytes);
      return result;
    },
    remove: async (path) => void written.delete(path),
  };
  return { output, written };
}

test('a FileTree into an OutputTree: the command line bytes; an abort removes every file it wrote and closes the checkpoint', async (t) => {
  const dir = await release(t);
  const onNode = await convertOnNode({
    checkpoint: join(dir, 'ck', 'bert_model.ckpt'),
    output: join(dir, 'hf'),
    format: 'both',
    maxShardSize: 400,
  });
  const { files, open } = pickedTree(dir);
  const complete = memoryOutputs();
  const result = await convert({
    checkpoint: '/ck/bert_model.ckpt',
    files,
    output: complete.output,
    format: 'both',
    maxShardSize: 400,
  });
  assert.equal(open(), 0, 'a source was left open');
  assert.ok(result.files.filter((f) => f.startsWith('model-')).length >= 3, 'expected several shards');
  for (const name of result.files)
    assert.deepEqual(complete.written.get(`/${name}`), new Uint8Array(readFileSync(join(dir, 'hf', name))), name);

  const partial = memoryOutputs();
  const stop = abortAfter(result.plan.totalBytes);
  await aborted(
    convert({
      checkpoint: '/ck/bert_model.ckpt',
      files,
      output: partial.output,
      format: 'both',
      maxShardSize: 400,
      signal: stop.signal,
      onProgress: stop.onProgress,
    }),
  );
  assert.ok(
    stop.seen.some((p) => p.bytesDone >= result.plan.totalBytes),
    'aborted before a file was complete',
  );
  assert.deepEqual([...partial.written.keys()], []);
  assert.equal(open(), 0, 'a source was left open');
  assert.ok(onNode.files.includes('README.md'));

  // already aborted: refused before anything is opened
  const early = new AbortController();
  early.abort(new Error('stop'));
  await aborted(convert({ checkpoint: '/ck/bert_model.ckpt', files, output: partial.output, signal: early.signal }));
  assert.equal(open(), 0);
});

test('an abort while the checkpoint is being opened ends the planning at the next read: E_ABORTED, sources closed', async (t) => {
  const dir = await release(t);
  const { files: picked, open } = pickedTree(dir);
  const controller = new AbortController();
  let afterAbort = 0;
  const counted = (what: string) => {
    if (controller.signal.aborted) afterAbort++;
    return what;
  };
  // the index's first read (its footer) aborts once it is done; every open or read after it is counted
  const files: FileTree = {
    ...picked,
    open: async (path) => {
      counted('open');
      const source = await picked.open(path);
      const readAt = source.readAt.bind(source);
      return Object.assign(Object.create(source) as ByteSource, {
        close: () => source.close(),
        readAt: async (offset: number, length: number, what?: string) => {
          counted('read');
          const bytes = await readAt(offset, length, what);
          if (path.endsWith('.index')) controller.abort(new Error('stop'));
          return bytes;
        },
      });
    },
  };
  const progress: ConversionProgress[] = [];
  await aborted(
    convert({
      checkpoint: '/ck/bert_model.ckpt',
      files,
      output: memoryOutputs().output,
      signal: controller.signal,
      onProgress: (p) => progress.push(p),
    }),
  );
  assert.equal(afterAbort, 0, 'the checkpoint was still opened or read after the abort');
  assert.equal(open(), 0, 'a source was left open');
  assert.deepEqual(
    progress.map((p) => p.stage),
    ['planning'],
  );
});

test('notes and warnings come as data; the command line words them with its flags, the library with its options', async (t) => {
  const dir = await release(t, false);
  const { files } = pickedTree(dir);
  const result = await convert({ checkpoint: '/ck/bert_model.ckpt', files, output: memoryOutputs().output });
  const byCode = new Map(result.notices.map((n) => [n.code, n]));
  const detected = byCode.get(NoticeCode.TYPE_DETECTED);
  assert.equal(detected?.values.modelType, 'bert');
  assert.equal(detected?.values.modelClass, 'BertForPreTraining');
  assert.match(cliText(detected), /^bert checkpoint: BertForPreTraining \(detected from .*; --model_type overrides\)$/);
  assert.match(detected?.message ?? '', /; option modelType overrides\)$/);
  const config = byCode.get(NoticeCode.CONFIG_FOUND);
  assert.deepEqual(config?.values, { path: '/ck/bert_config.json' });
  assert.equal(cliText(config), 'config: /ck/bert_config.json (found beside the checkpoint; --config to use another)');
  const missing = byCode.get(NoticeCode.TOKENIZER_FILE_MISSING);
  assert.equal(missing?.level, 'warning');
  assert.deepEqual(missing?.values, { candidates: 'vocab.txt', file: 'vocab.txt' });
  assert.deepEqual(result.warnings, result.notices.filter((n) => n.level === 'warning').map(cliText));
  for (const n of result.notices) assert.doesNotMatch(n.message, /--\w/, `${n.code}: ${n.message}`);
});
