/**
 * The conversion, off the page's thread: the picked files as a FileTree, the plan as table rows, the
 * weights written into a File System Access folder or kept for download. Errors come back as the command
 * line prints them (`error[CODE]: …`).
 */
import {
  blobFileTree,
  DEFAULT_MAX_SHARD_SIZE,
  type FileTree,
  formatPlan,
  isTf2TorchError,
  openAndPlan,
  type PlannedConversion,
  planToStateDict,
  type TensorSource,
  writeModelFolder,
} from '../../src/portable.js';
import type { FromWorker, PlanRow, ToWorker } from './messages.js';
import { downloadOutputs, folderOutputs } from './outputs.js';

declare const FileReaderSync: { new (): { readAsText(blob: Blob): string } };
const post = (message: FromWorker) => (self as unknown as Worker).postMessage(message);

let current: { files: FileTree; planned: PlannedConversion; source: TensorSource } | undefined;

function rows(planned: PlannedConversion): PlanRow[] {
  const { plan } = planned;
  const shape = (s: readonly number[]) => `[${s.join(', ')}]`;
  return [
    ...plan.outputs.map(
      (o): PlanRow => ({
        status: o.kind === 'tensor' ? 'converted' : o.kind === 'alias' ? 'tied' : 'generated',
        key: o.key,
        source:
          o.kind === 'tensor' ? o.sources.map((s) => s.name).join(' + ') : o.kind === 'alias' ? `= ${o.aliasOf}` : '',
        shape: shape(o.shape),
        dtype: o.dtype,
      }),
    ),
    ...plan.skipped.map(
      (s): PlanRow => ({ status: 'skipped', key: '', source: `${s.name} (${s.reason})`, shape: '', dtype: '' }),
    ),
    ...plan.missing.map(
      (m): PlanRow => ({ status: 'from_pretrained', key: m.key, source: '', shape: shape(m.shape), dtype: '' }),
    ),
  ];
}

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'plan') {
    await current?.source.close();
    current = undefined;
    const files = blobFileTree(
      message.files.map((f) => ({ path: f.path, blob: f.file })),
      (blob) => new FileReaderSync().readAsText(blob),
    );
    const { source, ...planned } = await openAndPlan({ checkpoint: message.checkpoint, files });
    current = { files, planned, source };
    const header = formatPlan(planned.plan).split('\n').slice(0, 3).join('\n');
    post({
      type: 'planned',
      modelType: `${planned.plan.modelType}${planned.plan.modelClass ? ` (${planned.plan.modelClass})` : ''}`,
      notes: [header, ...planned.notes.map((n) => `note: ${n}`)].join('\n'),
      rows: rows(planned),
    });
    return;
  }
  if (!current) throw new Error('pick a checkpoint first');
  const { files, planned, source } = current;
  const entries = planToStateDict(planned.plan, source.tensors);
  const download = message.folder ? undefined : downloadOutputs();
  const outputs = message.folder ? folderOutputs(message.folder) : download!.outputs;
  const total = planned.plan.totalBytes;
  const written = await writeModelFolder(planned, entries, files, outputs, '/', {
    format: message.format,
    maxShardSize: message.format === 'pytorch' ? Number.MAX_SAFE_INTEGER : DEFAULT_MAX_SHARD_SIZE,
    onProgress: (done) => post({ type: 'progress', done, total }),
  });
  post({ type: 'done', files: written.files.map((name) => ({ name, blob: download?.files.get(name) })) });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((error: unknown) => {
    const text = isTf2TorchError(error)
      ? `error[${error.code}]: ${error.message}`
      : `internal error (please report): ${error instanceof Error ? error.message : String(error)}`;
    post({ type: 'error', text });
  });
};
