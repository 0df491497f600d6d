/**
 * A TF2 SavedModel's variable names, as `tf.saved_model.load(path).variables` lists them. The names
 * (`var.name`: `transformer_scaffold_3/big_bird_attention/query/kernel:0`) live only in saved_model.pb:
 * SavedModel.meta_graphs (2) → MetaGraphDef.object_graph_def (7), a SavedObjectGraph whose nodes (1) are
 * SavedObjects with children (1, ObjectReference: node_id 1, local_name 2) and, for a variable, a
 * SavedVariable (7) with its name (6) (tensorflow core/protobuf/saved_model.proto, meta_graph.proto,
 * saved_object_graph.proto). Only those fields are read; nothing in the graph is executed.
 *
 * The weights are in variables/, whose TrackableObjectGraph shares the node ids: tensorflow's
 * saved_model/save.py builds both from one augmented graph view (`_SaveableView` and
 * `TrackableSaver(augmented_graph_view)` number objects by the same breadth-first traversal,
 * checkpoint/util.py `objects_ids_and_slot_variables_and_paths`); the SavedObjectGraph only appends
 * function nodes after them. The order is the root's `variables` list (a Keras model saves its
 * `model.variables` there; a tf.Module's restored `.variables` is that list too). SavedVariable.name is
 * the op name (save.py writes `get_op_name(var.name)`, refusing any suffix but `:0`); the loader recreates
 * the variable under it, so the `var.name` a loaded model shows is that name + `:0`.
 */

import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { SavedVariableName } from '../source.js';
import { keyLocations, MAX_NAME_BYTES, MAX_NODES, type ObjectGraph, type ObjectReference } from './object-graph.js';
import { protoFields } from './proto.js';

/** The largest saved_model.pb read: its functions make it larger than the object graph; 512 MiB is not a model's graph. */
export const MAX_SAVED_MODEL_BYTES = 512 * 1024 * 1024;
/** The root's child holding the variables in the order `.variables` returns them. */
const VARIABLES_LIST = 'variables';

export interface SavedNode {
  readonly children: readonly ObjectReference[];
  /** SavedVariable.name, for a variable node. */
  readonly variableName?: string;
}

export interface SavedObjectGraph {
  readonly nodes: readonly SavedNode[];
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

function parseNode(bytes: Uint8Array, where: string, file?: string): SavedNode {
  const children: ObjectReference[] = [];
  let variableName: string | undefined;
  for (const f of protoFields(bytes, where, file)) {
    if (f.wire !== 2) continue;
    if (f.field === 1) {
      let nodeId = 0;
      let localName = '';
      for (const c of protoFields(f.bytes, `${where} child`, file)) {
        if (c.field === 1 && c.wire === 0) nodeId = Number(BigInt.asIntN(32, c.int));
        else if (c.field === 2 && c.wire === 2) localName = name(c.bytes, 'child name', where, file);
      }
      children.push({ nodeId, localName });
    } else if (f.field === 7) {
      variableName = '';
      for (const v of protoFields(f.bytes, `${where} variable`, file))
        if (v.field === 6 && v.wire === 2) variableName = name(v.bytes, 'variable name', where, file);
    }
  }
  return variableName === undefined ? { children } : { children, variableName };
}

/**
 * The SavedObjectGraph of a serialized SavedModel (its first MetaGraphDef, as tensorflow's loader takes),
 * or undefined when it has none (a TF1 SavedModel).
 */
export function parseSavedModelGraph(bytes: Uint8Array, where: string, file?: string): SavedObjectGraph | undefined {
  if (bytes.byteLength > MAX_SAVED_MODEL_BYTES)
    throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: ${bytes.byteLength} bytes (at most ${MAX_SAVED_MODEL_BYTES})`, {
      file,
    });
  let metaGraph: Uint8Array | undefined;
  for (const f of protoFields(bytes, where, file))
    if (f.field === 2 && f.wire === 2) {
      metaGraph = f.bytes;
      break;
    }
  if (metaGraph === undefined) return undefined;
  let objectGraph: Uint8Array | undefined;
  for (const f of protoFields(metaGraph, `${where} meta graph`, file))
    if (f.field === 7 && f.wire === 2) objectGraph = f.bytes;
  if (objectGraph === undefined) return undefined;
  const nodes: SavedNode[] = [];
  for (const f of protoFields(objectGraph, `${where} object graph`, file)) {
    if (f.field !== 1 || f.wire !== 2) continue;
    if (nodes.length >= MAX_NODES)
      throw new Tf2TorchError(ErrorCode.LIMIT, `${where}: more than ${MAX_NODES} objects`, { file });
    nodes.push(parseNode(f.bytes, `${where} object ${nodes.length}`, file));
  }
  nodes.forEach((n, at) => {
    for (const c of n.children)
      if (c.nodeId < 0 || c.nodeId >= nodes.length)
        throw new Tf2TorchError(
          ErrorCode.MALFORMED,
          `${where}: object ${at} names child '${c.localName}' as object ${c.nodeId}, the graph has ${nodes.length}`,
          { file },
        );
  });
  return nodes.length === 0 ? undefined : { nodes };
}

/**
 * The variables in the order `.variables` lists them, each with its checkpoint key and `var.name`; undefined
 * when the root keeps no `variables` list. A listed object that is no variable, or one the checkpoint holds
 * no value for, means graph and variables/ do not belong together: an error.
 */
export function savedVariableNames(
  saved: SavedObjectGraph,
  checkpoint: ObjectGraph,
  where: string,
  file?: string,
): SavedVariableName[] | undefined {
  const list = saved.nodes[0]?.children.find((c) => c.localName === VARIABLES_LIST);
  if (list === undefined) return undefined;
  const keyOf = new Map<number, string>();
  for (const [key, at] of keyLocations(checkpoint))
    if (at.attribute === 'VARIABLE_VALUE' && at.slotOf === undefined) keyOf.set(at.nodeId, key);
  const entries = saved.nodes[list.nodeId]!.children;
  return entries.map((entry, i) => {
    const refuse = (why: string) =>
      new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${where}: variables[${i}] (object ${entry.nodeId}) ${why}: saved_model.pb and variables/ do not belong together`,
        { file },
      );
    if (entry.localName !== String(i)) throw refuse(`is listed as '${entry.localName}'`);
    const variableName = saved.nodes[entry.nodeId]!.variableName;
    if (variableName === undefined) throw refuse('is not a variable');
    const key = keyOf.get(entry.nodeId);
    if (key === undefined) throw refuse(`('${variableName}') has no value in the checkpoint`);
    return { key, name: `${variableName}:0` };
  });
}
