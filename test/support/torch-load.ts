/**
 * Ground truth from the real clients, for interoperability tests:
 * - `loadWithTorch(python, path)`: `torch.load(path, weights_only=True)` in the real PyTorch;
 * - `loadSafetensorsInPython(python, path)`: the safetensors spec applied in plain Python (struct + json,
 *   no safetensors package), checking header padding, offsets and buffer coverage on the way;
 * - `loadShardedFolder(python, indexPath)`: follows `weight_map` of a `*.index.json` and loads each shard
 *   with the matching loader above;
 * - `loadAllWithTorch(python, paths)`: several files in one interpreter (one torch import).
 * Each returns name → { dtype, shape, bytes (contiguous, C order, little-endian), dataPtr, strides } in
 * file order. `dataPtr` (torch only) is the tensor's data address: tied aliases share it. `strides` are
 * as stored (torch: `t.stride()`, a transposed view's differ from row-major; safetensors: row-major). The Python
 * side writes `[u64 LE header length][JSON header][raw bytes]` to a temporary file, read back here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DType } from '../../src/tensor.js';
import { runPython } from './python.js';

export interface LoadedTensor {
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
  /** torch: data_ptr() of the tensor (equal for tensors sharing storage); 0 for safetensors. */
  dataPtr: number;
  /** Steps in elements per axis, as the file stores the tensor. */
  strides: number[];
}

const SCRIPT = String.raw`
import json, os, struct, sys

ST_DTYPES = {'F64': 'float64', 'F32': 'float32', 'F16': 'float16', 'BF16': 'bfloat16', 'I64': 'int64',
             'I32': 'int32', 'I16': 'int16', 'I8': 'int8', 'U8': 'uint8', 'BOOL': 'bool', 'C64': 'complex64',
             'U16': 'uint16', 'U32': 'uint32', 'U64': 'uint64'}
ST_SIZES = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U8': 1,
            'BOOL': 1, 'C64': 8, 'U16': 2, 'U32': 4, 'U64': 8}

def load_torch(path):
    import torch
    out = []
    for name, t in torch.load(path, map_location='cpu', weights_only=True).items():
        c = t.contiguous()
        if c.dtype == torch.bfloat16:
            c = c.view(torch.int16)
        out.append((name, str(t.dtype).replace('torch.', ''), list(t.shape), c.numpy().tobytes(), t.data_ptr(),
                    list(t.stride())))
    return out

def load_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    assert (8 + n) % 8 == 0, 'header not padded to 8 bytes'
    header = json.loads(data[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', None)
    assert meta is not None and meta.get('format') == 'pt', 'missing __metadata__.format = pt'
    assert all(isinstance(v, str) for v in meta.values()), 'metadata values must be strings'
    buffer = data[8 + n:]
    ranges, out = [], []
    for name, info in header.items():
        begin, end = info['data_offsets']
        numel = 1
        for d in info['shape']:
            numel *= d
        assert end - begin == numel * ST_SIZES[info['dtype']], name + ': size mismatch'
        ranges.append((begin, end))
        strides, step = [], 1
        for d in reversed(info['shape']):
            strides.insert(0, step)
            step *= d
        out.append((name, ST_DTYPES[info['dtype']], info['shape'], buffer[begin:end], 0, strides))
    at = 0
    for begin, end in sorted(ranges):
        assert begin == at, 'hole or overlap in the byte buffer'
        at = end
    assert at == len(buffer), 'byte buffer not covered exactly'
    return out

def load_any(path):
    if path.endswith('.index.json'):
        with open(path) as f:
            index = json.load(f)
        folder = os.path.dirname(path)
        out = []
        for shard in sorted(set(index['weight_map'].values())):
            for item in load_any(os.path.join(folder, shard)):
                assert index['weight_map'][item[0]] == shard, item[0] + ' not mapped to ' + shard
                out.append(item)
        assert len(out) == len(index['weight_map']), 'weight_map lists tensors absent from the shards'
        return out
    return load_safetensors(path) if path.endswith('.safetensors') else load_torch(path)

def dump(items, out_path):
    header, offset = [], 0
    for name, dtype, shape, raw, ptr, strides in items:
        header.append({'name': name, 'dtype': dtype, 'shape': shape, 'offset': offset, 'length': len(raw),
                       'dataPtr': ptr, 'strides': strides})
        offset += len(raw)
    head = json.dumps(header).encode('utf-8')
    with open(out_path, 'wb') as f:
        f.write(struct.pack('<Q', len(head)))
        f.write(head)
        for item in items:
            f.write(item[3])

# (input, output) pairs: one interpreter (and one torch import) for several files
for i in range(1, len(sys.argv), 2):
    dump(load_any(sys.argv[i]), sys.argv[i + 1])
`;

function loadMany(python: string, paths: readonly string[]): Map<string, LoadedTensor>[] {
  const dir = mkdtempSync(join(tmpdir(), 'tf2torch-load-'));
  try {
    const outs = paths.map((_, i) => join(dir, `tensors-${i}.raw`));
    runPython(
      python,
      SCRIPT,
      paths.flatMap((path, i) => [path, outs[i] as string]),
    );
    return outs.map(readDump);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readDump(out: string): Map<string, LoadedTensor> {
  const raw = readFileSync(out);
  const headerLength = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.subarray(8, 8 + headerLength).toString('utf8')) as {
    name: string;
    dtype: DType;
    shape: number[];
    offset: number;
    length: number;
    dataPtr: number;
    strides: number[];
  }[];
  const base = 8 + headerLength;
  const result = new Map<string, LoadedTensor>();
  for (const h of header) {
    result.set(h.name, {
      dtype: h.dtype,
      shape: h.shape,
      bytes: raw.subarray(base + h.offset, base + h.offset + h.length),
      dataPtr: h.dataPtr,
      strides: h.strides,
    });
  }
  return result;
}

const load = (python: string, path: string): Map<string, LoadedTensor> => loadMany(python, [path])[0]!;

/** `torch.load(path, weights_only=True)` in the real PyTorch (a .bin/.pt zip or legacy file). */
export const loadWithTorch = (python: string, path: string): Map<string, LoadedTensor> => load(python, path);
/** A .safetensors file parsed in Python by the spec (asserts padding, format metadata, exact coverage). */
export const loadSafetensorsInPython = (python: string, path: string): Map<string, LoadedTensor> => load(python, path);
/** Several files (any of the kinds above) in one interpreter: one torch import for all of them. */
export const loadAllWithTorch = (python: string, paths: readonly string[]): Map<string, LoadedTensor>[] =>
  loadMany(python, paths);
/** A sharded folder through its `*.index.json` (every shard loaded by its kind; weight_map checked). */
export const loadShardedFolder = (python: string, indexPath: string): Map<string, LoadedTensor> =>
  load(python, indexPath);
