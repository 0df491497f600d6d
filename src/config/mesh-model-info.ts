/**
 * mesh-tf's `model-info.txt`: one line per variable, written next to a Mesh TensorFlow checkpoint.
 *
 *   Variable encoder/block_000/layer_000/SelfAttention/q   size 4096   slice_size 4096   Shape[d_model=32, heads=128]
 *
 * A second source of truth for shapes (with mesh dimension names), usable without the checkpoint.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';

/** Real files are ~10 KB per 100 variables; a listing past this many lines is not one. */
export const MAX_MODEL_INFO_LINES = 1_000_000;

export interface MeshVariable {
  readonly name: string;
  readonly shape: number[];
  /** Mesh dimension names, e.g. ['d_model', 'heads']. */
  readonly dims: string[];
}

const VARIABLE_LINE = /^Variable\s+(\S+)\s+size\s+(\d+)\s+slice_size\s+\d+\s+Shape\[([^\]]*)\]\s*$/;

export function parseMeshModelInfo(text: string, file = 'model-info.txt'): MeshVariable[] {
  const lines = text.split('\n');
  if (lines.length > MAX_MODEL_INFO_LINES) {
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${file}: ${lines.length} lines exceed the limit of ${MAX_MODEL_INFO_LINES}`,
      { file },
    );
  }
  const variables: MeshVariable[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith('Variable ')) continue;
    const m = VARIABLE_LINE.exec(line);
    if (!m)
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${file}:${i + 1}: unreadable variable line ${JSON.stringify(line.slice(0, 120))}`,
        { file },
      );
    const dims = m[3]!.trim() === '' ? [] : m[3]!.split(',').map((d) => d.trim().split('='));
    if (!dims.every((d) => d.length === 2 && /^\d+$/.test(d[1]!))) {
      throw new Tf2TorchError(ErrorCode.MALFORMED, `${file}:${i + 1}: unreadable shape ${JSON.stringify(m[3])}`, {
        file,
      });
    }
    const shape = dims.map((d) => Number(d[1]));
    if (shape.reduce((a, b) => a * b, 1) !== Number(m[2])) {
      throw new Tf2TorchError(
        ErrorCode.MALFORMED,
        `${file}:${i + 1}: ${m[1]} has size ${m[2]} but shape [${shape.join(', ')}]`,
        { file, tensor: m[1] },
      );
    }
    variables.push({ name: m[1]!, shape, dims: dims.map((d) => d[0]!) });
  }
  return variables;
}
