/**
 * The page: one state per pick (a new pick clears everything an earlier one showed), the choices the
 * command line's flags make, the plan in groups, a conversion at a time in a worker with Cancel, and
 * progress in words. Output goes to a picked folder or a zip streamed through the service worker.
 */
import { ARCHITECTURES, formatBytes, isUrl } from '../../src/portable.js';
import type { FromWorker, Note, OutputFormat, PickedEntry, PlanChoices, PlanGroup, ToWorker } from './messages.js';
import { optionLabel, pageWording } from './wording.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker('worker.js');
const send = (message: ToWorker, transfer: Transferable[] = []) => worker.postMessage(message, transfer);
const MODEL_TYPES = [...new Set(ARCHITECTURES.map((a) => a.modelType))];

/** Everything about the current pick; replaced whole by the next one. */
let pick = 0;
let picked: { files: PickedEntry[]; root: string; name: string } | undefined;
let planned = false;
let busy = false;
let started = { at: 0, done: 0 };

const convertButton = $<HTMLButtonElement>('convert');
const cancelButton = $<HTMLButtonElement>('cancel');

function setStatus(text: string) {
  $('status').textContent = text;
}

function setBusy(value: boolean) {
  busy = value;
  convertButton.disabled = busy || !planned;
  cancelButton.disabled = !busy;
  for (const control of document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>(
    'fieldset input, fieldset select, fieldset button',
  ))
    control.disabled = busy;
}

function list(id: string, notes: readonly Note[]) {
  $(id).replaceChildren(
    ...notes.map((n) => {
      const li = document.createElement('li');
      li.textContent = pageWording(n);
      return li;
    }),
  );
}

/** Clears what an earlier pick or run showed. */
function clearShown() {
  for (const id of ['model-type', 'model-class', 'error', 'progress-text']) $(id).textContent = '';
  $('model-type').textContent = '—';
  for (const id of ['warnings', 'notes', 'plan']) $(id).replaceChildren();
  const bar = $<HTMLProgressElement>('progress');
  bar.value = 0;
  bar.max = 1;
}

// ---- the supported types and the type control, from the registry ----
for (const type of MODEL_TYPES) {
  const summary = ARCHITECTURES.filter((a) => a.modelType === type)
    .map((a) => a.summary)
    .join('; ');
  const li = document.createElement('li');
  li.textContent = pageWording({ text: `${type}: ${summary}` });
  $('types').append(li);
  const option = document.createElement('option');
  option.value = type;
  option.textContent = type;
  $('model-type-choice').append(option);
}

/** The per-type controls of `type` (its declared options), replacing the previous type's. */
function showTypeOptions(type: string) {
  const holder = $('type-options');
  if (holder.dataset.type === type) return;
  holder.dataset.type = type;
  const options = new Map(
    ARCHITECTURES.filter((a) => a.modelType === type)
      .flatMap((a) => a.options ?? [])
      .map((o) => [o.name, o]),
  );
  holder.replaceChildren(
    ...[...options.values()].flatMap((o) => {
      const id = `option-${o.name}`;
      const label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = optionLabel(o.name);
      label.title = o.help;
      let control: HTMLInputElement | HTMLSelectElement;
      if (o.choices) {
        control = document.createElement('select');
        for (const c of o.choices) control.append(new Option(c, c));
      } else {
        control = document.createElement('input');
        if (o.value === undefined) control.type = 'checkbox';
        else control.placeholder = o.value.toLowerCase();
      }
      control.id = id;
      control.dataset.option = o.name;
      control.addEventListener('change', replan);
      return [label, control];
    }),
  );
}

function choices(): PlanChoices {
  const modelOptions: Record<string, string> = {};
  for (const control of $('type-options').querySelectorAll<HTMLInputElement | HTMLSelectElement>('[data-option]')) {
    const value =
      control instanceof HTMLInputElement && control.type === 'checkbox' ? String(control.checked) : control.value;
    if (value !== '') modelOptions[control.dataset.option as string] = value;
  }
  const config = $<HTMLInputElement>('config-file').files?.[0];
  const modelType = $<HTMLSelectElement>('model-type-choice').value;
  const dtype = $<HTMLSelectElement>('dtype').value;
  const skipUnknown = $<HTMLInputElement>('skip-unknown').checked;
  return {
    modelOptions,
    skipUnknown,
    ...(modelType ? { modelType } : {}),
    ...(config ? { config } : {}),
    ...(dtype ? { dtype } : {}),
  };
}

/** A new state: everything shown before is cleared, and answers to earlier picks are ignored. */
function replan() {
  if (!picked || busy) return;
  pick++;
  planned = false;
  clearShown();
  setBusy(false);
  setStatus('reading the checkpoint…');
  send({ type: 'plan', pick, files: picked.files, checkpoint: picked.root, choices: choices() });
}

function pickFiles(files: PickedEntry[]) {
  if (files.length === 0 || busy) return;
  const first = files[0]?.path.split('/')[1] ?? 'picked';
  const inFolder = files.every((f) => f.path.startsWith(`/${first}/`));
  newCheckpoint({ files, root: inFolder ? `/${first}` : '/', name: inFolder ? first : 'checkpoint' });
}

/** A checkpoint by URL: read like a picked folder (the worker finds its files and fetches only what it needs). */
function pickUrl(text: string) {
  const url = text.trim();
  if (url === '' || busy) return;
  if (!isUrl(url)) {
    $('error').textContent = `${url}: not a URL the page reads (https://…, http://… or gs://bucket/…)`;
    return;
  }
  const last =
    url
      .replace(/[?#].*$/s, '')
      .split('/')
      .filter((part) => part !== '')
      .at(-1) ?? 'checkpoint';
  newCheckpoint({ files: [], root: url, name: last.replace(/\.(index|ckpt)$/, '') || 'checkpoint' });
}

function newCheckpoint(checkpoint: NonNullable<typeof picked>) {
  picked = checkpoint;
  // A new checkpoint: the previous one's type and options do not carry over.
  $<HTMLSelectElement>('model-type-choice').value = '';
  for (const option of $<HTMLSelectElement>('model-type-choice').options) option.hidden = false;
  $('type-options').replaceChildren();
  delete $('type-options').dataset.type;
  replan();
}

function fromList(list: FileList | null, asFolder: boolean): PickedEntry[] {
  return [...(list ?? [])].map((file) => ({
    path: `/${asFolder && file.webkitRelativePath ? file.webkitRelativePath : `picked/${file.name}`}`,
    file,
  }));
}

$<HTMLInputElement>('pick-folder').addEventListener('change', (e) =>
  pickFiles(fromList((e.target as HTMLInputElement).files, true)),
);
$<HTMLInputElement>('pick-files').addEventListener('change', (e) =>
  pickFiles(fromList((e.target as HTMLInputElement).files, false)),
);
$('url-form').addEventListener('submit', (e) => {
  e.preventDefault();
  pickUrl($<HTMLInputElement>('checkpoint-url').value);
});
for (const id of ['model-type-choice', 'config-file', 'dtype', 'skip-unknown'])
  $(id).addEventListener('change', replan);
$('config-clear').addEventListener('click', () => {
  $<HTMLInputElement>('config-file').value = '';
  replan();
});

// ---- drag and drop of a folder or files ----
async function entriesOf(entry: FileSystemEntry, at: string): Promise<PickedEntry[]> {
  if (entry.isFile)
    return [
      {
        path: `${at}/${entry.name}`,
        file: await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail)),
      },
    ];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const children: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) break;
    children.push(...batch);
  }
  return (await Promise.all(children.map((c) => entriesOf(c, `${at}/${entry.name}`)))).flat();
}
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const entries = [...(e.dataTransfer?.items ?? [])].flatMap((i) => i.webkitGetAsEntry() ?? []);
  const single = entries.length === 1 && entries[0]?.isDirectory;
  const files = (await Promise.all(entries.map((entry) => entriesOf(entry, single ? '' : '/picked')))).flat();
  pickFiles(files);
});

// ---- output destinations ----
const picker = (window as unknown as { showDirectoryPicker?: (o: object) => Promise<FileSystemDirectoryHandle> })
  .showDirectoryPicker;
if (picker) $('folder-choice').hidden = false;

const download = navigator.serviceWorker
  ?.register('sw.js')
  .then(() => navigator.serviceWorker.ready)
  .catch(() => undefined);

/** A zip download streamed through the service worker; the worker writes into the returned port. */
async function startZipDownload(name: string): Promise<MessagePort> {
  const registration = await download;
  const active = registration?.active;
  if (!active) throw new Error('this browser cannot stream a download here (no service worker)');
  const id = crypto.randomUUID();
  const channel = new MessageChannel();
  const ready = new Promise<void>((resolve) => {
    const listen = (event: MessageEvent) => {
      if (event.data?.type === 'download-ready' && event.data.id === id) {
        navigator.serviceWorker.removeEventListener('message', listen);
        resolve();
      }
    };
    navigator.serviceWorker.addEventListener('message', listen);
  });
  active.postMessage({ type: 'download', id, name }, [channel.port1]);
  await ready;
  const frame = document.createElement('iframe');
  frame.hidden = true;
  frame.src = `download/${id}/${encodeURIComponent(name)}`;
  document.body.append(frame);
  setTimeout(() => frame.remove(), 60_000);
  return channel.port2;
}

convertButton.addEventListener('click', async () => {
  if (busy || !planned || !picked) return;
  setBusy(true);
  $('error').textContent = '';
  const format = (document.querySelector('input[name=format]:checked') as HTMLInputElement).value as OutputFormat;
  const toFolder = (document.querySelector('input[name=destination]:checked') as HTMLInputElement).value === 'folder';
  const name = `${picked.name}-hf`;
  try {
    if (toFolder && picker) {
      const folder = await picker({ mode: 'readwrite' });
      setStatus(`converting into ${folder.name}/…`);
      send({ type: 'convert', pick, format, folder, name });
    } else {
      const port = await startZipDownload(`${name}.zip`);
      setStatus(`converting into ${name}.zip…`);
      send({ type: 'convert', pick, format, port, name }, [port]);
    }
    started = { at: performance.now(), done: 0 };
    $('progress-text').textContent = 'starting…';
  } catch (error) {
    setBusy(false);
    $('error').textContent = error instanceof Error ? error.message : String(error);
    setStatus('ready');
  }
});

cancelButton.addEventListener('click', () => {
  if (!busy) return;
  setStatus('cancelling…');
  send({ type: 'cancel', pick });
});

// ---- answers ----
function seconds(s: number): string {
  if (!Number.isFinite(s)) return '…';
  return s < 90 ? `${Math.ceil(s)} s` : `${Math.round(s / 60)} min`;
}

function progressText(done: number, total: number): string {
  const elapsed = (performance.now() - started.at) / 1000;
  const rate = elapsed > 0 ? done / elapsed : 0;
  const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
  const left = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
  return `${formatBytes(done)} of ${formatBytes(total)} written (${percent} %), ${formatBytes(rate)}/s, about ${seconds(left)} left`;
}

function showPlan(groups: readonly PlanGroup[]) {
  $('plan').replaceChildren(
    ...groups.map((g) => {
      const details = document.createElement('details');
      const summary = document.createElement('summary');
      summary.textContent = `${g.title}: ${g.rows.length}`;
      details.append(summary);
      // rows built when first opened: a checkpoint may list thousands
      details.addEventListener(
        'toggle',
        () => {
          const table = document.createElement('table');
          table.innerHTML = '<thead><tr><th>output key</th><th>source</th><th>shape</th><th>dtype</th></tr></thead>';
          const body = document.createElement('tbody');
          for (const r of g.rows) {
            const tr = document.createElement('tr');
            for (const text of [r.key, r.source, r.shape, r.dtype]) {
              const td = document.createElement('td');
              td.textContent = text;
              tr.append(td);
            }
            body.append(tr);
          }
          table.append(body);
          details.append(table);
        },
        { once: true },
      );
      return details;
    }),
  );
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  if (m.pick !== pick) return; // an answer about an earlier pick
  if (m.type === 'planned') {
    planned = true;
    $('model-type').textContent = m.modelType;
    $('model-class').textContent = `${m.modelClass} (${m.header})`;
    showTypeOptions(m.modelType);
    list('warnings', m.warnings);
    list('notes', m.notes);
    showPlan(m.groups);
    setBusy(false);
    setStatus('ready');
  } else if (m.type === 'progress') {
    const bar = $<HTMLProgressElement>('progress');
    bar.max = Math.max(1, m.total);
    bar.value = m.done;
    $('progress-text').textContent = progressText(m.done, m.total);
  } else if (m.type === 'done') {
    const bar = $<HTMLProgressElement>('progress');
    bar.value = bar.max;
    const shown = new Set([...$('warnings').children].map((li) => li.textContent));
    for (const w of m.warnings.map(pageWording).filter((w) => !shown.has(w))) {
      const li = document.createElement('li');
      li.textContent = w;
      $('warnings').append(li);
    }
    $('progress-text').textContent = 'done';
    setBusy(false);
    setStatus(`done: ${m.files.join(', ')}`);
  } else if (m.type === 'cancelled') {
    $('progress-text').textContent = 'cancelled: nothing was kept';
    setBusy(false);
    setStatus('cancelled');
  } else {
    const { candidates } = m;
    $('error').textContent = `${m.code ? `error[${m.code}]: ` : ''}${pageWording(m)}`;
    if (candidates) {
      const select = $<HTMLSelectElement>('model-type-choice');
      for (const option of select.options) option.hidden = option.value !== '' && !candidates.includes(option.value);
      select.focus();
    }
    setBusy(false);
    setStatus('failed');
  }
};
