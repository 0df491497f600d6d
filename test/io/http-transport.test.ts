/**
 * Node's transport for plain HTTP (sockets reading into reusable buffers) against a small server of the
 * test's own that answers the ways nginx does not: a redirect, a chunked body, an error without a
 * length, a connection closed mid-body; and the connections it keeps for the next request.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type TestContext, test } from 'node:test';
import { HttpClient } from '../../src/io/http-client.js';
import { httpTransport } from '../../src/io/node-platform.js';

const BODY = randomBytes(1024 * 1024 + 3);
const FAST = { backoffMs: 1, maxBackoffMs: 5, maxAttempts: 2, stallMs: 5_000 };

async function server(t: TestContext, handle: (req: IncomingMessage, res: ServerResponse) => void) {
  let connections = 0;
  const s = createServer(handle);
  s.on('connection', () => connections++);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const address = s.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
  t.after(() => s.closeAllConnections());
  return { origin: `http://127.0.0.1:${port}`, connections: () => connections };
}

/** Static answers with Content-Length and Range, like a file server. */
function serveBody(req: IncomingMessage, res: ServerResponse): void {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  const headers = { etag: '"v1"', 'content-type': 'application/octet-stream' };
  if (m === null) return void res.writeHead(200, { ...headers, 'content-length': BODY.length }).end(BODY);
  const [start, end] = [Number(m[1]), Number(m[2])];
  res
    .writeHead(206, {
      ...headers,
      'content-range': `bytes ${start}-${end}/${BODY.length}`,
      'content-length': end - start + 1,
    })
    .end(BODY.subarray(start, end + 1));
}

test('ranged reads over plain HTTP equal the body and reuse one connection', async (t) => {
  const s = await server(t, serveBody);
  const client = new HttpClient({ limits: FAST });
  const identity = await client.head(`${s.origin}/blob`, 'blob');
  assert.equal(identity?.size, BODY.length);
  for (let at = 0; at < BODY.length; at += 100_003) {
    const target = new Uint8Array(Math.min(100_003, BODY.length - at));
    await client.readRange(`${s.origin}/blob`, 'blob', identity as NonNullable<typeof identity>, target, at);
    assert.deepEqual(Buffer.from(target), BODY.subarray(at, at + target.length));
  }
  assert.equal(s.connections(), 1);
});

test('a whole body read chunk by chunk (longer than a socket read) equals the body', async (t) => {
  const s = await server(t, serveBody);
  const client = new HttpClient({ limits: FAST });
  const whole = await client.getWhole(`${s.origin}/blob`, 'blob', 4 * 1024 * 1024);
  assert.ok(Buffer.from(whole?.bytes ?? []).equals(BODY), 'the bytes read whole differ from the body');
  const chunks: Uint8Array[] = [];
  const answer = await httpTransport(`${s.origin}/blob`, {
    method: 'GET',
    headers: {},
    signal: new AbortController().signal,
  });
  await answer.readBody((chunk) => chunks.push(chunk)); // kept past the call, as the interface allows
  assert.ok(Buffer.concat(chunks).equals(BODY), 'chunks kept by the reader were overwritten by later reads');
});

test('a head longer than one read of it (12 KB of headers, as proxies add) is gathered; the body after it is intact', async (t) => {
  const s = await server(t, (req, res) => {
    res.setHeader('x-padding', 'p'.repeat(12 * 1024));
    serveBody(req, res);
  });
  const client = new HttpClient({ limits: FAST });
  const identity = await client.head(`${s.origin}/blob`, 'blob');
  assert.equal(identity?.size, BODY.length);
  const target = new Uint8Array(300_000);
  await client.readRange(`${s.origin}/blob`, 'blob', identity as NonNullable<typeof identity>, target, 5);
  assert.ok(Buffer.from(target).equals(BODY.subarray(5, 300_005)));
  const whole = await client.getWhole(`${s.origin}/blob`, 'blob', 4 * 1024 * 1024);
  assert.ok(Buffer.from(whole?.bytes ?? []).equals(BODY));
});

test('a 404 with a short page keeps its connection: probes for absent files do not each open one', async (t) => {
  const s = await server(t, (req, res) => {
    if (req.url?.startsWith('/missing')) return void res.writeHead(404, { 'content-length': 153 }).end('x'.repeat(153));
    serveBody(req, res);
  });
  const client = new HttpClient({ limits: FAST });
  for (const name of ['a', 'b', 'c', 'd'])
    assert.equal(await client.getWhole(`${s.origin}/missing/${name}`, name, 1024), undefined);
  const identity = await client.head(`${s.origin}/blob`, 'blob');
  assert.equal(identity?.size, BODY.length);
  assert.equal(s.connections(), 1);
});

test('a redirect and a chunked body are read (through node:http); an error without a length is reported', async (t) => {
  const s = await server(t, (req, res) => {
    if (req.url === '/moved') return void res.writeHead(302, { location: '/blob', 'content-length': 0 }).end();
    if (req.url === '/chunked') {
      res.writeHead(200, { etag: '"c"' });
      res.write(BODY.subarray(0, 1000));
      return void res.end(BODY.subarray(1000, 5000));
    }
    if (req.url === '/gone') {
      res.writeHead(404);
      return void res.end('no such thing'); // chunked: no length
    }
    serveBody(req, res);
  });
  const client = new HttpClient({ limits: FAST });
  const moved = await client.getWhole(`${s.origin}/moved`, 'moved', 4 * 1024 * 1024);
  assert.deepEqual(Buffer.from(moved?.bytes ?? []), BODY);
  const chunked = await client.getWhole(`${s.origin}/chunked`, 'chunked', 1024 * 1024);
  assert.deepEqual(Buffer.from(chunked?.bytes ?? []), BODY.subarray(0, 5000));
  assert.equal(chunked?.identity.etag, '"c"');
  assert.equal(await client.getWhole(`${s.origin}/gone`, 'gone', 1024), undefined);
});

test('a body cut short rejects after the bytes that came; a HEAD answer is read without waiting for a body', async (t) => {
  const s = await server(t, (req, res) => {
    if (req.method === 'HEAD') return void res.writeHead(200, { 'content-length': 10_000_000 }).end();
    res.writeHead(200, { 'content-length': 10_000 });
    res.write(BODY.subarray(0, 3000), () => res.socket?.destroy());
  });
  const controller = new AbortController();
  const head = await httpTransport(`${s.origin}/x`, { method: 'HEAD', headers: {}, signal: controller.signal });
  assert.equal(head.header('content-length'), '10000000');
  head.cancel();
  const answer = await httpTransport(`${s.origin}/x`, { method: 'GET', headers: {}, signal: controller.signal });
  let received = 0;
  await assert.rejects(
    answer.readBody((chunk) => {
      received += chunk.byteLength;
    }),
  );
  assert.equal(received, 3000);
});
