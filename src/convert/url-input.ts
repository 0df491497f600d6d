/**
 * Checkpoints at https:// and gs:// URLs: the files a conversion may read found before it starts (a
 * remote folder cannot be listed), and, once planned, the byte ranges of the tensors it needs announced
 * so that they are fetched ahead and nothing else is (skipped optimizer slots never cross the network).
 *
 *   <url>/checkpoint            the state file of a folder: names the prefix P
 *   P.index                     read whole; its header gives the shard count
 *   P.data-0000k-of-0000n       sizes and identities only (HEAD); read by ranges later
 *   config, vocabulary, …       the names the architectures declare, beside P (read whole when present)
 *
 * Without an index: an OpenAI GPT release folder (params_shapes.json, shards params_0.npy … probed up to
 * the first missing one), or a single file read by ranges (an XLM .pth, a V1 checkpoint). Every format's
 * tensors name their byte ranges (`TensorRef.fileRanges`): the plan's are fetched ahead.
 */
import { defaultFiles } from '#platform';
import { ARCHITECTURES } from '../architectures/index.js';
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { MAX_SHARDS as GPT_MAX_SHARDS, PARAMETER_NAMES_FILE, PARAMS_SHAPES_FILE } from '../formats/npy/openai-gpt.js';
import type { TensorSource } from '../formats/source.js';
import { MAX_SHARDS } from '../formats/tf-checkpoint/bundle.js';
import { dataShardPath } from '../formats/tf-checkpoint/paths.js';
import { parseBundleHeader } from '../formats/tf-checkpoint/proto.js';
import { readTable } from '../formats/tf-checkpoint/sstable.js';
import type { FileTree } from '../io/byte-source.js';
import type { HttpOptions } from '../io/http-client.js';
import type { ByteRange } from '../io/prefetcher.js';
import { checkUrl, isUrl, redactUrl } from '../io/url-paths.js';
import { type ProbeKind, UrlFileTree } from '../io/url-tree.js';
import type { Plan } from '../mapping/plan.js';
import { formatBytes } from '../units.js';

/** The environment variable holding the Authorization header for private objects. */
export const AUTHORIZATION_ENV = 'TF2TORCH_HTTP_AUTHORIZATION';
/** Where gs:// URLs are fetched instead of Cloud Storage's public endpoint (tests, mirrors). */
export const GCS_BASE_ENV = 'TF2TORCH_GCS_BASE';

/** Files read through `sidecar(…)` by architectures that do not declare them (and the state file). */
const UNDECLARED_SIDECARS = ['checkpoint', 'hparams.json', 'operative_config.gin', 'parameters_names.json'];

const INDEX_SUFFIX = /\.(index|meta|data-\d{5}-of-\d{5})$/;

/**
 * Every file name an architecture may look for beside a checkpoint: configs (read whole, they are
 * parsed before planning) and tokenizer files (only their sizes: copied by ranges when converting).
 * With `modelType` (`--model_type`, aliases included), only that type's configs and tokenizer files,
 * and the files detection weighs for every type: it still checks the type given against them.
 */
function sidecarNames(modelType?: string): { configs: string[]; tokenizers: string[] } {
  const chosen = ARCHITECTURES.filter(
    (a) => a.modelType === modelType || a.aliases?.includes(modelType ?? '') === true,
  );
  const declaring = chosen.length > 0 ? chosen : ARCHITECTURES;
  const configs = new Set(UNDECLARED_SIDECARS);
  const tokenizers = new Set<string>();
  for (const a of ARCHITECTURES) for (const n of a.detect?.sidecars ?? []) configs.add(n);
  for (const a of declaring) {
    for (const n of a.configFileNames ?? []) configs.add(n);
    for (const t of a.tokenizerFiles ?? [])
      for (const n of typeof t.from === 'string' ? [t.from] : t.from) tokenizers.add(n);
  }
  return { configs: [...configs], tokenizers: [...tokenizers].filter((n) => !configs.has(n)) };
}

/** `model_checkpoint_path: "…"` of a state file's text. */
function namedPrefix(text: string): string | undefined {
  return /^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"/m.exec(text)?.[1];
}

/** The shard count from an index's header entry (the first, with the empty key). */
async function shardCount(tree: FileTree, indexPath: string): Promise<number> {
  const index = await tree.open(indexPath);
  const { entries } = await readTable(index, true);
  const first = entries[0];
  if (first === undefined || first.key.length !== 0)
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${indexPath}: the first entry is not the bundle header (empty key)`, {
      file: indexPath,
    });
  const { numShards } = parseBundleHeader(first.value, `${indexPath}: bundle header`, indexPath);
  if (numShards < 1 || numShards > MAX_SHARDS)
    throw new Tf2TorchError(ErrorCode.MALFORMED, `${indexPath}: header says ${numShards} shards`, { file: indexPath });
  return numShards;
}

/** Shards probed at once while looking for the last one of a GPT release. */
const GPT_SHARD_BATCH = 8;

/**
 * The OpenAI GPT release folder `url` names (the folder, or one of its files), when `params_shapes.json`
 * is there: its shards `params_0.npy` … found by probing in batches up to the first one missing (a folder
 * by URL cannot be listed), each for reading by ranges. Undefined when it is not such a release.
 */
async function openAIGptRelease(tree: UrlFileTree, url: string): Promise<string | undefined> {
  const { paths } = tree;
  const name = paths.basename(url);
  const dir =
    name === PARAMS_SHAPES_FILE || name === PARAMETER_NAMES_FILE || /^params_\d+\.npy$/.test(name)
      ? paths.dirname(url)
      : url;
  await tree.probe([paths.join(dir, PARAMS_SHAPES_FILE)], 'whole');
  if (tree.stat(paths.join(dir, PARAMS_SHAPES_FILE)) === undefined) return undefined;
  tree.addFolder(dir);
  for (let first = 0; first < GPT_MAX_SHARDS; first += GPT_SHARD_BATCH) {
    const batch = Array.from({ length: GPT_SHARD_BATCH }, (_, k) => paths.join(dir, `params_${first + k}.npy`));
    await tree.probe(batch, 'ranges');
    if (batch.some((shard) => tree.stat(shard) === undefined)) break;
  }
  return dir;
}

/**
 * Where a checkpoint named `checkpoint` most likely lies: a prefix (a name with a dot or "ckpt":
 * `bert_model.ckpt`, `model.ckpt-1000000`) in one data shard, its sidecars beside it; else a folder.
 */
function guessLayout(checkpoint: string, prefix: string, paths: UrlFileTree['paths']): { dir: string; shard?: string } {
  const name = paths.basename(prefix);
  const folder = checkpoint.endsWith('/') || !/\.|ckpt/i.test(name);
  return folder
    ? { dir: paths.resolve(checkpoint) }
    : { dir: paths.dirname(prefix), shard: dataShardPath(prefix, 0, 1) };
}

/** How a URL tree reads: the client's options (no environment is read here) and the local files beside. */
export interface UrlFilesOptions extends HttpOptions {
  /** Paths that are not URLs (a config picked apart from the checkpoint); default the platform's tree. */
  readonly local?: FileTree;
  /** 'ranges' when only their presence matters (inspect): nothing but the index is read whole. */
  readonly sidecars?: ProbeKind;
  /** Bytes fetched ahead of the reader and held (default `BUDGET_BYTES`). */
  readonly fetchAheadBytes?: number;
  /** `--model_type` where given: other types' configs and tokenizer files are not looked for. */
  readonly modelType?: string;
}

/** The command line's HTTP options from its environment (`TF2TORCH_HTTP_AUTHORIZATION`, `TF2TORCH_GCS_BASE`). */
export function httpOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): HttpOptions {
  const authorization = env[AUTHORIZATION_ENV];
  const gcsBase = env[GCS_BASE_ENV];
  return {
    ...(authorization === undefined || authorization === '' ? {} : { authorization }),
    ...(gcsBase === undefined || gcsBase === '' ? {} : { gcsBase }),
  };
}

/**
 * A FileTree in which `checkpoint` (a URL: a prefix, one of its files, or a folder with a `checkpoint`
 * state file) and `config` resolve, with local paths read from `options.local`. Undefined when neither
 * is a URL. Credentials and endpoints come from `options` only (the command line reads its environment
 * through `httpOptionsFromEnv`), so this runs in browsers too, over `fetch`.
 */
export async function openUrlFiles(
  checkpoint: string,
  config: string | undefined,
  options: UrlFilesOptions = {},
): Promise<UrlFileTree | undefined> {
  const remoteConfig = config !== undefined && isUrl(config);
  if (!isUrl(checkpoint) && !remoteConfig) return undefined;
  const { local = defaultFiles, sidecars = 'whole', modelType, ...http } = options;
  const tree = new UrlFileTree(local, http);
  const { paths } = tree;
  if (remoteConfig) checkUrl(config, '--config');
  const remoteConfigs = remoteConfig ? [config] : [];
  if (!isUrl(checkpoint)) {
    await tree.probe(remoteConfigs, 'whole');
    return tree;
  }
  checkUrl(checkpoint, '--tf_checkpoint');
  tree.client.warmUp(); // its range thread starts while the index and sidecars are fetched
  const full = paths.resolve(checkpoint);
  let prefix = full.replace(INDEX_SUFFIX, '');
  const stateFile = paths.join(full, 'checkpoint');
  const { configs, tokenizers } = sidecarNames(modelType);
  const sidecarsIn = (dir: string) =>
    tree.probe(
      [...configs, ...tokenizers].map((name) => paths.join(dir, name)),
      sidecars,
    );
  // Most checkpoints are a prefix in one shard, their sidecars beside it: asked for along with the
  // index, that is one round of requests. A name with neither a dot nor "ckpt" is taken for a folder.
  const guess = guessLayout(checkpoint, prefix, paths);
  const first = tree.probe([...remoteConfigs, `${prefix}.index`, stateFile], 'whole');
  const later = [tree.probe(guess.shard === undefined ? [] : [guess.shard], 'ranges'), sidecarsIn(guess.dir)];
  for (const p of later) p.catch(() => undefined); // awaited below, unless the first round fails
  await first;
  if (tree.stat(`${prefix}.index`) === undefined && tree.stat(stateFile) !== undefined) {
    tree.addFolder(full);
    const named = namedPrefix(tree.readText(stateFile));
    // the state file often holds the training machine's absolute path: the prefix is its name here
    if (named !== undefined) {
      prefix = paths.join(full, paths.basename(named));
      await tree.probe([`${prefix}.index`], 'whole');
    }
  }
  const indexPath = `${prefix}.index`;
  // no index: an OpenAI GPT release folder perhaps (its shards found by probing), else a single file
  const release = tree.stat(indexPath) === undefined ? await openAIGptRelease(tree, full) : undefined;
  if (release === undefined && tree.stat(indexPath) === undefined) {
    if (!checkpoint.endsWith('/')) await tree.probe([full], 'ranges'); // a V1 checkpoint is a single table file
    if (tree.stat(full) === undefined) {
      const why = checkpoint.endsWith('/')
        ? `a folder given by URL needs its 'checkpoint' state file (none at ${redactUrl(stateFile)}), as it cannot be listed (nor a params_shapes.json of an OpenAI GPT release); give the checkpoint's prefix instead (…/model.ckpt)`
        : `no ${paths.basename(indexPath)} and no 'checkpoint' state file; give the prefix (…/model.ckpt) or its folder`;
      throw new Tf2TorchError(
        ErrorCode.NOT_FOUND,
        `${redactUrl(checkpoint)}: no TensorFlow checkpoint there (${why})`,
        {
          file: redactUrl(checkpoint),
        },
      );
    }
  }
  const dir = release ?? (tree.stat(full)?.kind === 'directory' ? full : paths.dirname(prefix));
  const shards = release === undefined && tree.stat(indexPath) !== undefined ? await shardCount(tree, indexPath) : 0;
  // the shards' HEADs (but a guessed one found) and, where the guess was wrong, the sidecars of the
  // right folder (the tokenizer's casing looks into the vocabulary, and copies are small: read whole)
  await Promise.all([
    ...later,
    tree.probe(
      Array.from({ length: shards }, (_, k) => dataShardPath(prefix, k, shards)),
      'ranges',
    ),
    dir === guess.dir ? Promise.resolve() : sidecarsIn(dir),
  ]);
  return tree;
}

/**
 * Announces the byte ranges of the tensors `plan` reads (`TensorRef.fileRanges`: a bundle's entries,
 * torch records, numpy shards), in the writer's order, so that they are fetched ahead; the other
 * tensors' bytes are never requested. A range shared by several tensors (a tied storage) is announced
 * once; a tensor that does not know its ranges (a partitioned variable's pieces) is read as it comes.
 */
export function expectPlanReads(tree: FileTree | undefined, source: TensorSource, plan: Plan): void {
  if (!(tree instanceof UrlFileTree) || !isUrl(source.path)) return;
  const byName = new Map(source.tensors.map((t) => [t.name, t]));
  const seen = new Set<string>();
  let run: { path: string; ranges: ByteRange[] } | undefined;
  const flush = () => {
    if (run !== undefined) tree.expect(run.path, run.ranges);
  };
  for (const output of plan.outputs) {
    if (output.kind !== 'tensor') continue;
    for (const { name } of output.sources)
      for (const { path, offset, length } of byName.get(name)?.fileRanges?.() ?? []) {
        const key = `${path}\0${offset}\0${length}`;
        if (seen.has(key) || !isUrl(path)) continue;
        seen.add(key);
        if (run?.path !== path) {
          flush();
          run = { path, ranges: [] };
        }
        run.ranges.push({ offset, length });
      }
  }
  flush();
}

/**
 * After a run (above all a failed one): the fetches ahead still in flight are cancelled, so the process
 * ends now, and the local copies of fetched bytes are closed.
 */
export async function stopFetching(files: FileTree | undefined): Promise<void> {
  if (files instanceof UrlFileTree) await files.close();
}

/** `options` with a URL tree as its files when the checkpoint or config is a URL (and no tree is given). */
export async function withUrlFiles<
  T extends { checkpoint: string; config?: string; files?: FileTree; modelType?: string },
>(options: T, http: HttpOptions): Promise<T> {
  if (options.files !== undefined) return options;
  const { modelType } = options;
  const files = await openUrlFiles(options.checkpoint, options.config, {
    ...http,
    ...(modelType === undefined ? {} : { modelType }),
  });
  return files === undefined ? options : { ...options, files };
}

/** The progress bar's addition for a remote checkpoint: bytes fetched against the bytes needed. */
export function fetchProgress(tree: UrlFileTree): string {
  const { bytesFetched, bytesExpected, bytesWhole } = tree.stats();
  return `fetched ${formatBytes(bytesFetched)}/${formatBytes(bytesExpected + bytesWhole)}`;
}

/** The summary's line for a remote checkpoint (none when only small files were remote): what crossed the network, and what skipping saved. */
export function fetchSummary(tree: UrlFileTree): string[] {
  const { bytesFetched, requests, bytesExpected, bytesOfLargeFiles } = tree.stats();
  if (bytesOfLargeFiles === 0) return [];
  const saved = Math.max(0, bytesOfLargeFiles - bytesExpected);
  return [
    `  fetched ${formatBytes(bytesFetched)} in ${requests} request${requests === 1 ? '' : 's'} for ${formatBytes(bytesExpected)} of tensors out of ${formatBytes(bytesOfLargeFiles)} of data files: ${formatBytes(saved)} of skipped variables (optimizer state, …) never downloaded`,
  ];
}
