/**
 * Reading a parsed gin config the way gin applies it: a scoped binding (`encoder/SelfAttention.num_heads`)
 * wins over the unscoped one, a later binding over an earlier one, and a configurable may be named
 * by its short name or its module path (`SelfAttention` ≡ `transformer_layers.SelfAttention`).
 */

import { defaultFiles } from '#platform';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { FileTree } from '../io/byte-source.js';
import { strictUtf8Text } from '../io/text.js';
import { type GinBinding, type GinConfig, type GinValue, MAX_GIN_BYTES, parseGin } from './gin-parser.js';

/** Macro chains longer than this are a cycle (`a = %b`, `b = %a`). */
export const MAX_MACRO_DEPTH = 32;

export async function readGinFile(path: string, files: FileTree = defaultFiles): Promise<GinConfig> {
  const file = await files.open(path);
  try {
    if (file.size > MAX_GIN_BYTES) {
      throw new Tf2TorchError(
        ErrorCode.LIMIT,
        `${path}: ${file.size} bytes exceed the limit of ${MAX_GIN_BYTES} for a gin file`,
        { file: path },
      );
    }
    // gin opens the file as UTF-8 text, which fails on invalid bytes: so does this.
    return parseGin(strictUtf8Text(await file.readAt(0, file.size, 'gin config'), path), path);
  } finally {
    await file.close();
  }
}

function sameConfigurable(bound: string, wanted: string): boolean {
  return bound === wanted || bound.endsWith(`.${wanted}`) || wanted.endsWith(`.${bound}`);
}

/** The binding gin would apply to `configurable.param` inside `scope` ('' = no scope). */
export function ginBinding(config: GinConfig, configurable: string, param: string, scope = ''): GinBinding | undefined {
  let unscoped: GinBinding | undefined;
  let scoped: GinBinding | undefined;
  for (const b of config.bindings) {
    if (b.param !== param || !sameConfigurable(b.configurable, configurable)) continue;
    if (b.scope === '') unscoped = b;
    else if (scope !== '' && (b.scope === scope || b.scope.endsWith(`/${scope}`))) scoped = b;
  }
  return scoped ?? unscoped;
}

/** Replaces every `%macro` inside `value` by the macro's value; an unknown macro is E_CONFIG. */
export function resolveGinValue(config: GinConfig, value: GinValue, depth = 0): GinValue {
  if (depth > MAX_MACRO_DEPTH)
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${config.file}: macros nested deeper than ${MAX_MACRO_DEPTH} (a cycle?)`,
      { file: config.file },
    );
  if (Array.isArray(value)) return value.map((v) => resolveGinValue(config, v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  switch (value.kind) {
    case 'macro': {
      const macro = config.macros.get(value.name);
      if (!macro)
        throw new Tf2TorchError(ErrorCode.CONFIG, `${config.file}: macro %${value.name} is used but never defined`, {
          file: config.file,
        });
      return resolveGinValue(config, macro.value, depth + 1);
    }
    case 'tuple':
      return { kind: 'tuple', items: value.items.map((v) => resolveGinValue(config, v, depth + 1)) };
    case 'dict':
      return {
        kind: 'dict',
        entries: value.entries.map(([k, v]) => [
          resolveGinValue(config, k, depth + 1),
          resolveGinValue(config, v, depth + 1),
        ]),
      };
    default:
      return value;
  }
}

/** The resolved value gin would pass as `param` to `configurable` in `scope`, with where it came from. */
export function ginParam(
  config: GinConfig,
  configurable: string,
  param: string,
  scope = '',
): { value: GinValue; from: string } | undefined {
  const b = ginBinding(config, configurable, param, scope);
  if (!b) return undefined;
  const key = `${b.scope ? `${b.scope}/` : ''}${b.configurable}.${b.param}`;
  return { value: resolveGinValue(config, b.value), from: `${key} (${config.file}:${b.line})` };
}
