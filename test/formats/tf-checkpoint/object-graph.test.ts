import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../../src/errors.js';
import { openTensorSource } from '../../../src/formats/open.js';
import {
  keyLocations,
  locateKey,
  MAX_GRAPH_BYTES,
  objectTree,
  parseObjectGraph,
  readObjectGraph,
} from '../../../src/formats/tf-checkpoint/object-graph.js';
import { trainerStateOf } from '../../../src/formats/trainer-state.js';
import { runCli, runCliJson } from '../../support/cli.js';
import { realFixture } from '../../support/fixtures.js';
import { tempDir } from '../../support/temp.js';
import { encodeObjectGraph, writeTf2Checkpoint } from '../../support/tf2-checkpoint.js';

const SMALL_MODEL = [
  ['model/layer_with_weights-0/embeddings', [5, 2]],
  ['model/layer_with_weights-1/kernel', [2, 2]],
  ['model/layer_with_weights-1/bias', [2]],
] as const;

test('the stored object graph resolves every key to its object path, its children and its slots', async (t) => {
  const prefix = join(tempDir(t, 'objgraph'), 'ckpt-1');
  const written = await writeTf2Checkpoint(prefix, SMALL_MODEL, {
    aliases: [['model/layer-2', 'model/layer_with_weights-1']],
  });
  const source = await openTensorSource(prefix, {});
  try {
    const loaded = await readObjectGraph(source);
    assert.equal(loaded.from, 'proto');
    assert.equal(loaded.graph.nodes.length, written.nodes.length);
    const located = keyLocations(loaded.graph);
    for (const key of written.keys.filter((k) => k !== '_CHECKPOINTABLE_OBJECT_GRAPH'))
      assert.equal(located.get(key)?.path, key.replace('/.ATTRIBUTES/VARIABLE_VALUE', ''), key);
    const dense = locateKey(loaded.graph, 'model/layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE');
    assert.equal(dense?.attribute, 'VARIABLE_VALUE');
    assert.deepEqual(dense?.children, []);
    const slot = locateKey(
      loaded.graph,
      'model/layer_with_weights-1/kernel/.OPTIMIZER_SLOT/optimizer/v/.ATTRIBUTES/VARIABLE_VALUE',
    );
    assert.deepEqual(slot?.slotOf, { slotName: 'v', variablePath: 'model/layer_with_weights-1/kernel' });
    // the layer's object, reached again by its `layer-2` edge, is shown once and then referred to
    const tree = objectTree(loaded.graph);
    const again = tree.find((l) => l.name === 'layer-2');
    assert.equal(again?.seenAt, 'model/layer_with_weights-1');
    const at = tree.findIndex((l) => l.name === 'model');
    const end = tree.findIndex((l, i) => i > at && l.depth <= 1);
    assert.deepEqual(
      tree
        .slice(at + 1, end)
        .filter((l) => l.depth === 2)
        .map((l) => l.name),
      ['layer_with_weights-0', 'layer_with_weights-1', 'layer-2'],
    );
  } finally {
    await source.close();
  }
});

test('an object graph naming an object it lacks, or too large, is refused with a code', () => {
  const bad = encodeObjectGraph([{ children: [{ nodeId: 7, localName: 'model' }], attributes: [], slotVariables: [] }]);
  assert.throws(
    () => parseObjectGraph(bad, 'graph'),
    (e: unknown) =>
      e instanceof Tf2TorchError && e.code === ErrorCode.MALFORMED && /child 'model' as node 7/.test(e.message),
  );
  const slot = encodeObjectGraph([
    { children: [], attributes: [], slotVariables: [{ original: 0, slotName: 'm', slot: 3 }] },
  ]);
  assert.throws(() => parseObjectGraph(slot, 'graph'), /slot variable node 3/);
  assert.throws(
    () => parseObjectGraph(new Uint8Array(MAX_GRAPH_BYTES + 1), 'graph'),
    (e: unknown) => e instanceof Tf2TorchError && e.code === ErrorCode.LIMIT,
  );
});

test('TF2 slots, optimizer state and the save counter are trainer state, the slot named', () => {
  assert.deepEqual(trainerStateOf('model/x/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE'), {
    kind: 'optimizer',
    reason: 'optimizer slot: m of optimizer (TF2 .OPTIMIZER_SLOT)',
  });
  assert.equal(trainerStateOf('optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE')?.kind, 'bookkeeping');
  assert.equal(trainerStateOf('save_counter/.ATTRIBUTES/VARIABLE_VALUE')?.kind, 'bookkeeping');
});

test('inspect shows the object tree of a TF2 SavedModel variables bundle from its stored graph', (t) => {
  const dir = realFixture(t, 'tf2-savedmodel-objgraph-variables');
  if (!dir) return;
  const text = runCli(['inspect', join(dir, 'variables')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^object tree \(\d+ objects, _CHECKPOINTABLE_OBJECT_GRAPH\):$/m);
  assert.match(text.stdout, /^ {4}a = a\/\.ATTRIBUTES\/VARIABLE_VALUE$/m);
  assert.match(text.stdout, /^ {4}signatures$/m);
  const j = runCliJson(['inspect', join(dir, 'variables'), '--json']);
  assert.equal(j.objectGraph.from, 'proto');
  const names = j.objectGraph.tree.filter((l: { depth: number }) => l.depth === 1).map((l: { name: string }) => l.name);
  assert.deepEqual(names.slice(0, 3), ['a', 'b', 'c']);
  assert.deepEqual(j.objectGraph.tree[1].attributes, [
    { name: 'VARIABLE_VALUE', checkpointKey: 'a/.ATTRIBUTES/VARIABLE_VALUE' },
  ]);
});

test('inspect shows the object tree of an index-only Keras BERT checkpoint, rebuilt from its keys', (t) => {
  const dir = realFixture(t, 'tf2-keras-bert-objgraph-indexonly');
  if (!dir) return;
  const j = runCliJson(['inspect', join(dir, 'bert_model.ckpt'), '--json']);
  assert.equal(j.objectGraph.from, 'keys');
  assert.match(j.objectGraph.why, /data file is missing/);
  const top = j.objectGraph.tree.filter((l: { depth: number }) => l.depth === 1).map((l: { name: string }) => l.name);
  assert.deepEqual(top, ['layer_with_weights-0', 'optimizer', 'layer_with_weights-1', 'layer_with_weights-2']);
  const kernel = j.objectGraph.tree.find(
    (l: { attributes: { checkpointKey: string }[] }) =>
      l.attributes[0]?.checkpointKey === 'layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE',
  );
  assert.deepEqual(
    kernel.slots.map((s: { slotName: string }) => s.slotName),
    ['m', 'v'],
  );
  const text = runCli(['inspect', join(dir, 'bert_model.ckpt')]);
  assert.match(text.stdout, /^object tree \(\d+ objects, rebuilt from the keys: /m);
  assert.match(
    text.stdout,
    /^ {6}kernel = layer_with_weights-1\/kernel\/\.ATTRIBUTES\/VARIABLE_VALUE {2}\(slots: m, v\)$/m,
  );
});
