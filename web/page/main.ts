/** The page: picks files, shows the plan, starts the conversion in a worker, offers the results. */
import type { FromWorker, PickedEntry, ToWorker } from './messages.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker('worker.js');
const send = (message: ToWorker) => worker.postMessage(message);
let folder: FileSystemDirectoryHandle | undefined;

function setStatus(text: string) {
  $('status').textContent = text;
}

function pick(list: FileList | null, asFolder: boolean) {
  if (!list || list.length === 0) return;
  // A picked folder keeps its relative paths; loose files share one folder.
  const files: PickedEntry[] = [...list].map((file) => ({
    path: `/${asFolder && file.webkitRelativePath ? file.webkitRelativePath : `picked/${file.name}`}`,
    file,
  }));
  const root = asFolder ? `/${files[0]!.path.split('/')[1]}` : '/picked';
  $('error').textContent = '';
  $('downloads').replaceChildren();
  ($('convert') as HTMLButtonElement).disabled = true;
  setStatus('reading the checkpoint…');
  send({ type: 'plan', files, checkpoint: root });
}

$<HTMLInputElement>('pick-folder').addEventListener('change', (e) => pick((e.target as HTMLInputElement).files, true));
$<HTMLInputElement>('pick-files').addEventListener('change', (e) => pick((e.target as HTMLInputElement).files, false));

const picker = (window as unknown as { showDirectoryPicker?: (o: object) => Promise<FileSystemDirectoryHandle> })
  .showDirectoryPicker;
if (picker) {
  const button = $<HTMLButtonElement>('choose-folder');
  button.hidden = false;
  button.addEventListener('click', async () => {
    folder = await picker({ mode: 'readwrite' });
    $('folder-name').textContent = `→ ${folder.name}/`;
  });
}

$('convert').addEventListener('click', () => {
  const format = (document.querySelector('input[name=format]:checked') as HTMLInputElement).value as
    | 'safetensors'
    | 'pytorch';
  $('error').textContent = '';
  $('downloads').replaceChildren();
  setStatus('converting…');
  send({ type: 'convert', format, ...(folder ? { folder } : {}) });
});

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  if (m.type === 'planned') {
    $('model-type').textContent = m.modelType;
    $('notes').textContent = m.notes;
    const body = $('plan').querySelector('tbody') as HTMLTableSectionElement;
    body.replaceChildren(
      ...m.rows.map((r) => {
        const tr = document.createElement('tr');
        for (const text of [r.status, r.key, r.source, r.shape, r.dtype]) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    ($('convert') as HTMLButtonElement).disabled = false;
    setStatus('ready');
  } else if (m.type === 'progress') {
    const bar = $<HTMLProgressElement>('progress');
    bar.max = Math.max(1, m.total);
    bar.value = m.done;
  } else if (m.type === 'done') {
    $<HTMLProgressElement>('progress').value = $<HTMLProgressElement>('progress').max;
    setStatus(`done: ${m.files.map((f) => f.name).join(', ')}`);
    for (const { name, blob } of m.files) {
      if (!blob) continue;
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = name;
      a.textContent = `Save ${name}`;
      const li = document.createElement('li');
      li.append(a);
      $('downloads').append(li);
    }
  } else {
    $('error').textContent = m.text;
    setStatus('failed');
  }
};
