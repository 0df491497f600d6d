/**
 * Ranged reads into shared memory go to the range thread (io/range-thread.ts): the bytes are the
 * file's, its requests and bytes count in the client's totals, its errors come back as the same coded
 * errors (a replaced object, a 404), and `stop()` ends a stalled read there at once. Reads into other
 * memory stay in this thread. Copies of fetched-ahead bytes between shared buffers are made there too.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../src/errors.js';
import { HttpClient } from '../../src/io/http-client.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startNginx } from '../support/nginx.js';
import { tempDir } from '../support/temp.js';

const SIZE = 2 * 1024 * 1024 + 5;
const shared = (n: number) => new Uint8Array(new SharedArrayBuffer(n));

test('ranges into shared memory are read by the range thread, counted, and their errors keep their codes', async (t) => {
  const dir = tempDir(t, 'range-thread');
  const bytes = randomBytes(SIZE);
  writeFileSync(join(dir, 'blob.bin'), bytes);
  const nginx = await startNginx(t, { '/d/': dir });
  if (nginx === undefined) return;
  const proxy = await startFaultProxy(t, nginx.origin);
  const url = `${proxy.origin}/d/blob.bin`;
  const client = new HttpClient({ limits: { backoffMs: 1, maxBackoffMs: 5, stallMs: 20_000 } });
  t.after(() => client.stop());
  const identity = await client.head(url, url);
  assert.ok(identity !== undefined);

  const target = shared(1_000_000);
  const before = client.requests;
  await client.readRange(url, url, identity, target, 123_456);
  assert.ok(Buffer.from(target).equals(bytes.subarray(123_456, 1_123_456)));
  assert.equal(client.requests - before, 1);
  assert.equal(client.requestsInThread, 1, 'made by the range thread');
  assert.ok(client.bytesFetched >= 1_000_000, `bytes fetched ${client.bytesFetched}`);
  const gets = proxy.requests.filter((r) => r.method === 'GET');
  assert.equal(gets.length, 1, 'one ranged GET');

  // Fetched-ahead bytes copied into a reader's shared buffer there; other memory is copied here.
  const into = shared(700_000);
  const copying = client.copyElsewhere(into.subarray(100), target.subarray(5, 600_005));
  assert.ok(copying !== undefined, 'shared memory on both sides: copied by the range thread');
  await copying;
  assert.ok(Buffer.from(into.subarray(100, 600_100)).equals(bytes.subarray(123_461, 723_461)));
  assert.equal(into[99], 0, 'nothing written before the target');
  assert.equal(into[600_100], 0, 'nothing written after it');
  assert.equal(client.copyElsewhere(new Uint8Array(10), target.subarray(0, 10)), undefined);

  // Into memory of this thread only: read here, the same bytes.
  const plain = new Uint8Array(10);
  await client.readRange(url, url, identity, plain, SIZE - 10);
  assert.ok(Buffer.from(plain).equals(bytes.subarray(SIZE - 10)));
  assert.equal(client.requestsInThread, 1, 'made here');

  // The object replaced: the thread's client refuses it under If-Match, and the code crosses.
  const changed = { ...identity, etag: '"not-the-pinned-one"' };
  await assert.rejects(client.readRange(url, url, changed, shared(10), 0), (error) => {
    assert.ok(error instanceof Tf2TorchError, String(error));
    assert.equal(error.code, ErrorCode.SOURCE_CHANGED, error.message);
    assert.equal(error.file, url);
    return true;
  });

  // A stalled read there ends at once when the client stops, as a cancelled request naming the URL.
  proxy.decide = (r) => (r.method === 'GET' ? 'stall' : 'pass');
  const stalled = client.readRange(url, url, identity, shared(1000), 0);
  stalled.catch(() => undefined);
  while (proxy.requests.filter((r) => r.method === 'GET').length < 4) await new Promise((r) => setTimeout(r, 10));
  const started = Date.now();
  client.stop();
  await assert.rejects(stalled, (error) => {
    assert.ok(error instanceof Tf2TorchError && error.code === ErrorCode.NETWORK, String(error));
    assert.match(error.message, /request cancelled/);
    return true;
  });
  assert.ok(Date.now() - started < 2_000, `ended ${Date.now() - started} ms after stop()`);
});
