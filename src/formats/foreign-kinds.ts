/**
 * Inputs of a kind tf2torch does not convert, recognised by their bytes so that the advice fits: a
 * Keras HDF5 file, an ONNX model, a GGUF file, a TensorFlow frozen graph or a SavedModel's graph file.
 * (PyTorch weights are read by their own openers; `alreadyPyTorch` tells when such a source needs no
 * conversion.) Only a few bytes are read: magic numbers, and the field headers of a protobuf's top-level
 * message, each field skipped by its length.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { ByteSource, FileTree } from '../io/byte-source.js';
import type { TensorRef } from '../tensor.js';
import { StorageTensor } from './torch/storage-tensor.js';

/** HDF5's signature is at 0 or after a user block of 512, 1024, 2048, … bytes. */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const HDF5_OFFSETS = [0, 512, 1024, 2048, 4096];
const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46];
/** Top-level protobuf fields looked at: enough to tell the three messages apart. */
const MAX_PROTO_FIELDS = 32;
/** A varint is at most 10 bytes; a field header (tag + length) at most 20. */
const FIELD_HEADER_BYTES = 20;

export type ForeignKind = 'keras-hdf5' | 'gguf' | 'onnx' | 'tf-graph-def' | 'tf-saved-model-pb';

const ADVICE: Record<ForeignKind, { code: ErrorCode; what: string; advice: string }> = {
  'keras-hdf5': {
    code: ErrorCode.KERAS_HDF5,
    what: 'a Keras HDF5 file (model.save / save_weights in .h5 format)',
    advice:
      'tf2torch reads TensorFlow checkpoints: in TensorFlow, `model.save_weights("ckpt/model")` writes one. A Hugging Face tf_model.h5 loads in PyTorch with `AutoModel.from_pretrained(folder, from_tf=True)` (needs TensorFlow)',
  },
  gguf: {
    code: ErrorCode.GGUF,
    what: "a GGUF file (llama.cpp's inference format)",
    advice:
      'it was made from a converted model, not an original checkpoint: convert the original checkpoint instead, or load it with a GGUF-aware loader (transformers ≥ 4.41: `from_pretrained(folder, gguf_file=...)` for the architectures it supports)',
  },
  onnx: {
    code: ErrorCode.ONNX,
    what: 'an ONNX model',
    advice:
      'its weights are graph initializers without the names the original code gives them: convert the original checkpoint instead (onnx2torch and similar tools rebuild a PyTorch module from the graph)',
  },
  'tf-graph-def': {
    code: ErrorCode.FROZEN_GRAPH,
    what: 'a TensorFlow GraphDef (a frozen graph .pb: weights folded into constants)',
    advice:
      'tf2torch converts checkpoints: give the checkpoint the graph was frozen from (model.ckpt.index and model.ckpt.data-*)',
  },
  'tf-saved-model-pb': {
    code: ErrorCode.SAVED_MODEL_GRAPH,
    what: "a TensorFlow SavedModel's graph file",
    advice:
      'give the SavedModel folder instead (the one holding saved_model.pb and variables/): its variables/ bundle is the checkpoint',
  },
};

function startsWith(bytes: Uint8Array, at: number, magic: readonly number[]): boolean {
  return magic.every((b, i) => bytes[at + i] === b);
}

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (b < 0x80) return { value, next: i + 1 };
  }
  return undefined;
}

interface ProtoField {
  readonly number: number;
  readonly wireType: number;
  /** Where the field's payload starts (after tag and length). */
  readonly start: number;
}

/** The top-level fields of a protobuf message filling the whole source, or undefined where it is not one. */
async function protoFields(source: ByteSource): Promise<ProtoField[] | undefined> {
  const fields: ProtoField[] = [];
  let at = 0;
  while (at < source.size && fields.length < MAX_PROTO_FIELDS) {
    const header = await source.readAt(at, Math.min(FIELD_HEADER_BYTES, source.size - at));
    const tag = readVarint(header, 0);
    if (!tag || tag.value < 8) return undefined;
    const number = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    let end: number;
    let start = at + tag.next;
    if (wireType === 0) {
      const v = readVarint(header, tag.next);
      if (!v) return undefined;
      end = at + v.next;
    } else if (wireType === 2) {
      const len = readVarint(header, tag.next);
      if (!len) return undefined;
      start = at + len.next;
      end = start + len.value;
    } else if (wireType === 1) end = start + 8;
    else if (wireType === 5) end = start + 4;
    else return undefined;
    if (end > source.size) return undefined;
    fields.push({ number, wireType, start });
    at = end;
  }
  return fields.length > 0 ? fields : undefined;
}

const only = (fields: readonly ProtoField[], allowed: Record<number, number>) =>
  fields.every((f) => allowed[f.number] === f.wireType);
const has = (fields: readonly ProtoField[], n: number) => fields.some((f) => f.number === n);

/** ModelProto: ir_version 1, producer 2–4, model_version 5, doc 6, graph 7, opset_import 8, … */
const ONNX_FIELDS: Record<number, number> = { 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2 };
/** GraphDef: node 1, library 2, version 3, versions 4, debug_info 5. */
const GRAPH_DEF_FIELDS: Record<number, number> = { 1: 2, 2: 2, 3: 0, 4: 2, 5: 2 };
/** SavedModel: saved_model_schema_version 1, meta_graphs 2. */
const SAVED_MODEL_FIELDS: Record<number, number> = { 1: 0, 2: 2 };

async function protoKind(source: ByteSource): Promise<ForeignKind | undefined> {
  const fields = await protoFields(source);
  if (!fields) return undefined;
  if (only(fields, SAVED_MODEL_FIELDS) && has(fields, 2)) return 'tf-saved-model-pb';
  if (only(fields, ONNX_FIELDS) && has(fields, 1) && has(fields, 7)) return 'onnx';
  const first = fields[0] as ProtoField;
  if (only(fields, GRAPH_DEF_FIELDS) && first.number === 1) {
    // a NodeDef begins with its name (1) and op (2), both strings
    const node = await source.readAt(first.start, Math.min(FIELD_HEADER_BYTES * 8, source.size - first.start));
    const name = node[0] === 0x0a ? readVarint(node, 1) : undefined;
    if (name && node[name.next + name.value] === 0x12) return 'tf-graph-def';
  }
  return undefined;
}

/** What a file is, when it is one of the kinds above. */
export async function foreignKindOf(path: string, files: FileTree): Promise<ForeignKind | undefined> {
  if (files.stat(path)?.kind !== 'file') return undefined;
  const source = await files.open(path);
  try {
    const head = await source.readAt(0, Math.min(8, source.size));
    if (startsWith(head, 0, GGUF_MAGIC)) return 'gguf';
    for (const at of HDF5_OFFSETS) {
      if (at + 8 > source.size) break;
      if (startsWith(await source.readAt(at, 8), 0, HDF5_SIGNATURE)) return 'keras-hdf5';
    }
    return await protoKind(source);
  } finally {
    await source.close();
  }
}

/** The error for a file of a foreign kind: what it is and what to do instead. */
export function foreignKindError(path: string, kind: ForeignKind): Tf2TorchError {
  const { code, what, advice } = ADVICE[kind];
  return new Tf2TorchError(code, `${path}: ${what}, not a checkpoint tf2torch converts; ${advice}`, { file: path });
}

/** A pickled dict whose values are all tensors (what `torch.save(model.state_dict())` writes). */
function isStateDict(root: unknown): boolean {
  if (!(root instanceof Map) || root.size === 0) return false;
  for (const value of root.values()) if (!(value instanceof StorageTensor)) return false;
  return true;
}

/**
 * Whether a source is already what PyTorch loads: Hugging Face safetensors (one file, sharded, or a
 * folder), or a torch file holding a plain state dict. A pickled training checkpoint (XLM's dict of
 * model, params and vocabulary) is not: its weights still need converting.
 */
export function isAlreadyPyTorch(format: string, pickledRoot: unknown, tensors: readonly TensorRef[]): boolean {
  if (format === 'safetensors' || format === 'sharded' || format === 'hf-folder') return tensors.length > 0;
  if (format.startsWith('torch')) return isStateDict(pickledRoot);
  return false;
}

/**
 * "Nothing to convert", with the line that loads it: `from_pretrained` when a config.json is beside the
 * weights, else the loader of the file's format.
 */
export function alreadyPyTorchError(
  path: string,
  format: string,
  tensors: readonly TensorRef[],
  folderWithConfig: string | undefined,
): Tf2TorchError {
  const examples = tensors
    .slice(0, 2)
    .map((t) => t.name)
    .join(', ');
  const what = format.startsWith('torch') ? 'a PyTorch state dict' : 'Hugging Face safetensors weights';
  const load =
    folderWithConfig !== undefined
      ? `AutoModel.from_pretrained(${JSON.stringify(folderWithConfig)}) (or the AutoModelFor… class of its head)`
      : format.startsWith('torch')
        ? `torch.load(${JSON.stringify(path)}, weights_only=True)`
        : `safetensors.torch.load_file(${JSON.stringify(path)})`;
  return new Tf2TorchError(
    ErrorCode.ALREADY_PYTORCH,
    `${path}: already a PyTorch checkpoint (${what}: ${tensors.length} tensors, ${examples}, …): nothing to convert. Load it with ${load}`,
    { file: path },
  );
}
