/**
 * `HttpTransport` under Node: `node:http`/`node:https` with keep-alive agents. Undici's `fetch` costs
 * the main thread, which also drives the writer, about twice the CPU for the same bodies (web streams,
 * a promise per chunk); here each socket chunk goes straight to the caller's buffer from a `data` event.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { HttpAnswer, HttpRequest, HttpTransport } from './http-transport.js';

/** Redirects followed before giving up (as `fetch` does, which follows 20). */
const MAX_REDIRECTS = 20;
/** An unwanted body up to this size is read to its end, so its connection serves the next request. */
const DRAIN_BYTES = 64 * 1024;
/** Sockets kept per origin: the prefetcher's requests in flight and a few reads of its own. */
const MAX_SOCKETS = 16;

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
};

function send(url: URL, request: HttpRequest): Promise<http.IncomingMessage> {
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, {
      method: request.method,
      headers: request.headers,
      agent: agents[url.protocol as 'http:' | 'https:'],
      signal: request.signal,
    });
    req.once('response', resolve);
    req.on('error', reject); // persistent: an abort after the answer must not be an uncaught error
    req.end();
  });
}

function answerOf(res: http.IncomingMessage, request: HttpRequest): HttpAnswer {
  const { signal } = request;
  let ended = false;
  res.once('end', () => {
    ended = true;
  });
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    header(name) {
      const value = res.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    readBody(onChunk) {
      return new Promise<void>((resolve, reject) => {
        if (ended) return resolve();
        const fail = (error: unknown) => {
          cleanup();
          res.destroy();
          reject(error);
        };
        const onData = (chunk: Buffer) => {
          try {
            onChunk(chunk);
          } catch (error) {
            fail(error);
          }
        };
        const onEnd = () => {
          cleanup();
          resolve();
        };
        const onClose = () => fail(new Error('connection closed before the end of the body'));
        const onAbort = () => fail(signal.reason ?? new Error('aborted'));
        const cleanup = () => {
          res.off('data', onData).off('end', onEnd).off('error', fail).off('close', onClose);
          signal.removeEventListener('abort', onAbort);
        };
        if (signal.aborted) return fail(signal.reason ?? new Error('aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        res.on('data', onData).once('end', onEnd).once('error', fail).once('close', onClose);
      });
    },
    cancel() {
      if (ended) return;
      const length = Number(res.headers['content-length'] ?? Number.NaN);
      if (request.method === 'HEAD' || length <= DRAIN_BYTES) res.resume();
      else res.destroy();
    },
  };
}

export const nodeHttpTransport: HttpTransport = async (url, request) => {
  let at = new URL(url);
  let headers = request.headers;
  for (let redirects = 0; ; redirects++) {
    const res = await send(at, { ...request, headers });
    const location = res.headers.location;
    if (res.statusCode === undefined || res.statusCode < 300 || res.statusCode >= 400 || location === undefined)
      return answerOf(res, request);
    res.resume();
    if (redirects >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, at);
    if (next.origin !== at.origin) {
      // as fetch does: credentials are not sent to another origin
      const { authorization: _dropped, ...rest } = headers;
      headers = rest;
    }
    at = next;
  }
};
