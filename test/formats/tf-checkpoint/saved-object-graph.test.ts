/**
 * saved_model.pb's SavedObjectGraph (tensorflow core/protobuf/saved_object_graph.proto: SavedObject children 1,
 * user_object 4, variable 7 with name 6; meta_graph.proto object_graph_def 7; saved_model.proto meta_graphs 2)
 * matched to a checkpoint's TrackableObjectGraph by node id: keys are whatever paths the checkpoint chose, the
 * order is the root's `variables` list.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../../src/errors.js';
import { parseObjectGraph } from '../../../src/formats/tf-checkpoint/object-graph.js';
import { parseSavedModelGraph, savedVariableNames } from '../../../src/formats/tf-checkpoint/saved-object-graph.js';
import { bytesField, intField, textField } from '../../support/protobuf-wire.js';
import { encodeObjectGraph, type GraphNode } from '../../support/tf2-checkpoint.js';

type Node = { children: [number, string][]; variable?: string };
function savedModel(nodes: readonly Node[]): Uint8Array {
  const encoded = nodes.map((n) =>
    bytesField(1, [
      ...n.children.flatMap(([id, name]) => bytesField(1, [...intField(1, id), ...textField(2, name)])),
      ...(n.variable === undefined
        ? bytesField(4, textField(1, '_tf_keras_layer'))
        : bytesField(7, textField(6, n.variable))),
    ]),
  );
  return Uint8Array.from([...intField(1, 1), ...bytesField(2, bytesField(7, encoded.flat()))]);
}

// SavedVariable.name is the op name (save.py: get_op_name(var.name)); the loaded var.name adds `:0`.
// a Sequential-like model: its kernel and bias first reached through the layer (keys are layer paths),
// listed by `variables` bias first, as a model may order them
const SAVED: Node[] = [
  {
    children: [
      [1, 'layer_with_weights-0'],
      [4, 'variables'],
      [5, 'signatures'],
    ],
  },
  {
    children: [
      [2, 'kernel'],
      [3, 'bias'],
    ],
  },
  { children: [], variable: 'dense/kernel' },
  { children: [], variable: 'dense/bias' },
  {
    children: [
      [3, '0'],
      [2, '1'],
    ],
  },
  { children: [] }, // a function's node: after the trackables, absent from the checkpoint
];
const CHECKPOINT: GraphNode[] = [
  {
    children: [
      { nodeId: 1, localName: 'layer_with_weights-0' },
      { nodeId: 4, localName: 'variables' },
    ],
    attributes: [],
    slotVariables: [],
  },
  {
    children: [
      { nodeId: 2, localName: 'kernel' },
      { nodeId: 3, localName: 'bias' },
    ],
    attributes: [],
    slotVariables: [],
  },
  ...['kernel', 'bias'].map((w) => ({
    children: [],
    attributes: [
      {
        name: 'VARIABLE_VALUE',
        fullName: `dense/${w}`,
        checkpointKey: `layer_with_weights-0/${w}/.ATTRIBUTES/VARIABLE_VALUE`,
      },
    ],
    slotVariables: [],
  })),
  {
    children: [
      { nodeId: 3, localName: '0' },
      { nodeId: 2, localName: '1' },
    ],
    attributes: [],
    slotVariables: [],
  },
];

const checkpoint = () => parseObjectGraph(encodeObjectGraph(CHECKPOINT), 'graph');

test('variables by node id: the checkpoint keys of their objects, var.names, in the `variables` list order', () => {
  const saved = parseSavedModelGraph(savedModel(SAVED), 'saved_model.pb');
  assert.ok(saved);
  assert.deepEqual(savedVariableNames(saved, checkpoint(), 'saved_model.pb'), [
    { key: 'layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE', name: 'dense/bias:0' },
    { key: 'layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE', name: 'dense/kernel:0' },
  ]);
});

test('no object graph (a TF1 SavedModel) or no `variables` list: nothing to read', () => {
  const tf1 = Uint8Array.from([
    ...intField(1, 1),
    ...bytesField(2, bytesField(1, bytesField(4, textField(1, 'serve')))),
  ]);
  assert.equal(parseSavedModelGraph(tf1, 'saved_model.pb'), undefined);
  const noList = parseSavedModelGraph(savedModel([{ children: [[1, 'v']] }, { children: [], variable: 'v' }]), 'p');
  assert.ok(noList);
  assert.equal(savedVariableNames(noList, checkpoint(), 'p'), undefined);
});

test('a child beyond the graph, a listed object that is no variable, or one without a value: refused', () => {
  const refused = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e) => e instanceof Tf2TorchError && e.code === ErrorCode.MALFORMED && pattern.test(e.message));
  refused(
    () => parseSavedModelGraph(savedModel([{ children: [[7, 'x']] }]), 'saved_model.pb'),
    /object 0 names child 'x' as object 7/,
  );
  const notVariable = SAVED.map((n, i) => (i === 4 ? { children: [[1, '0']] as [number, string][] } : n));
  refused(
    () => savedVariableNames(parseSavedModelGraph(savedModel(notVariable), 'p')!, checkpoint(), 'p'),
    /variables\[0\] \(object 1\) is not a variable/,
  );
  const unsaved = SAVED.map((n, i) =>
    i === 4 ? { children: [[5, '0']] as [number, string][] } : i === 5 ? { children: [], variable: 'extra' } : n,
  );
  refused(
    () => savedVariableNames(parseSavedModelGraph(savedModel(unsaved), 'p')!, checkpoint(), 'p'),
    /\('extra'\) has no value in the checkpoint/,
  );
});
