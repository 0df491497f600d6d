/**
 * The page's service worker: answers `download/<id>/<name>` with a stream fed by the conversion worker
 * through a MessagePort, so the browser saves the output to disk as it is produced (no Blob of the whole
 * output). A chunk is acknowledged when the browser takes it: the worker stays a bounded amount ahead. A
 * failed or cancelled conversion errors the stream, and the browser discards the partial download.
 */
import type { FromDownload, ToDownload } from './messages.js';

interface SwScope {
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: string, listener: (event: never) => void): void;
}
interface FetchEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface SwMessageEvent {
  readonly data: { type: 'download'; id: string; name: string };
  readonly ports: readonly MessagePort[];
  readonly source: { postMessage(message: unknown): void } | null;
}

const scope = self as unknown as SwScope;
const pending = new Map<string, { name: string; port: MessagePort }>();

scope.addEventListener('install', () => void scope.skipWaiting());
scope.addEventListener('activate', (event: { waitUntil(p: Promise<void>): void }) =>
  event.waitUntil(scope.clients.claim()),
);

scope.addEventListener('message', (event: SwMessageEvent) => {
  const port = event.ports[0];
  if (event.data?.type !== 'download' || port === undefined) return;
  pending.set(event.data.id, { name: event.data.name, port });
  event.source?.postMessage({ type: 'download-ready', id: event.data.id });
});

function streamOf(port: MessagePort): ReadableStream<Uint8Array> {
  const queue: ToDownload[] = [];
  let wake: (() => void) | undefined;
  const reply = (m: FromDownload) => port.postMessage(m);
  port.onmessage = (event: MessageEvent<ToDownload>) => {
    queue.push(event.data);
    wake?.();
    wake = undefined;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const m = queue.shift() as ToDownload;
        if ('chunk' in m) {
          controller.enqueue(m.chunk);
          reply({ pulled: m.chunk.byteLength });
        } else if ('end' in m) {
          controller.close();
          port.close();
        } else {
          controller.error(new Error(m.error));
          port.close();
        }
      },
      cancel() {
        reply({ cancelled: true });
      },
    },
    { highWaterMark: 0 },
  );
}

scope.addEventListener('fetch', (event: FetchEvent) => {
  const match = /\/download\/([^/]+)\/[^/]+$/.exec(new URL(event.request.url).pathname);
  const download = match ? pending.get(match[1] as string) : undefined;
  if (!match || !download) return;
  pending.delete(match[1] as string);
  const safeName = download.name.replace(/[^\w.-]/g, '_');
  event.respondWith(
    new Response(streamOf(download.port), {
      headers: {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${safeName}"`,
        'cache-control': 'no-store',
      },
    }),
  );
});
