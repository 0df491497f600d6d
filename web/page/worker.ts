/**
 * The conversion, off the page's thread: the picked files as a FileTree, the plan in groups, the weights
 * streamed into a File System Access folder or a zip download (bounded memory either way). Every answer
 * carries the pick it belongs to; a cancel aborts the conversion at its next write.
 */
import {
  blobFileTree,
  COMMAND_LINE_SPELLING,
  configTextOf,
  DEFAULT_MAX_SHARD_SIZE,
  expectPlanReads,
  type FileTree,
  folderContent,
  folderOutputs,
  isTf2TorchError,
  isUrl,
  type Notice,
  openAndPlan,
  openUrlFiles,
  type PlannedConversion,
  planToStateDict,
  renderNotice,
  stopFetching,
  type TensorSource,
  writeModelFolder,
  zipStreamOutputs,
} from '../../src/portable.js';
import type {
  FromDownload,
  FromWorker,
  Note,
  OutputFormat,
  PlanGroup,
  PlanRow,
  ToDownload,
  ToWorker,
} from './messages.js';

declare const FileReaderSync: { new (): { readAsText(blob: Blob): string } };
const post = (message: FromWorker) => (self as unknown as Worker).postMessage(message);

/** Bytes of a download sent to the service worker and not yet taken by the browser. */
const DOWNLOAD_IN_FLIGHT_BYTES = 8 * 1024 * 1024;
/** Progress messages at most this often. */
const PROGRESS_EVERY_MS = 100;

let current:
  | {
      pick: number;
      files: FileTree;
      planned: PlannedConversion;
      source: TensorSource;
      running?: AbortController;
      /** A URL's planned ranges announced (once: later runs read them by plain ranges). */
      expected?: boolean;
    }
  | undefined;

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

function groups(planned: PlannedConversion): PlanGroup[] {
  const { plan } = planned;
  const out = new Map<string, PlanRow[]>();
  const add = (title: string, row: PlanRow) => out.set(title, [...(out.get(title) ?? []), row]);
  for (const o of plan.outputs) {
    const title = o.kind === 'tensor' ? 'converted' : o.kind === 'alias' ? 'tied' : 'generated';
    const source =
      o.kind === 'tensor' ? o.sources.map((s) => s.name).join(' + ') : o.kind === 'alias' ? `= ${o.aliasOf}` : '';
    add(title, { key: o.key, source, shape: shapeText(o.shape), dtype: o.dtype });
  }
  for (const s of plan.skipped) add(`skipped: ${s.reason}`, { key: '', source: s.name, shape: '', dtype: '' });
  for (const m of plan.missing)
    add('left to from_pretrained', { key: m.key, source: '', shape: shapeText(m.shape), dtype: '' });
  return [...out].map(([title, rows]) => ({ title, rows }));
}

// warnings are notices (data) or texts; the page rewords the command line's spelling (wording.ts)
const notes = (texts: readonly (string | Notice)[]): Note[] =>
  texts.map((n) => ({ text: typeof n === 'string' ? n : renderNotice(n, COMMAND_LINE_SPELLING) }));

async function plan(message: Extract<ToWorker, { type: 'plan' }>): Promise<void> {
  const previous = current;
  current = undefined;
  previous?.running?.abort();
  await previous?.source.close();
  stopFetching(previous?.files);
  const { choices } = message;
  const picked = message.files.map((f) => ({ path: f.path, blob: f.file as Blob }));
  const configPath = choices.config ? `/config-file/${choices.config.name}` : undefined;
  if (choices.config && configPath) picked.push({ path: configPath, blob: choices.config });
  const local = blobFileTree(picked, (blob) => new FileReaderSync().readAsText(blob));
  // a checkpoint by URL: its files found first, the picked config beside them
  const files = isUrl(message.checkpoint)
    ? ((await openUrlFiles(message.checkpoint, undefined, { local })) ?? local)
    : local;
  const { source, ...planned } = await openAndPlan({
    checkpoint: message.checkpoint,
    files,
    ...(choices.modelType ? { modelType: choices.modelType } : {}),
    ...(configPath ? { config: configPath } : {}),
    modelOptions: choices.modelOptions,
    skipUnknown: choices.skipUnknown,
    ...(choices.dtype ? { dtype: choices.dtype as 'keep' } : {}),
  });
  current = { pick: message.pick, files, planned, source };
  const content = folderContent({ ...planned, configText: configTextOf(planned) }, 'safetensors', files);
  post({
    type: 'planned',
    pick: message.pick,
    modelType: planned.plan.modelType,
    modelClass: planned.plan.modelClass ?? '',
    header: planned.detected ? 'detected from the variable names' : 'as chosen',
    notes: notes(planned.notes),
    warnings: notes([...planned.plan.warnings, ...content.warnings]),
    groups: groups(planned),
    totalBytes: planned.plan.totalBytes,
  });
}

/** A download's bytes sent to the service worker, at most DOWNLOAD_IN_FLIGHT_BYTES ahead of the browser. */
function downloadStream(port: MessagePort, signal: AbortSignal) {
  let inFlight = 0;
  let cancelled = false;
  let wake: (() => void) | undefined;
  const send = (m: ToDownload, transfer: Transferable[] = []) => port.postMessage(m, transfer);
  const nudge = () => {
    wake?.();
    wake = undefined;
  };
  port.onmessage = (event: MessageEvent<FromDownload>) => {
    if ('pulled' in event.data) inFlight -= event.data.pulled;
    else cancelled = true;
    nudge();
  };
  signal.addEventListener('abort', nudge);
  return {
    async write(bytes: Uint8Array): Promise<void> {
      while (inFlight > DOWNLOAD_IN_FLIGHT_BYTES && !cancelled && !signal.aborted)
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      signal.throwIfAborted();
      if (cancelled) throw new DOMException('the download was cancelled in the browser', 'AbortError');
      const copy = bytes.slice();
      send({ chunk: copy }, [copy.buffer]);
      inFlight += copy.byteLength;
    },
    end: () => send({ end: true }),
    fail: (reason: string) => send({ error: reason }),
  };
}

async function convert(message: Extract<ToWorker, { type: 'convert' }>): Promise<void> {
  if (!current || current.pick !== message.pick) throw new Error('pick a checkpoint first');
  if (current.running) throw new Error('a conversion is already running');
  const run = current;
  const controller = new AbortController();
  run.running = controller;
  const { signal } = controller;
  const { files, planned, source } = run;
  const download = message.port ? downloadStream(message.port, signal) : undefined;
  try {
    if (!run.expected) await expectPlanReads(files, source, planned.plan);
    run.expected = true;
    const zip = download ? zipStreamOutputs(download.write, { folder: message.name }) : undefined;
    const outputs = zip ? zip.outputs : folderOutputs(message.folder as FileSystemDirectoryHandle, signal);
    const format: OutputFormat = message.format;
    const passes = format === 'both' ? 2 : 1;
    const total = planned.plan.totalBytes * passes;
    let last = 0;
    const written = await writeModelFolder(
      planned,
      // As the command line writes them: torch files keep transposed kernels in the checkpoint's order
      // (strided), safetensors gets its own copy of every alias it must hold (Transformer-XL's biases).
      (weights) =>
        planToStateDict(planned.plan, source.tensors, {
          strided: weights === 'pytorch',
          copyAliases: weights === 'safetensors',
        }),
      files,
      outputs,
      '/',
      {
        format,
        maxShardSize: DEFAULT_MAX_SHARD_SIZE,
        onProgress: (done) => {
          const now = performance.now();
          if (now - last < PROGRESS_EVERY_MS && done < total) return;
          last = now;
          post({ type: 'progress', pick: run.pick, done, total });
        },
      },
    );
    signal.throwIfAborted();
    await zip?.finish();
    download?.end();
    post({ type: 'done', pick: run.pick, files: written.files, warnings: notes(written.warnings) });
  } catch (error) {
    download?.fail(signal.aborted ? 'cancelled' : 'failed');
    if (signal.aborted || (error instanceof DOMException && error.name === 'AbortError')) {
      post({ type: 'cancelled', pick: run.pick });
      return;
    }
    throw error;
  } finally {
    run.running = undefined;
  }
}

function reply(pick: number, error: unknown): void {
  if (isTf2TorchError(error)) post({ type: 'error', pick, code: error.code, text: error.message });
  else
    post({
      type: 'error',
      pick,
      text: `internal error (please report): ${error instanceof Error ? error.message : String(error)}`,
    });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const m = event.data;
  if (m.type === 'cancel') {
    if (current?.pick === m.pick) current.running?.abort();
    return;
  }
  (m.type === 'plan' ? plan(m) : convert(m)).catch((error: unknown) => reply(m.pick, error));
};
