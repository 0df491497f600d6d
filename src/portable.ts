/**
 * The platform-neutral part of the public API, for browsers, workers and other runtimes without a file
 * system (`tf2torch/portable`, and `tf2torch` itself under the `browser` condition). The one call:
 *
 *   const controller = new AbortController();
 *   const result = await convert({
 *     checkpoint: '/ckpt/bert_model.ckpt', files: blobFileTree(picked, readTextSync), output: outputs,
 *     signal: controller.signal, onProgress: ({ stage, bytesDone, bytesTotal }) => …,
 *   });
 *   for (const n of result.notices) show(n.level, n.code, n.values, renderNotice(n, spellOption));
 *
 * Aborting fails it with `ErrorCode.ABORTED` and removes every file it wrote. The steps it composes,
 * for callers that show the plan before writing (a caller supplies the files):
 *
 *   const files = blobFileTree(picked, readTextSync);        // or any FileTree of ByteSources
 *   const { source, reads, ...planned } = await openAndPlan({ checkpoint: '/ckpt', files });
 *   const entries = planToStateDict(planned.plan, source.tensors);
 *   await writeModelFolder(planned, entries, files, outputs, '/', { format: 'safetensors', maxShardSize });
 *   await source.close();
 *
 * A checkpoint by URL (https://, or gs:// read from Cloud Storage's public endpoint; the server must allow
 * cross-origin reads): its files are found first, and only the ranges of the planned tensors are fetched:
 *
 *   const files = await openUrlFiles(url, undefined, { authorization, local: blobFileTree(picked, read) });
 *   const { source, ...planned } = await openAndPlan({ checkpoint: url, files });
 *   expectPlanReads(files, source, planned.plan);            // then write as above; stopFetching(files) at the end
 *
 * `outputs` is an OutputTree: each file is written through a ByteSink (positioned writes) and appears
 * under its name only when complete. Everything here is also exported by the Node entry (`index.ts`).
 */

// The browser's output writers (a File System Access folder; a zip streamed to a download) and what the
// page lists: the registry of types, byte counts for people.
export { ARCHITECTURES } from './architectures/index.js';
export {
  type ConversionResult,
  type ConvertIntoOptions,
  convertInto as convert,
} from './convert/convert-into.js';
export {
  type ConversionProgress,
  type ConvertOptions,
  checkpointFilesIn,
  configTextOf,
  formatOfPath,
  openAndPlan,
  openAsIs,
  type PlannedConversion,
  type WeightFormat,
} from './convert/open-and-plan.js';
export {
  isOurModelCard,
  MODEL_CARD_NAME,
  modelCardFrom,
  modelCardText,
} from './convert/output/model-card-text.js';
export { type FolderOptions, folderContent, writeModelFolder } from './convert/output/model-folder.js';
export { planToStateDict, type StateDictOptions } from './convert/pipeline/plan-to-state-dict.js';
export {
  expectPlanReads,
  fetchSummary,
  openUrlFiles,
  stopFetching,
  type UrlFilesOptions,
} from './convert/url-input.js';
export { type ErrorAdvice, ErrorCode, isTf2TorchError, Tf2TorchError } from './errors.js';
export { OPENERS, openTensorSource } from './formats/open.js';
export { DEFAULT_MAX_SHARD_SIZE } from './formats/sharding.js';
export type { OpenOptions, TensorRole, TensorSource, TensorSourceOpener } from './formats/source.js';
export type { StateDictEntry, StridedStorage } from './formats/state-dict.js';
export { type ByteStream, type ZipStream, zipStreamOutputs } from './formats/zip-stream.js';
export { blobFileTree, type PickedFile } from './io/blob-files.js';
export { type DirectoryHandleLike, folderOutputs, type WritableFileLike } from './io/browser-outputs.js';
export { type ByteSink, type OutputTree, writeTextFile } from './io/byte-sink.js';
export type { ByteSource, FileStat, FileTree, PathSyntax } from './io/byte-source.js';
export { DEFAULT_HTTP_LIMITS, type HttpLimits, type HttpOptions } from './io/http-client.js';
export { createFetchTransport, fetchTransport, type HttpTransport } from './io/http-transport.js';
export { POSIX_PATHS } from './io/posix-paths.js';
export { GCS_PUBLIC_BASE, httpUrlOf, isUrl, redactUrl } from './io/url-paths.js';
export { UrlFileTree, type UrlTreeStats } from './io/url-tree.js';
export { buildPlan, formatPlan, type Plan, type PlanOptions, type PlanOutput } from './mapping/index.js';
export {
  AdviceCode,
  COMMAND_LINE_SPELLING,
  LIBRARY_SPELLING,
  type NoteInput,
  type Notice,
  NoticeCode,
  type NoticeLevel,
  type NoticeValue,
  type OptionSpelling,
  renderNotice,
} from './mapping/notices.js';
export { formatBytes } from './units.js';
