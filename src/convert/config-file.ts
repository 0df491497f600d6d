/**
 * Config files in and out: the user's JSON (bounded, errors naming the file) and `config.json` as
 * transformers writes it (keys sorted, indent 2, trailing newline).
 */
import { defaultFiles, readSmallTextFile } from '#platform';
import { checkConfigNumbers } from '../architectures/checkpoint-facts.js';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { FileTree } from '../io/byte-source.js';
import { parseJsonObject } from '../io/json.js';
import { pythonJsonDumps } from '../io/python-json.js';
import type { ModelConfig } from '../mapping/types.js';

/** Config and tokenizer sidecars are small text files; anything bigger is not one. */
export const MAX_SIDECAR_BYTES = 64 * 1024 * 1024;

/** Text of a small file, or undefined when absent; refuses oversized and non-regular files before reading. */
export function readSidecar(path: string, what = 'config or tokenizer file', files?: FileTree): string | undefined {
  if (files === undefined) return readSmallTextFile(path, MAX_SIDECAR_BYTES, what); // the platform's file system
  const stat = files.stat(path);
  if (stat === undefined) return undefined;
  if (stat.kind !== 'file')
    throw new Tf2TorchError(ErrorCode.NOT_A_FILE, `${path} is not a file; a regular ${what} is expected here`, {
      file: path,
    });
  if (stat.size > MAX_SIDECAR_BYTES)
    throw new Tf2TorchError(
      ErrorCode.LIMIT,
      `${path}: ${stat.size} bytes is too large for a ${what} (limit ${MAX_SIDECAR_BYTES})`,
      { file: path },
    );
  return files.readText(path);
}

export function readConfigFile(path: string, files?: FileTree): ModelConfig {
  const text = readSidecar(path, 'config file', files);
  if (text === undefined) throw new Tf2TorchError(ErrorCode.NOT_FOUND, `config file ${path} not found`, { file: path });
  return checkedConfig(text, path);
}

/** A config file's JSON object, its sizes checked (checkConfigNumbers) before anything uses them. */
function checkedConfig(text: string, path: string): ModelConfig {
  const config = parseJsonObject(text, path, ErrorCode.CONFIG);
  checkConfigNumbers(config, path);
  return config;
}

/** The first of `names` present in `dir`, parsed. */
export function findConfigBeside(
  dir: string,
  names: readonly string[],
  files?: FileTree,
): { config: ModelConfig; path: string } | undefined {
  for (const name of names) {
    const path = (files ?? defaultFiles).paths.join(dir, name);
    const text = readSidecar(path, 'config file', files);
    if (text !== undefined) return { config: checkedConfig(text, path), path };
  }
  return undefined;
}

/**
 * `config.json` text as PretrainedConfig.to_json_string writes it: Python's json.dumps with sorted keys,
 * indent 2, ASCII escapes and Python's float spelling (1e-05, not 0.00001), then a newline.
 */
export function configJsonText(config: ModelConfig): string {
  return `${pythonJsonDumps(withIntLabelKeys(withoutUndefined(config)), 2, true)}\n`;
}

/**
 * PretrainedConfig keeps id2label's keys as ints (`{int(key): value …}` in its __init__), so sort_keys orders
 * them by value: "2" before "10", as every config with more than ten labels shows.
 */
function withIntLabelKeys(config: ModelConfig): ModelConfig {
  const labels = config.id2label;
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels) || labels instanceof Map) return config;
  const keys = Object.keys(labels);
  if (!keys.every((k) => /^(0|[1-9]\d{0,14})$/.test(k))) return config;
  const ints = new Map(keys.map((k) => [Number(k), (labels as Record<string, unknown>)[k]]));
  return Object.assign(Object.create(null), config, { id2label: ints });
}

/** As JSON.stringify: a field whose value is undefined is absent. No prototype: every key is the config's own. */
function withoutUndefined(config: ModelConfig): ModelConfig {
  const out: ModelConfig = Object.create(null);
  for (const [k, v] of Object.entries(config)) if (v !== undefined) out[k] = v;
  return out;
}
