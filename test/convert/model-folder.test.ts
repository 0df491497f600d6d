/**
 * One decision of what a Hugging Face folder gets: the command line's staged folder (Node) and
 * `writeModelFolder` (the page's, into any OutputTree) write the same files, in the same order, with
 * the same bytes, but the model card: the command line's folder ends with its README.md (it records the
 * command and the inputs' digests, which the page does not have).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { convert } from '../../src/convert/index.js';
import type { OutputTree } from '../../src/io/byte-sink.js';
import { defaultFiles, defaultOutputs } from '../../src/io/node-platform.js';
import { openAndPlan, planToStateDict, writeModelFolder } from '../../src/portable.js';
import { realFixture } from '../support/fixtures.js';
import { snapshot } from '../support/output-tree.js';
import { tempDir } from '../support/temp.js';

for (const fixture of ['gpt2-toy-keras-gpt-2', 'bert-tiny-keras-bert']) {
  test(`${fixture}: the Node folder and writeModelFolder write the same files in the same order`, async (t) => {
    const checkpoint = realFixture(t, fixture);
    if (!checkpoint) return;
    const dir = tempDir(t, 'model-folder');
    const node = await convert({ checkpoint, output: `${join(dir, 'node')}/`, format: 'safetensors' });

    mkdirSync(join(dir, 'portable'));
    const order: string[] = [];
    const recording: OutputTree = {
      ...defaultOutputs,
      writeFile: (path, write) => {
        order.push(path.slice(join(dir, 'portable').length + 1));
        return defaultOutputs.writeFile(path, write);
      },
    };
    const { source, reads: _, ...planned } = await openAndPlan({ checkpoint, files: defaultFiles });
    try {
      const written = await writeModelFolder(
        planned,
        planToStateDict(planned.plan, source.tensors),
        defaultFiles,
        recording,
        join(dir, 'portable'),
        { format: 'safetensors', maxShardSize: Number.MAX_SAFE_INTEGER },
      );
      assert.deepEqual(written.files, order, 'the names returned are those written, in order');
    } finally {
      await source.close();
    }
    assert.ok(node.files.includes('config.json') && node.files.length >= 3, node.files.join(', '));
    assert.equal(node.files.at(-1), 'README.md', 'the model card last');
    assert.deepEqual(order, node.files.slice(0, -1));
    const { 'README.md': _card, ...nodeFiles } = snapshot(join(dir, 'node'));
    assert.deepEqual(snapshot(join(dir, 'portable')), nodeFiles);
  });
}
