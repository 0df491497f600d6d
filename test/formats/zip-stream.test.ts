/**
 * The streamed zip (the page's download): entries written through it hold the bytes a seekable file would
 * (the torch zip's CRC patches applied inside the held region), Info-ZIP's unzip reads and checks every
 * entry, bytes leave before the writer ends, and a rewrite outside a held region is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ZipWriter } from '../../src/formats/torch/zip-writer.js';
import { zipStreamOutputs } from '../../src/formats/zip-stream.js';
import type { ByteSink } from '../../src/io/byte-sink.js';
import { seededRandom } from '../support/random.js';
import { tempDir } from '../support/temp.js';

/** A torch-style zip of three records written through `sink`. */
async function writeTorchZip(sink: ByteSink, records: readonly Uint8Array[], onRecord?: () => void): Promise<void> {
  const zip = new ZipWriter(sink);
  for (const [i, bytes] of records.entries()) {
    await zip.addBytes(`archive/data/${i}`, bytes);
    onRecord?.();
  }
  await zip.finish();
}

/** The same bytes written into a plain seekable buffer. */
async function seekable(records: readonly Uint8Array[]): Promise<Uint8Array> {
  let out = new Uint8Array(0);
  await writeTorchZip(
    {
      async write(bytes, position) {
        if (position + bytes.byteLength > out.byteLength) {
          const grown = new Uint8Array(position + bytes.byteLength);
          grown.set(out);
          out = grown;
        }
        out.set(bytes, position);
      },
    },
    records,
  );
  return out;
}

test('a torch zip and a text file through the streamed zip: unzip checks them and reads the seekable bytes', async (t) => {
  const dir = tempDir(t, 'zip-stream');
  const random = seededRandom(3);
  const records = [1000, 70_000, 5].map((n) => Uint8Array.from({ length: n }, () => (random() * 256) | 0));
  const parts: Uint8Array[] = [];
  let emitted = 0;
  const emittedAtRecord: number[] = [];
  const zip = zipStreamOutputs(
    async (bytes) => {
      parts.push(bytes.slice());
      emitted += bytes.byteLength;
    },
    { folder: 'model-hf' },
  );
  await zip.outputs.writeFile('/pytorch_model.bin', (sink) =>
    writeTorchZip(sink, records, () => emittedAtRecord.push(emitted)),
  );
  await zip.outputs.writeFile('/config.json', (sink) => sink.write(new TextEncoder().encode('{"a": 1}\n'), 0));
  await zip.finish();
  // each record leaves once its CRC is patched: the 70,000 bytes were out before the last record was written
  assert.ok((emittedAtRecord[1] as number) > 71_000, `emitted ${emittedAtRecord.join(', ')}`);
  const path = join(dir, 'out.zip');
  writeFileSync(path, Buffer.concat(parts));
  execFileSync('unzip', ['-tq', path]); // CRCs and sizes checked
  execFileSync('unzip', ['-q', path, '-d', join(dir, 'x')]);
  assert.deepEqual(readFileSync(join(dir, 'x', 'model-hf', 'pytorch_model.bin')), Buffer.from(await seekable(records)));
  assert.equal(readFileSync(join(dir, 'x', 'model-hf', 'config.json'), 'utf8'), '{"a": 1}\n');
});

test('a rewrite outside a held region is refused (it has left already)', async () => {
  const zip = zipStreamOutputs(async () => undefined);
  await assert.rejects(
    zip.outputs.writeFile('/a.bin', async (sink) => {
      await sink.write(new Uint8Array(8), 0);
      await sink.write(new Uint8Array(4), 2);
    }),
    /cannot be rewritten at 2/,
  );
});
