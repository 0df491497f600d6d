/**
 * Retries stay bounded even when every try brings some data: a connection that breaks after each byte
 * resumes where it stopped (progress restarts the per-failure count), but the request as a whole is
 * given up after `maxTotalAttempts` tries with E_NETWORK naming the URL, never retried for ever.
 * The transport is a stand-in that answers each range with its first byte and then breaks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../src/errors.js';
import { HttpClient } from '../../src/io/http-client.js';
import type { HttpAnswer, HttpTransport } from '../../src/io/http-transport.js';

const SIZE = 4096;
const BYTES = Uint8Array.from({ length: SIZE }, (_, i) => (i * 31) & 0xff);

/** 206 for each `bytes=a-b` with the first byte of the range, then a reset connection. */
function oneByteThenReset(requests: string[]): HttpTransport {
  return async (_url, { headers }) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(headers.range ?? '');
    assert.ok(m, 'a ranged request');
    requests.push(headers.range as string);
    const [start, end] = [Number(m[1]), Number(m[2])];
    const answer: HttpAnswer = {
      status: 206,
      statusText: 'Partial Content',
      header: (name) =>
        ({ 'content-range': `bytes ${start}-${end}/${SIZE}`, etag: '"v1"', 'content-length': String(end - start + 1) })[
          name
        ],
      async readBody(onChunk) {
        onChunk(BYTES.subarray(start, start + 1));
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      },
      cancel: () => undefined,
    };
    return answer;
  };
}

test('a body that breaks after every byte is given up after maxTotalAttempts tries, naming the URL', async () => {
  const requests: string[] = [];
  const client = new HttpClient({
    transport: oneByteThenReset(requests),
    limits: { backoffMs: 1, maxBackoffMs: 1, maxTotalAttempts: 20 },
  });
  const identity = { size: SIZE, etag: '"v1"', generation: undefined };
  const target = new Uint8Array(1000);
  await assert.rejects(
    client.readRange('http://127.0.0.1:9/ck.data', 'http://127.0.0.1:9/ck.data', identity, target, 0),
    (e: unknown) =>
      e instanceof Tf2TorchError && e.code === ErrorCode.NETWORK && /ck\.data: .*20 times/.test(e.message),
  );
  assert.equal(requests.length, 20, 'one request a try, 20 in all');
  // each try resumed where the last stopped: the bytes read so far are the object's
  assert.equal(requests[1], 'bytes=1-999');
  assert.deepEqual(target.subarray(0, 20), BYTES.subarray(0, 20));
});

test('a body that breaks now and then still completes: progress restarts the per-failure count', async () => {
  const requests: string[] = [];
  const client = new HttpClient({ transport: oneByteThenReset(requests), limits: { backoffMs: 1, maxBackoffMs: 1 } });
  const target = new Uint8Array(10);
  await client.readRange(
    'http://127.0.0.1:9/x',
    'http://127.0.0.1:9/x',
    { size: SIZE, etag: '"v1"', generation: undefined },
    target,
    100,
  );
  assert.deepEqual(target, BYTES.subarray(100, 110));
  assert.equal(requests.length, 10);
});
