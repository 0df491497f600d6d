/**
 * The File System Access OutputTree over a folder double (the structural handle it is typed against): a
 * file appears only when its write completed; a failed or aborted write leaves no new file and keeps an
 * existing one as it was.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DirectoryHandleLike, folderOutputs } from '../../src/io/browser-outputs.js';

/** A folder as File System Access keeps it: writes go to a swap copy, committed on close. */
function folder(): { handle: DirectoryHandleLike; files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  const handle: DirectoryHandleLike = {
    async getFileHandle(name, { create }) {
      if (!files.has(name)) {
        if (!create) throw new DOMException('not found', 'NotFoundError');
        files.set(name, new Uint8Array(0)); // created empty at once, as browsers do
      }
      return {
        async createWritable() {
          let swap = new Uint8Array(0);
          return {
            async write({ position, data }) {
              const grown = new Uint8Array(Math.max(swap.byteLength, position + data.byteLength));
              grown.set(swap);
              grown.set(data, position);
              swap = grown;
            },
            async close() {
              files.set(name, swap);
            },
            async abort() {},
          };
        },
      };
    },
    async removeEntry(name) {
      files.delete(name);
    },
  };
  return { handle, files };
}

test('a complete write appears; a failed one leaves no new file and keeps an existing one', async () => {
  const { handle, files } = folder();
  const out = folderOutputs(handle);
  await out.writeFile('/config.json', (sink) => sink.write(new Uint8Array([1, 2, 3]), 0));
  assert.deepEqual(files.get('config.json'), new Uint8Array([1, 2, 3]));
  const fail = (path: string) =>
    assert.rejects(
      out.writeFile(path, async (sink) => {
        await sink.write(new Uint8Array([9]), 0);
        throw new Error('disk full');
      }),
      /disk full/,
    );
  await fail('/model.safetensors');
  assert.equal(files.has('model.safetensors'), false);
  await fail('/config.json');
  assert.deepEqual(files.get('config.json'), new Uint8Array([1, 2, 3]));
});

test('an aborted signal stops the write at its next bytes, leaving no file', async () => {
  const { handle, files } = folder();
  const controller = new AbortController();
  const out = folderOutputs(handle, controller.signal);
  await assert.rejects(
    out.writeFile('/model.safetensors', async (sink) => {
      await sink.write(new Uint8Array(4), 0);
      controller.abort();
      await sink.write(new Uint8Array(4), 4);
    }),
    { name: 'AbortError' },
  );
  assert.equal(files.size, 0);
});
