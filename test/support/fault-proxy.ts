/**
 * A small HTTP proxy on 127.0.0.1 in front of a real server, which misbehaves on the requests a test
 * chooses: `drop` (headers and half the body, then the connection is cut), `503` (Service Unavailable,
 * Retry-After: 0), `403` (Forbidden), `stall` (headers, then silence until the client gives up), `pass`. Each request is
 * numbered from 0 in arrival order; `decide` sees it before it is forwarded (and may change the files
 * served, to replace an object between requests). Closed when the test ends.
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';

export type Fault = 'pass' | 'drop' | '503' | '403' | 'stall';

export interface ProxiedRequest {
  readonly index: number;
  readonly method: string;
  readonly url: string;
  readonly range: string | undefined;
  readonly ifMatch: string | undefined;
  readonly authorization: string | undefined;
}

export interface FaultProxy {
  readonly origin: string;
  readonly requests: ProxiedRequest[];
  /** What to do with each request from now on (default: pass). */
  decide: (request: ProxiedRequest) => Fault;
  /** Forward without If-Match (a server that ignores it): only the answers' own identity tells a change. */
  dropIfMatch: boolean;
}

function forward(upstream: URL, req: IncomingMessage, res: ServerResponse, fault: Fault, dropIfMatch: boolean): void {
  const headers = { ...req.headers, host: upstream.host };
  if (dropIfMatch) delete headers['if-match'];
  const out = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (fault === 'stall') {
        res.flushHeaders();
        answer.resume(); // nothing more reaches the client; it times out and retries
        return;
      }
      if (fault === 'drop') {
        const length = Number(answer.headers['content-length'] ?? 0);
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= length / 2) return;
          const part = chunk.subarray(0, Math.max(0, Math.floor(length / 2) - sent));
          sent += part.byteLength;
          res.write(part);
          if (sent >= Math.floor(length / 2)) {
            answer.destroy();
            setImmediate(() => res.socket?.destroy());
          }
        });
        return;
      }
      answer.pipe(res);
    },
  );
  out.on('error', () => res.socket?.destroy());
  req.pipe(out);
}

export async function startFaultProxy(t: TestContext, upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = { origin: '', requests: [], decide: () => 'pass', dropIfMatch: false };
  const server = createServer((req, res) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    };
    const seen: ProxiedRequest = {
      index: proxy.requests.length,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      range: header('range'),
      ifMatch: header('if-match'),
      authorization: header('authorization'),
    };
    proxy.requests.push(seen);
    const fault = proxy.decide(seen);
    if (fault === '503' || fault === '403') {
      res.writeHead(Number(fault), fault === '503' ? { 'retry-after': '0', 'content-length': '0' } : {});
      res.end();
      return;
    }
    forward(target, req, res, fault, proxy.dropIfMatch);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return Object.assign(proxy, { origin: `http://127.0.0.1:${port}` });
}
