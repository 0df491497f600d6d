/**
 * The original OpenAI GPT release folder, as one TensorSource (format 'openai-npy'):
 *
 *   model/
 *     params_shapes.json       [[512, 768], [40478, 768], [1, 768, 2304], …]   the arrays, in order
 *     parameters_names.json    ["model/we:0", "model/h0/attn/c_attn/w:0", …]   optional
 *     params_0.npy … params_N.npy   one flat float32 array cut into pieces (N read from the folder)
 *
 * Array i is the i-th contiguous run of shapes[i]'s product elements in the concatenation of the
 * shards, and may span two shards; elements past the last shape are dropped (as transformers does).
 *
 * Naming: tensor i is always `params/<i>` with the shape as listed (not squeezed). The names file is
 * exposed as `names`, unchanged: in the release names[0] 'model/we:0' stands for arrays 0 (positions,
 * [512, 768]) and 1 (tokens, [40478, 768]), and array i ≥ 2 is names[i - 1]; an architecture maps
 * `params/<i>` declaratively, with `parameterNameOf` to show the release's names.
 */
import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../../errors.js';
import type { FileTree } from '../../io/byte-source.js';
import { parseJson } from '../../io/json.js';
import { jsonPreview } from '../../io/python-json.js';
import { DEFAULT_CHUNK_BYTES, DTYPES, type FileRange, type TensorRef } from '../../tensor.js';
import type { OpenOptions, TensorSource, TensorSourceOpener } from '../source.js';
import { MAX_DIMS } from './header.js';
import { type NpyArray, openNpy } from './npy-file.js';

/** The release's params_shapes.json is 1.5 KB and its names file 5 KB; 16 MiB is far beyond any real one. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;
/** The release has 146 arrays; a list longer than this is not a GPT checkpoint. */
export const MAX_ARRAYS = 100_000;
/** The release has 10 shards; each open shard holds a file handle. */
export const MAX_SHARDS = 1_000;

export const PARAMS_SHAPES_FILE = 'params_shapes.json';
export const PARAMETER_NAMES_FILE = 'parameters_names.json';
const SHARD_PATTERN = /^params_(\d+)\.npy$/;
const shardName = (i: number) => `params_${i}.npy`;
const FLOAT32_BYTES = DTYPES.float32.itemSize;

export interface OpenAIGptSource extends TensorSource {
  readonly format: 'openai-npy';
  /** params_shapes.json as listed. */
  readonly shapes: readonly (readonly number[])[];
  /** parameters_names.json as listed, if present (see the naming note at the top of this file). */
  readonly names: readonly string[] | undefined;
  readonly shardFiles: readonly string[];
}

/** The release's name for array `index` (names[0] covers arrays 0 and 1), or undefined. */
export function parameterNameOf(names: readonly string[] | undefined, index: number): string | undefined {
  if (!names) return undefined;
  return index <= 1 ? names[0] : names[index - 1];
}

async function readJsonFile(files: FileTree, path: string, what: string): Promise<unknown> {
  const file = await files.open(path);
  try {
    if (file.size > MAX_JSON_BYTES) {
      throw new Tf2TorchError(
        ErrorCode.LIMIT,
        `${path}: ${file.size} bytes exceeds the limit of ${MAX_JSON_BYTES} for ${what}`,
        { file: path },
      );
    }
    const text = new TextDecoder().decode(await file.readAt(0, file.size, what));
    return parseJson(text, path, ErrorCode.MALFORMED);
  } finally {
    await file.close();
  }
}

/** params_shapes.json of `dir`: a list of shapes of non-negative integers. */
export async function readParamsShapes(dir: string, files: FileTree = defaultFiles): Promise<number[][]> {
  const path = files.paths.join(dir, PARAMS_SHAPES_FILE);
  const value = await readJsonFile(files, path, 'the list of array shapes');
  if (!Array.isArray(value))
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${path}: expected a list of shapes`, { file: path });
  if (value.length > MAX_ARRAYS)
    throw new Tf2TorchError(ErrorCode.LIMIT, `${path}: ${value.length} shapes exceed the limit of ${MAX_ARRAYS}`, {
      file: path,
    });
  return value.map((shape: unknown, i) => {
    const ok =
      Array.isArray(shape) &&
      shape.length <= MAX_DIMS &&
      shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
    if (!ok)
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${path}: shape ${i} is not a list of non-negative integers: ${jsonPreview(shape)}`,
        { file: path, tensor: `params/${i}` },
      );
    return shape as number[];
  });
}

/** parameters_names.json of `dir`, or undefined when the folder has none. */
export async function readParameterNames(
  dir: string,
  present: ReadonlySet<string>,
  files: FileTree = defaultFiles,
): Promise<string[] | undefined> {
  if (!present.has(PARAMETER_NAMES_FILE)) return undefined;
  const path = files.paths.join(dir, PARAMETER_NAMES_FILE);
  const value = await readJsonFile(files, path, 'the parameter names');
  if (!Array.isArray(value) || value.length > MAX_ARRAYS || !value.every((n) => typeof n === 'string')) {
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${path}: expected a list of at most ${MAX_ARRAYS} strings`, {
      file: path,
    });
  }
  return value as string[];
}

/** The shard files: params_0.npy, params_1.npy, … consecutive from 0, as the folder holds them. */
function shardList(dir: string, present: ReadonlySet<string>, files: FileTree): string[] {
  const { join } = files.paths;
  const numbers = [...present]
    .map((f) => SHARD_PATTERN.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
  if (numbers.length > MAX_SHARDS)
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${dir}: ${numbers.length} params_*.npy files exceed the limit of ${MAX_SHARDS}`,
      { file: dir },
    );
  const highest = Math.max(-1, ...numbers);
  for (let i = 0; i <= Math.max(0, highest); i++) {
    if (!present.has(shardName(i))) {
      const seen = highest < 0 ? 'none is there' : `params_${highest}.npy is the highest there`;
      throw new Tf2TorchError(
        ErrorCode.MISSING_SHARD,
        `${join(dir, shardName(i))} is missing: the weights are params_0.npy … params_N.npy next to ${PARAMS_SHAPES_FILE} (${seen})`,
        { file: join(dir, shardName(i)) },
      );
    }
  }
  return Array.from({ length: highest + 1 }, (_, i) => join(dir, shardName(i)));
}

/** The folder a user's path means: the folder itself, or the folder of one of its files. */
export async function gptFolderOf(path: string, files: FileTree = defaultFiles): Promise<string | undefined> {
  const info = files.stat(path);
  if (!info) return undefined;
  const isDir = info.kind === 'directory';
  const dir = isDir ? path : files.paths.dirname(path);
  const name = files.paths.basename(path);
  if (!isDir && name !== PARAMS_SHAPES_FILE && name !== PARAMETER_NAMES_FILE && !SHARD_PATTERN.test(name))
    return undefined;
  return files.stat(files.paths.join(dir, PARAMS_SHAPES_FILE))?.kind === 'file' ? dir : undefined;
}

/** Opens the folder (or the folder of `path`); every shard's header is checked, no array data is read. */
export async function openOpenAIGptFolder(path: string, options: OpenOptions = {}): Promise<OpenAIGptSource> {
  const files = options.files ?? defaultFiles;
  const dir = (await gptFolderOf(path, files)) ?? path;
  const present = new Set(files.list(dir));
  const shapes = await readParamsShapes(dir, files);
  const names = await readParameterNames(dir, present, files);
  const shardFiles = shardList(dir, present, files);
  const shards: NpyArray[] = [];
  const closeAll = () => Promise.all(shards.map((s) => s.close())).then(() => undefined);
  try {
    for (const [i, file] of shardFiles.entries()) {
      const shard = await openNpy(file, `params_${i}`, files);
      shards.push(shard);
      if (shard.header.dtype !== 'float32' || shard.header.shape.length !== 1) {
        throw new Tf2TorchError(
          ErrorCode.UNSUPPORTED,
          `${file}: expected a 1-D float32 array, found ${shard.header.descr} of shape [${shard.header.shape.join(', ')}]`,
          { file },
        );
      }
    }
    return buildSource(dir, shapes, names, shards, shardFiles, closeAll, (...parts) => files.paths.join(...parts));
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function buildSource(
  dir: string,
  shapes: number[][],
  names: string[] | undefined,
  shards: NpyArray[],
  shardFiles: string[],
  close: () => Promise<void>,
  join: (...parts: string[]) => string,
): OpenAIGptSource {
  // shardStarts[k] = index of shard k's first element in the concatenation
  const shardStarts: number[] = [];
  let total = 0;
  for (const s of shards) {
    shardStarts.push(total);
    total += s.length;
  }
  const notes: string[] = [
    `OpenAI GPT release: ${shapes.length} arrays cut from ${shards.length} float32 shards (${total} elements)`,
  ];
  let next = 0;
  const tensors = shapes.map((shape, i) => {
    const count = shape.reduce((a, b) => a * b, 1);
    if (next + count > total) {
      throw new Tf2TorchError(
        ErrorCode.SHAPE_MISMATCH,
        `${join(dir, PARAMS_SHAPES_FILE)}: array ${i} [${shape.join(', ')}] ends at element ${next + count} but the shards hold only ${total}`,
        { file: join(dir, PARAMS_SHAPES_FILE), tensor: `params/${i}` },
      );
    }
    const tensor = rangeTensor(`params/${i}`, shape, next, count, shards, shardStarts);
    next += count;
    return tensor;
  });
  if (next < total)
    notes.push(`${total - next} elements after the last listed array are dropped, as transformers drops them`);
  if (names && names.length !== shapes.length - 1) {
    notes.push(
      `${PARAMETER_NAMES_FILE} has ${names.length} names for ${shapes.length} arrays (the release has one fewer: 'model/we:0' covers arrays 0 and 1)`,
    );
  }
  return { path: dir, format: 'openai-npy', tensors, notes, shapes, names, shardFiles, roleOf: () => 'weight', close };
}

/** A lazy view of elements [start, start + count) of the concatenated shards. */
function rangeTensor(
  name: string,
  shape: number[],
  start: number,
  count: number,
  shards: NpyArray[],
  shardStarts: number[],
): TensorRef {
  const readRange = async (from: number, n: number): Promise<Uint8Array> => {
    const pieces: Uint8Array[] = [];
    let at = from;
    const end = from + n;
    // the last shard starting at or before `at`
    let k = 0;
    while (k + 1 < shards.length && shardStarts[k + 1]! <= at) k++;
    while (at < end) {
      const shard = shards[k]!;
      const offset = at - shardStarts[k]!;
      const take = Math.min(end - at, shard.length - offset);
      if (take > 0) pieces.push(await shard.readElements(offset, take));
      at += take;
      k++;
    }
    if (pieces.length === 1) return pieces[0]!;
    const joined = new Uint8Array(n * FLOAT32_BYTES);
    let offset = 0;
    for (const piece of pieces) {
      joined.set(piece, offset);
      offset += piece.byteLength;
    }
    return joined;
  };
  return {
    name,
    dtype: 'float32',
    shape: [...shape],
    byteLength: count * FLOAT32_BYTES,
    read: () => readRange(start, count),
    fileRanges() {
      const ranges: FileRange[] = [];
      for (const [k, shard] of shards.entries()) {
        const from = Math.max(start, shardStarts[k]!);
        const to = Math.min(start + count, shardStarts[k]! + shard.length);
        if (to > from)
          ranges.push({
            path: shard.path,
            offset: shard.header.dataOffset + (from - shardStarts[k]!) * FLOAT32_BYTES,
            length: (to - from) * FLOAT32_BYTES,
          });
      }
      return ranges;
    },
    async *stream(chunkSize = DEFAULT_CHUNK_BYTES) {
      const perChunk = Math.max(1, Math.floor(chunkSize / FLOAT32_BYTES));
      for (let done = 0; done < count; done += perChunk)
        yield await readRange(start + done, Math.min(perChunk, count - done));
    },
  };
}

export const OPENAI_GPT_FOLDER_OPENER: TensorSourceOpener = {
  format: 'openai-npy',
  detect: async (path, options) => (await gptFolderOf(path, options?.files)) !== undefined,
  open: (path, options) => openOpenAIGptFolder(path, options),
};
