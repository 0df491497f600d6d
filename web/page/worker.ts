/**
 * The conversion, off the page's thread: the picked files as a FileTree, the plan in groups, the weights
 * streamed into a File System Access folder or a zip download (bounded memory either way). Every answer
 * carries the pick it belongs to; a cancel aborts the conversion at its next write.
 */
import {
  blobFileTree,
  configTextOf,
  DEFAULT_MAX_SHARD_SIZE,
  expectPlanReads,
  type FileTree,
  folderContent,
  folderOutputs,
  isOurModelCard,
  isTf2TorchError,
  isUrl,
  MODEL_CARD_NAME,
  modelCardFrom,
  type NoteInput,
  openAndPlan,
  openUrlFiles,
  type PlannedConversion,
  planToStateDict,
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
  PlanChoices,
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
/** A README.md already in the chosen folder is read up to this size to tell whether it is ours. */
const MAX_EXISTING_CARD_BYTES = 1024 * 1024;

let current:
  | {
      pick: number;
      files: FileTree;
      planned: PlannedConversion;
      source: TensorSource;
      /** Every other file the plan read (config, sidecars, tokenizer sources). */
      reads: readonly string[];
      choices: PlanChoices;
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

/** Notes as data where they are (the page words their options), else as text. */
const notes = (inputs: readonly NoteInput[]): Note[] =>
  inputs.map((n) =>
    typeof n === 'string' ? { text: n } : { text: n.message, template: n.template, values: n.values },
  );

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
    ? ((await openUrlFiles(message.checkpoint, undefined, {
        local,
        ...(choices.modelType ? { modelType: choices.modelType } : {}),
      })) ?? local)
    : local;
  const { source, reads, ...planned } = await openAndPlan({
    checkpoint: message.checkpoint,
    files,
    ...(choices.modelType ? { modelType: choices.modelType } : {}),
    ...(configPath ? { config: configPath } : {}),
    modelOptions: choices.modelOptions,
    skipUnknown: choices.skipUnknown,
    ...(choices.dtype ? { dtype: choices.dtype as 'keep' } : {}),
  });
  current = { pick: message.pick, files, planned, source, reads, choices };
  const content = folderContent({ ...planned, configText: configTextOf(planned) }, 'safetensors', files);
  post({
    type: 'planned',
    pick: message.pick,
    modelType: planned.plan.modelType,
    modelClass: planned.plan.modelClass ?? '',
    header: planned.detected ? 'detected from the variable names' : 'as chosen',
    notes: notes(planned.notices),
    warnings: notes([...planned.plan.warnings, ...content.warnings]),
    groups: groups(planned),
    totalBytes: planned.plan.totalBytes,
  });
}

/** How the page's conversion was run, in words, for the model card (the command line's card has its command). */
function ranAs(choices: PlanChoices, format: OutputFormat): string {
  const chosen = [
    `format ${format}`,
    ...(choices.modelType ? [`model type ${choices.modelType}`] : []),
    ...(choices.config ? [`config ${choices.config.name}`] : []),
    ...Object.entries(choices.modelOptions).map(([name, value]) => `${name} ${value}`),
    ...(choices.dtype ? [`dtype ${choices.dtype}`] : []),
    ...(choices.skipUnknown ? ['leaving out variables no rule maps'] : []),
  ];
  return `Converted in tf2torch's web page: ${chosen.join(', ')}.`;
}

/** The warning that keeps a README.md the user wrote in the chosen folder, or undefined when there is none or it is ours. */
async function userModelCard(folder: FileSystemDirectoryHandle): Promise<string | undefined> {
  const file = await folder.getFileHandle(MODEL_CARD_NAME).then(
    (handle) => handle.getFile(),
    () => undefined,
  );
  if (file === undefined) return undefined;
  const ours = file.size <= MAX_EXISTING_CARD_BYTES && isOurModelCard(await file.text());
  return ours
    ? undefined
    : `${MODEL_CARD_NAME} in the chosen folder was not written by tf2torch: kept as it is, with no model card (move it away to get one)`;
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
  const { files, planned, source, reads } = run;
  const download = message.port ? downloadStream(message.port, signal) : undefined;
  try {
    if (!run.expected) expectPlanReads(files, source, planned.plan);
    run.expected = true;
    const zip = download ? zipStreamOutputs(download.write, { folder: message.name }) : undefined;
    const outputs = zip ? zip.outputs : folderOutputs(message.folder as FileSystemDirectoryHandle, signal);
    const format: OutputFormat = message.format;
    const passes = format === 'both' ? 2 : 1;
    const total = planned.plan.totalBytes * passes;
    let last = 0;
    const userCard = message.folder ? await userModelCard(message.folder) : undefined;
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
        ...(userCard
          ? {}
          : {
              lastFile: modelCardFrom(files, planned, {
                sourcePath: source.path,
                reads,
                ranAs: ranAs(run.choices, format),
              }),
            }),
      },
    );
    if (userCard) written.warnings.push(userCard);
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
  if (isTf2TorchError(error)) {
    const { advice } = error;
    post({
      type: 'error',
      pick,
      code: error.code,
      text: error.message,
      ...(advice ? { template: advice.template, values: advice.values } : {}),
      ...(advice?.option === 'modelType' && advice.choices ? { candidates: advice.choices } : {}),
    });
  } else
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
