/**
 * TF2 object-based checkpoints as `tf.train.Checkpoint(model=…, optimizer=…).save()` leaves them: each
 * variable under its object path + `/.ATTRIBUTES/VARIABLE_VALUE`, Adam's `m`/`v` slots under
 * `<path>/.OPTIMIZER_SLOT/optimizer/<slot>/…` (recorded in the optimizer's slot_variables), the
 * optimizer's `iter` and hyperparameters, `save_counter` (and `global_step` where the trainer adds it), and a real `_CHECKPOINTABLE_OBJECT_GRAPH`
 * (TrackableObjectGraph, tensorflow core/protobuf/trackable_object_graph.proto) encoded here
 * independently of the decoder. Extra edges (`aliases`) point at objects already named elsewhere, as
 * Keras functional models' `layer-N` edges do beside `layer_with_weights-M`.
 */

import { bytesField, intField, textField } from './protobuf-wire.js';
import { seededRandom } from './random.js';
import type { RawTensor } from './reference-transforms.js';
import { type BundleTensor, encodeStringTensor, randomTensorBytes, writeBundle } from './tf-bundle-writer.js';

export interface GraphNode {
  children: { nodeId: number; localName: string }[];
  attributes: { name: string; fullName: string; checkpointKey: string }[];
  slotVariables: { original: number; slotName: string; slot: number }[];
}

/** TrackableObjectGraph bytes: nodes = 1; children = 1 {node_id = 1, local_name = 2}; attributes = 2 {name, full_name, checkpoint_key}; slot_variables = 3 {original, slot_name, slot}. */
export function encodeObjectGraph(nodes: readonly GraphNode[]): Uint8Array {
  const out: number[] = [];
  for (const n of nodes) {
    const node: number[] = [];
    for (const c of n.children) node.push(...bytesField(1, [...intField(1, c.nodeId), ...textField(2, c.localName)]));
    for (const a of n.attributes)
      node.push(
        ...bytesField(2, [...textField(1, a.name), ...textField(2, a.fullName), ...textField(3, a.checkpointKey)]),
      );
    for (const s of n.slotVariables)
      node.push(...bytesField(3, [...intField(1, s.original), ...textField(2, s.slotName), ...intField(3, s.slot)]));
    out.push(...bytesField(1, node));
  }
  return Uint8Array.from(out);
}

const VALUE = '.ATTRIBUTES/VARIABLE_VALUE';

export interface Tf2Checkpoint {
  /** Object path (no suffix) → its values. */
  readonly weights: Map<string, RawTensor>;
  readonly nodes: GraphNode[];
  readonly keys: string[];
}

/**
 * Writes the checkpoint at `prefix`. `variables` are object paths under the root (`model/…`), in the
 * order the model tracks them; `aliases` are [path of an edge, path of the object it names].
 */
export async function writeTf2Checkpoint(
  prefix: string,
  variables: readonly (readonly [path: string, shape: readonly number[]])[],
  {
    seed = 1,
    slots = ['m', 'v'],
    aliases = [] as readonly (readonly [string, string])[],
    /** Non-trainable variables: the optimizer makes no slots for them. */
    frozen = [] as readonly string[],
    /** official/core's trainers checkpoint their `global_step` beside the model (`tf.train.Checkpoint(global_step=…)`). */
    globalStep = false,
  } = {},
): Promise<Tf2Checkpoint> {
  const random = seededRandom(seed);
  const nodes: GraphNode[] = [{ children: [], attributes: [], slotVariables: [] }];
  const byPath = new Map<string, number>([['', 0]]);
  const node = (path: string): number => {
    const known = byPath.get(path);
    if (known !== undefined) return known;
    const cut = path.lastIndexOf('/');
    const parent = node(cut < 0 ? '' : path.slice(0, cut));
    const id = nodes.push({ children: [], attributes: [], slotVariables: [] }) - 1;
    nodes[parent]!.children.push({ nodeId: id, localName: path.slice(cut + 1) });
    byPath.set(path, id);
    return id;
  };
  const tensors: BundleTensor[] = [];
  const weights = new Map<string, RawTensor>();
  const variable = (path: string, t: Omit<BundleTensor, 'name'>, id = node(path)) => {
    const key = `${path}/${VALUE}`;
    nodes[id]!.attributes.push({ name: 'VARIABLE_VALUE', fullName: path, checkpointKey: key });
    tensors.push({ ...t, name: key });
  };
  const float = (shape: readonly number[]) => ({
    dtype: 'float32' as const,
    shape: [...shape],
    bytes: randomTensorBytes(
      'float32',
      shape.reduce((a, b) => a * b, 1),
      random,
    ),
  });
  for (const [path, shape] of variables) {
    const t = float(shape);
    weights.set(path, { dtype: 'float32', shape: [...shape], bytes: t.bytes });
    variable(path, t);
  }
  for (const [edge, target] of aliases) {
    const cut = edge.lastIndexOf('/');
    nodes[node(cut < 0 ? '' : edge.slice(0, cut))]!.children.push({
      nodeId: node(target),
      localName: edge.slice(cut + 1),
    });
  }
  const optimizer = node('optimizer');
  const step = new Uint8Array(8);
  new DataView(step.buffer).setBigInt64(0, 1000n, true);
  variable('optimizer/iter', { dtype: 'int64', shape: [], bytes: step });
  for (const h of ['beta_1', 'beta_2', 'decay', 'learning_rate']) variable(`optimizer/${h}`, float([]));
  for (const [path, shape] of variables.filter(([p]) => !frozen.includes(p)))
    for (const slotName of slots) {
      const slot = nodes.push({ children: [], attributes: [], slotVariables: [] }) - 1;
      variable(`${path}/.OPTIMIZER_SLOT/optimizer/${slotName}`, float(shape), slot);
      nodes[optimizer]!.slotVariables.push({ original: node(path), slotName, slot });
    }
  if (globalStep) variable('global_step', { dtype: 'int64', shape: [], bytes: step });
  const counter = new Uint8Array(8);
  new DataView(counter.buffer).setBigInt64(0, 3n, true);
  variable('save_counter', { dtype: 'int64', shape: [], bytes: counter });
  const graph = encodeObjectGraph(nodes);
  tensors.push({
    name: '_CHECKPOINTABLE_OBJECT_GRAPH',
    dtype: 'string',
    shape: [],
    bytes: encodeStringTensor([graph]),
  });
  await writeBundle(prefix, tensors);
  return { weights, nodes, keys: tensors.map((t) => t.name) };
}
