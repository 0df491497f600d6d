/**
 * What a Hugging Face folder gets, and in which order, for every platform: the weights (each format,
 * sharded), the tokenizer files found beside the checkpoint, the architecture's extra files, and
 * `config.json` last. Platform-neutral: Node writes into its stage, a browser into a picked folder or
 * downloads; they differ only in the FileTree and OutputTree they pass.
 */
import { WEIGHT_FILES, writeWeights } from '../../formats/sharding.js';
import type { StateDictEntry } from '../../formats/state-dict.js';
import { type OutputTree, writeTextFile } from '../../io/byte-sink.js';
import type { FileTree } from '../../io/byte-source.js';
import { COMMAND_LINE_SPELLING, type Notice, NoticeCode, notice, renderNotice } from '../../mapping/notices.js';
import type { Architecture, ModelConfig } from '../../mapping/types.js';
import { configTextOf, type PlannedConversion, type WeightFormat } from '../open-and-plan.js';

type WeightFileFormat = 'safetensors' | 'pytorch';

/** What the folder's content is decided from. */
export interface FolderSource {
  readonly architecture: Architecture;
  readonly config: ModelConfig;
  /** The pickled checkpoint's root object, for architectures whose extra files come from it (XLM). */
  readonly embedded?: unknown;
  readonly checkpointDir: string;
  readonly configText: string;
  /** tokenizer_config.json and special_tokens_map.json, when the tokenizer's files are beside the checkpoint. */
  readonly tokenizerConfig?: readonly { readonly name: string; readonly text: string }[];
}

/** A folder's content, in the order it is written. */
export interface FolderContent {
  readonly formats: readonly WeightFileFormat[];
  /** Tokenizer files: a path beside the checkpoint (in `files`) and the name in the folder. */
  readonly copies: readonly { readonly from: string; readonly to: string }[];
  readonly texts: readonly { readonly name: string; readonly text: string }[];
  /** A tokenizer file that is not there. */
  readonly warnings: readonly Notice[];
}

export function folderContent(source: FolderSource, format: WeightFormat, files: FileTree): FolderContent {
  const { architecture, config, embedded, checkpointDir, configText, tokenizerConfig = [] } = source;
  const copies: { from: string; to: string }[] = [];
  const warnings: Notice[] = [];
  for (const tok of architecture.tokenizerFiles ?? []) {
    const candidates = typeof tok.from === 'string' ? [tok.from] : tok.from;
    const found = candidates.map((c) => files.paths.join(checkpointDir, c)).find((p) => files.stat(p) !== undefined);
    if (found !== undefined) copies.push({ from: found, to: tok.to });
    else
      warnings.push(
        notice(
          NoticeCode.TOKENIZER_FILE_MISSING,
          'no {candidates} beside the checkpoint: the folder has no {file} (load the tokenizer from elsewhere)',
          { candidates: candidates.join(' or '), file: tok.to },
          'warning',
        ),
      );
  }
  return {
    formats: format === 'both' ? ['safetensors', 'pytorch'] : [format],
    copies,
    texts: [
      ...(architecture.extraFiles?.(config, embedded) ?? []),
      ...tokenizerConfig,
      { name: 'config.json', text: configText },
    ],
    warnings,
  };
}

/** The names the folder will hold that are known before any byte is written (shards are not). */
export function namesKnownBefore(content: FolderContent): string[] {
  return [
    ...content.formats.flatMap((f) => [WEIGHT_FILES[f].single, WEIGHT_FILES[f].index]),
    ...content.copies.map((c) => c.to),
    ...content.texts.map((t) => t.name),
  ];
}

export interface FolderWriteOptions {
  readonly maxShardSize: number;
  readonly container?: 'OrderedDict' | 'dict' | undefined;
  /** Progress of weight pass `pass` (0, or 0 and 1 for two formats): bytes written in that pass. */
  readonly onProgress?: (pass: number, done: number) => void;
  /** Called after each weight pass and after the last file (where tests interrupt a run). */
  readonly onStep?: () => void;
  /** A last file made from the names written before it (the model card), or undefined for none. */
  readonly lastFile?: (written: readonly string[]) => Promise<{ name: string; text: string } | undefined>;
}

/**
 * Writes `content` into `dir` of `outputs`, reading tokenizer files from `files`; `entriesFor` gives a
 * fresh state dict per weight format. Returns the names written, in order, and which are weights.
 */
export async function writeFolderContent(
  content: FolderContent,
  entriesFor: (format: WeightFileFormat) => readonly StateDictEntry[],
  files: FileTree,
  outputs: OutputTree,
  dir: string,
  options: FolderWriteOptions,
): Promise<{ files: string[]; weights: string[] }> {
  const join = (name: string) => outputs.paths.join(dir, name);
  const weights: string[] = [];
  for (const [pass, format] of content.formats.entries()) {
    weights.push(
      ...(await writeWeights(dir, entriesFor(format), {
        format,
        maxShardSize: options.maxShardSize,
        onProgress: (n) => options.onProgress?.(pass, n),
        outputs,
        ...(options.container === undefined ? {} : { container: options.container }),
      })),
    );
    options.onStep?.();
  }
  const written = [...weights];
  for (const copy of content.copies) {
    await copyFile(files, copy.from, outputs, join(copy.to));
    written.push(copy.to);
  }
  for (const { name, text } of content.texts) {
    await writeTextFile(outputs, join(name), text);
    written.push(name);
  }
  const last = await options.lastFile?.(written);
  if (last !== undefined) {
    await writeTextFile(outputs, join(last.name), last.text);
    written.push(last.name);
  }
  options.onStep?.();
  return { files: written, weights };
}

export interface FolderOptions {
  readonly format: WeightFormat;
  readonly maxShardSize: number;
  /** Tensor bytes written so far, over every pass. */
  readonly onProgress?: (done: number) => void;
  /** A last file made from the names written before it (`modelCardFrom`'s model card). */
  readonly lastFile?: FolderWriteOptions['lastFile'];
}

/**
 * A Hugging Face folder's files into `dir` of `outputs` (the browser's folder writer; Node's stages
 * the same content, `write-folder.ts`). Returns the names written and the warnings (a tokenizer file
 * that is not there).
 */
export async function writeModelFolder(
  planned: PlannedConversion,
  /** The state dict, or a fresh one per weight format (torch files and safetensors differ in form). */
  entries: readonly StateDictEntry[] | ((format: WeightFileFormat) => readonly StateDictEntry[]),
  files: FileTree,
  outputs: OutputTree,
  dir: string,
  options: FolderOptions,
): Promise<{ files: string[]; warnings: string[] }> {
  const content = folderContent({ ...planned, configText: configTextOf(planned) }, options.format, files);
  const entriesFor = typeof entries === 'function' ? entries : () => entries;
  const { files: written } = await writeFolderContent(content, entriesFor, files, outputs, dir, {
    maxShardSize: options.maxShardSize,
    container: planned.architecture.torchContainer,
    onProgress: (pass, n) => options.onProgress?.(pass * planned.plan.totalBytes + n),
    ...(options.lastFile === undefined ? {} : { lastFile: options.lastFile }),
  });
  return { files: written, warnings: content.warnings.map((w) => renderNotice(w, COMMAND_LINE_SPELLING)) };
}

/** Copies a sidecar's bytes in bounded chunks (contents only: the source's permissions must not follow). */
async function copyFile(files: FileTree, from: string, outputs: OutputTree, to: string): Promise<void> {
  const source = await files.open(from);
  try {
    await outputs.writeFile(to, async (sink) => {
      let at = 0;
      for await (const chunk of source.readChunks(0, source.size, 1 << 20, 'tokenizer file')) {
        await sink.write(chunk, at);
        at += chunk.byteLength;
      }
    });
  } finally {
    await source.close();
  }
}
