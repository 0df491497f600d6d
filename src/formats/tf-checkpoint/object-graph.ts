/**
 * The object graph of a TF2 object-based checkpoint: the `_CHECKPOINTABLE_OBJECT_GRAPH` string tensor,
 * a serialized TrackableObjectGraph (tensorflow core/protobuf/trackable_object_graph.proto), decoded by
 * hand. Node 0 is the root (the tf.train.Checkpoint); children are named edges; a node's attributes
 * name the checkpoint keys holding its values; an optimizer's slot_variables link a variable to its
 * slots. Checkpoint keys are the first path (breadth first) to each object, which is what
 * `objectPaths` rebuilds, so a key can be resolved to its object and that object's children by
 * structure (`locateKey`).
 */

import { ErrorCode, Tf2TorchError } from '../../errors.js';
import { ByteReader } from '../../io/bytes.js';
import type { TensorSource } from '../source.js';
import { protoFields } from './proto.js';

/** The largest graph read: BERT-large's with Adam slots is under 1 MB; 64 MiB is clearly not a graph. */
export const MAX_GRAPH_BYTES = 64 * 1024 * 1024;
/** Objects in one graph: a model with a million trackables is corrupt, not large. */
export const MAX_NODES = 1_000_000;
/** A child's local name or an attribute's key; longer ones are not TensorFlow's. */
export const MAX_NAME_BYTES = 64 * 1024;

/** The most lines a tree shows: a tree is for people, and deeper graphs repeat themselves. */
export const MAX_TREE_LINES = 100_000;

/** The key under which the graph is stored, as TensorFlow names it (OBJECT_GRAPH_PROTO_KEY). */
export const OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH';

export interface ObjectReference {
  readonly nodeId: number;
  readonly localName: string;
}

export interface SerializedTensor {
  /** `VARIABLE_VALUE` for a variable. */
  readonly name: string;
  /** The TF1 name of the variable (`bert/encoder/…`), when the saver knew one. */
  readonly fullName: string;
  readonly checkpointKey: string;
}

export interface SlotVariableReference {
  readonly originalVariableNodeId: number;
  readonly slotName: string;
  readonly slotVariableNodeId: number;
}

export interface TrackableObject {
  readonly children: readonly ObjectReference[];
  readonly attributes: readonly SerializedTensor[];
  readonly slotVariables: readonly SlotVariableReference[];
}

export interface ObjectGraph {
  readonly nodes: readonly TrackableObject[];
}

const text = new TextDecoder('utf-8', { fatal: false });

function name(bytes: Uint8Array, what: string, where: string, file?: string): string {
  if (bytes.byteLength > MAX_NAME_BYTES)
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${where}: ${what} of ${bytes.byteLength} bytes (at most ${MAX_NAME_BYTES})`,
      {
        file,
      },
    );
  return text.decode(bytes);
}

const int32 = (v: bigint) => Number(BigInt.asIntN(32, v));

function parseObject(bytes: Uint8Array, where: string, file?: string): TrackableObject {
  const children: ObjectReference[] = [];
  const attributes: SerializedTensor[] = [];
  const slotVariables: SlotVariableReference[] = [];
  for (const f of protoFields(bytes, where, file)) {
    if (f.wire !== 2) continue;
    if (f.field === 1) {
      let nodeId = 0;
      let localName = '';
      for (const c of protoFields(f.bytes, `${where} child`, file)) {
        if (c.field === 1 && c.wire === 0) nodeId = int32(c.int);
        else if (c.field === 2 && c.wire === 2) localName = name(c.bytes, 'child name', where, file);
      }
      children.push({ nodeId, localName });
    } else if (f.field === 2) {
      const a = { name: '', fullName: '', checkpointKey: '' };
      for (const c of protoFields(f.bytes, `${where} attribute`, file)) {
        if (c.wire !== 2) continue;
        if (c.field === 1) a.name = name(c.bytes, 'attribute name', where, file);
        else if (c.field === 2) a.fullName = name(c.bytes, 'attribute full name', where, file);
        else if (c.field === 3) a.checkpointKey = name(c.bytes, 'checkpoint key', where, file);
      }
      attributes.push(a);
    } else if (f.field === 3) {
      const s = { originalVariableNodeId: 0, slotName: '', slotVariableNodeId: 0 };
      for (const c of protoFields(f.bytes, `${where} slot variable`, file)) {
        if (c.field === 1 && c.wire === 0) s.originalVariableNodeId = int32(c.int);
        else if (c.field === 2 && c.wire === 2) s.slotName = name(c.bytes, 'slot name', where, file);
        else if (c.field === 3 && c.wire === 0) s.slotVariableNodeId = int32(c.int);
      }
      slotVariables.push(s);
    }
  }
  return { children, attributes, slotVariables };
}

/** A serialized TrackableObjectGraph; every node id it names is checked to exist. */
export function parseObjectGraph(bytes: Uint8Array, where: string, file?: string): ObjectGraph {
  if (bytes.byteLength > MAX_GRAPH_BYTES)
    throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: ${bytes.byteLength} bytes (at most ${MAX_GRAPH_BYTES})`, {
      file,
    });
  const nodes: TrackableObject[] = [];
  for (const f of protoFields(bytes, where, file)) {
    if (f.field !== 1 || f.wire !== 2) continue;
    if (nodes.length >= MAX_NODES)
      throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: more than ${MAX_NODES} objects`, { file });
    nodes.push(parseObject(f.bytes, `${where} node ${nodes.length}`, file));
  }
  if (nodes.length === 0)
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${where}: no objects (not even the root)`, { file });
  const check = (id: number, what: string, at: number) => {
    if (id < 0 || id >= nodes.length)
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: node ${at} names ${what} ${id}, the graph has ${nodes.length} objects`,
        { file },
      );
  };
  nodes.forEach((n, at) => {
    for (const c of n.children) check(c.nodeId, `child '${c.localName}' as node`, at);
    for (const s of n.slotVariables) {
      check(s.originalVariableNodeId, 'slot variable of node', at);
      check(s.slotVariableNodeId, 'slot variable node', at);
    }
  });
  return { nodes };
}

/**
 * The value of a stored scalar DT_STRING tensor: its length (varint), the 4-byte checksum of the
 * lengths, the bytes.
 */
export function scalarStringValue(stored: Uint8Array, where: string, file?: string): Uint8Array {
  const r = new ByteReader(stored, where, file);
  const length = r.varint('string length');
  r.bytesN(4, 'length checksum');
  return r.bytesN(length, 'string');
}

/**
 * Each object's path from the root as its checkpoint keys spell it: the first path found breadth first,
 * children in their recorded order; a slot variable's is `<variable>/.OPTIMIZER_SLOT/<optimizer>/<slot>`.
 * Objects reachable by no path (none in graphs TensorFlow writes) have none.
 */
export function objectPaths(graph: ObjectGraph): (string | undefined)[] {
  const paths: (string | undefined)[] = graph.nodes.map(() => undefined);
  paths[0] = '';
  const queue = [0];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    const base = paths[id]!;
    for (const c of graph.nodes[id]!.children) {
      if (paths[c.nodeId] !== undefined) continue;
      paths[c.nodeId] = base === '' ? escapeLocalName(c.localName) : `${base}/${escapeLocalName(c.localName)}`;
      queue.push(c.nodeId);
    }
  }
  graph.nodes.forEach((n, optimizer) => {
    const at = paths[optimizer];
    if (at === undefined) return;
    for (const s of n.slotVariables) {
      const variable = paths[s.originalVariableNodeId];
      if (variable === undefined || paths[s.slotVariableNodeId] !== undefined) continue;
      paths[s.slotVariableNodeId] = `${variable}/.OPTIMIZER_SLOT/${at}/${escapeLocalName(s.slotName)}`;
    }
  });
  return paths;
}

/** TensorFlow's escaping of an edge name in a key: `.` doubled, `/` as `.S` (trackable_utils). */
export function escapeLocalName(localName: string): string {
  return localName.replaceAll('.', '..').replaceAll('/', '.S');
}

/** Each reachable object's path → the names of its children, in their recorded order. */
export function childrenByPath(graph: ObjectGraph): Map<string, string[]> {
  const paths = objectPaths(graph);
  const out = new Map<string, string[]>();
  graph.nodes.forEach((n, id) => {
    const path = paths[id];
    if (path !== undefined)
      out.set(
        path,
        n.children.map((c) => c.localName),
      );
  });
  return out;
}

/** Where a checkpoint key lives in the graph: its object, the attribute, and the object's neighbourhood. */
export interface KeyLocation {
  readonly nodeId: number;
  /** The object's path (`model/layer_with_weights-4/_attention_layer/_query_dense/kernel`). */
  readonly path: string;
  /** The attribute holding the key (`VARIABLE_VALUE`). */
  readonly attribute: string;
  /** The TF1 name the saver recorded, if any. */
  readonly fullName: string;
  /** Children of the object (for a variable: none). */
  readonly children: readonly string[];
  /** When the object is an optimizer's slot: the slot's name and the variable's path. */
  readonly slotOf?: { readonly slotName: string; readonly variablePath: string };
}

/** Every checkpoint key the graph names, resolved by structure. */
export function keyLocations(graph: ObjectGraph): Map<string, KeyLocation> {
  const paths = objectPaths(graph);
  const slots = new Map<number, { slotName: string; variablePath: string }>();
  for (const n of graph.nodes)
    for (const s of n.slotVariables) {
      const variablePath = paths[s.originalVariableNodeId];
      if (variablePath !== undefined) slots.set(s.slotVariableNodeId, { slotName: s.slotName, variablePath });
    }
  const out = new Map<string, KeyLocation>();
  graph.nodes.forEach((n, nodeId) => {
    const path = paths[nodeId];
    if (path === undefined) return;
    for (const a of n.attributes) {
      const slotOf = slots.get(nodeId);
      out.set(a.checkpointKey, {
        nodeId,
        path,
        attribute: a.name,
        fullName: a.fullName,
        children: n.children.map((c) => c.localName),
        ...(slotOf === undefined ? {} : { slotOf }),
      });
    }
  });
  return out;
}

/** A checkpoint key's object path and that object's children, or undefined for keys the graph does not name. */
export function locateKey(graph: ObjectGraph, key: string): KeyLocation | undefined {
  return keyLocations(graph).get(key);
}

/** One line of the object tree as `inspect` shows it. */
export interface ObjectTreeLine {
  readonly depth: number;
  /** The edge name from the parent (the root: ''). */
  readonly name: string;
  readonly nodeId: number;
  /** Attribute name → checkpoint key. */
  readonly attributes: readonly { readonly name: string; readonly checkpointKey: string }[];
  /** Slots of this variable: slot name → the slot object's id. */
  readonly slots: readonly { readonly slotName: string; readonly nodeId: number }[];
  /** Set when this object was already shown under another path (shared objects, cycles). */
  readonly seenAt?: string;
}

/** The graph as a tree (depth first, children in order); an object reached again is shown once, then referred to. */
export function objectTree(graph: ObjectGraph): ObjectTreeLine[] {
  const paths = objectPaths(graph);
  const slotsOf = new Map<number, { slotName: string; nodeId: number }[]>();
  for (const n of graph.nodes)
    for (const s of n.slotVariables) {
      const list = slotsOf.get(s.originalVariableNodeId) ?? [];
      list.push({ slotName: s.slotName, nodeId: s.slotVariableNodeId });
      slotsOf.set(s.originalVariableNodeId, list);
    }
  const lines: ObjectTreeLine[] = [];
  const shown = new Set<number>();
  const stack: { depth: number; name: string; nodeId: number }[] = [{ depth: 0, name: '', nodeId: 0 }];
  while (stack.length > 0 && lines.length < MAX_TREE_LINES) {
    const { depth, name: edge, nodeId } = stack.pop()!;
    const node = graph.nodes[nodeId]!;
    if (shown.has(nodeId)) {
      lines.push({ depth, name: edge, nodeId, attributes: [], slots: [], seenAt: paths[nodeId] ?? '' });
      continue;
    }
    shown.add(nodeId);
    lines.push({
      depth,
      name: edge,
      nodeId,
      attributes: node.attributes.map((a) => ({ name: a.name, checkpointKey: a.checkpointKey })),
      slots: slotsOf.get(nodeId) ?? [],
    });
    for (let i = node.children.length - 1; i >= 0; i--) {
      const c = node.children[i]!;
      stack.push({ depth: depth + 1, name: c.localName, nodeId: c.nodeId });
    }
  }
  return lines;
}

const ATTRIBUTE_KEY = /^(.*)\/\.ATTRIBUTES\/([^/]+)$/;
const SLOT_MARK = '/.OPTIMIZER_SLOT/';

/**
 * The graph as the keys alone imply it, for a checkpoint whose graph cannot be read (an index without
 * its data): every path segment an object, `.ATTRIBUTES/<name>` its attribute, and
 * `<variable>/.OPTIMIZER_SLOT/<optimizer>/<slot>` a slot of the variable recorded on the optimizer.
 * Keys of no object (TF1 names) hang from the root as attributes of their own name.
 */
export function graphFromKeys(keys: readonly string[]): ObjectGraph {
  type Mutable = {
    children: ObjectReference[];
    attributes: SerializedTensor[];
    slotVariables: SlotVariableReference[];
  };
  const nodes: Mutable[] = [{ children: [], attributes: [], slotVariables: [] }];
  const byPath = new Map<string, number>([['', 0]]);
  const nodeAt = (path: string): number => {
    const known = byPath.get(path);
    if (known !== undefined) return known;
    const cut = path.lastIndexOf('/');
    const parent = nodeAt(cut < 0 ? '' : path.slice(0, cut));
    if (nodes.length >= MAX_NODES) throw new Tf2TorchError(ErrorCode.LIMIT, `more than ${MAX_NODES} objects`);
    const id = nodes.push({ children: [], attributes: [], slotVariables: [] }) - 1;
    nodes[parent]!.children.push({ nodeId: id, localName: path.slice(cut + 1) });
    byPath.set(path, id);
    return id;
  };
  for (const key of keys) {
    if (key === OBJECT_GRAPH_KEY) continue;
    const m = ATTRIBUTE_KEY.exec(key);
    if (m === null) {
      nodes[0]!.attributes.push({ name: key, fullName: '', checkpointKey: key });
      continue;
    }
    const [, path, attribute] = m as unknown as [string, string, string];
    const slotAt = path.indexOf(SLOT_MARK);
    if (slotAt < 0) {
      nodes[nodeAt(path)]!.attributes.push({ name: attribute, fullName: '', checkpointKey: key });
      continue;
    }
    // the slot's object: its own id, not a child of anything; linked from the optimizer
    const rest = path.slice(slotAt + SLOT_MARK.length);
    const cut = rest.lastIndexOf('/');
    const optimizer = nodeAt(cut < 0 ? '' : rest.slice(0, cut));
    const slot =
      nodes.push({
        children: [],
        attributes: [{ name: attribute, fullName: '', checkpointKey: key }],
        slotVariables: [],
      }) - 1;
    nodes[optimizer]!.slotVariables.push({
      originalVariableNodeId: nodeAt(path.slice(0, slotAt)),
      slotName: rest.slice(cut + 1),
      slotVariableNodeId: slot,
    });
  }
  return { nodes };
}

/** Where a checkpoint's object graph came from: its own proto, or its keys (the proto unreadable or absent). */
export interface LoadedObjectGraph {
  readonly graph: ObjectGraph;
  readonly from: 'proto' | 'keys';
  /** Why the proto was not used, when `from` is 'keys'. */
  readonly why?: string;
}

/**
 * The object graph of an object-based checkpoint: the stored proto, or, when its bytes cannot be read
 * (an index without its data file), the graph its keys imply. A malformed proto is an error.
 */
export async function readObjectGraph(source: TensorSource): Promise<LoadedObjectGraph> {
  const keys = source.tensors.map((t) => t.name);
  const stored = source.tensors.find((t) => t.name === OBJECT_GRAPH_KEY);
  if (stored === undefined) return { graph: graphFromKeys(keys), from: 'keys', why: `no ${OBJECT_GRAPH_KEY}` };
  const where = `${source.path}: ${OBJECT_GRAPH_KEY}`;
  if (stored.dtype !== 'string' || stored.shape.length !== 0)
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${where} is ${stored.dtype} [${stored.shape.join(', ')}], not a string scalar`,
      {
        file: source.path,
        tensor: OBJECT_GRAPH_KEY,
      },
    );
  if (stored.byteLength > MAX_GRAPH_BYTES + 16)
    throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: ${stored.byteLength} bytes (at most ${MAX_GRAPH_BYTES})`, {
      file: source.path,
      tensor: OBJECT_GRAPH_KEY,
    });
  let bytes: Uint8Array;
  try {
    bytes = await stored.read();
  } catch (error) {
    if (!(error instanceof Tf2TorchError) || error.code !== ErrorCode.MISSING_SHARD) throw error;
    return { graph: graphFromKeys(keys), from: 'keys', why: 'its data file is missing' };
  }
  return { graph: parseObjectGraph(scalarStringValue(bytes, where, source.path), where, source.path), from: 'proto' };
}
