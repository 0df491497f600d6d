/**
 * Remote objects read through a real nginx (its own Range, ETag and If-Match handling) and, in front of
 * it, a proxy that drops, refuses, stalls or lets the object change between requests.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../src/errors.js';
import { crc32cJs } from '../../src/io/crc32c.js';
import type { HttpClient, HttpLimits } from '../../src/io/http-client.js';
import { HttpSource, RemoteObject } from '../../src/io/http-source.js';
import { defaultFiles } from '../../src/io/node-platform.js';
import { PIECE_BYTES, Prefetcher } from '../../src/io/prefetcher.js';
import { UrlFileTree } from '../../src/io/url-tree.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startNginx } from '../support/nginx.js';
import { tempDir } from '../support/temp.js';

const SIZE = 3 * 1024 * 1024 + 17;
const FAST: Partial<HttpLimits> = { backoffMs: 1, maxBackoffMs: 5, stallMs: 5_000 };

/** A random file served by nginx behind the fault proxy, and a tree that found it. */
async function served(t: TestContext, options: { limits?: Partial<HttpLimits>; authorization?: string } = {}) {
  const dir = tempDir(t, 'http');
  const bytes = randomBytes(SIZE);
  const file = join(dir, 'blob.bin');
  writeFileSync(file, bytes);
  const nginx = await startNginx(t, { '/d/': dir });
  if (nginx === undefined) return undefined;
  const proxy = await startFaultProxy(t, nginx.origin);
  const url = `${proxy.origin}/d/blob.bin`;
  const tree = new UrlFileTree(defaultFiles, { limits: { ...FAST, ...options.limits }, ...options });
  await tree.probe([url], 'ranges');
  return { dir, file, bytes, nginx, proxy, url, tree };
}

const dataGets = (requests: readonly { method: string; range: string | undefined }[]) =>
  requests.filter((r) => r.method === 'GET' && r.range !== undefined);

function assertCode(error: unknown, code: string, ...mentions: string[]): true {
  assert.ok(error instanceof Tf2TorchError, `not a Tf2TorchError: ${error}`);
  assert.equal(error.code, code, error.message);
  for (const m of mentions) assert.ok(error.message.includes(m), `${error.message} lacks ${m}`);
  return true;
}

test('ranged reads equal the file; every request after the first carries the pinned ETag', async (t) => {
  const s = await served(t);
  if (s === undefined) return;
  const source = await s.tree.open(s.url);
  assert.equal(source.size, SIZE);
  for (const [offset, length] of [
    [0, 10],
    [SIZE - 5, 5],
    [123_456, 2_000_000],
  ] as const)
    assert.deepEqual(Buffer.from(await source.readAt(offset, length)), s.bytes.subarray(offset, offset + length));
  const [head, ...gets] = s.proxy.requests;
  assert.equal(head?.method, 'HEAD');
  assert.equal(head?.ifMatch, undefined);
  assert.equal(gets.length, 3);
  for (const g of gets) assert.match(g.ifMatch ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
});

test('a connection dropped mid-body is resumed where it stopped, under the same If-Match', async (t) => {
  const s = await served(t);
  if (s === undefined) return;
  let dropped = 0;
  s.proxy.decide = (r) => (r.method === 'GET' && dropped++ < 2 ? 'drop' : 'pass');
  const source = await s.tree.open(s.url);
  const got = await source.readAt(1000, 2_000_000);
  assert.deepEqual(Buffer.from(got), s.bytes.subarray(1000, 2_001_000));
  const ranges = dataGets(s.proxy.requests).map((r) => r.range);
  assert.equal(ranges.length, 3);
  assert.equal(ranges[0], 'bytes=1000-2000999');
  const resumedAt = Number(/bytes=(\d+)-/.exec(ranges[1] ?? '')?.[1]);
  assert.ok(resumedAt > 1000 && resumedAt < 2_001_000, `resumed at ${resumedAt}`);
});

test('503 answers are retried until the server recovers', async (t) => {
  const s = await served(t);
  if (s === undefined) return;
  let refused = 0;
  s.proxy.decide = (r) => (r.method === 'GET' && refused++ < 3 ? '503' : 'pass');
  const got = await (await s.tree.open(s.url)).readAt(5, 100);
  assert.deepEqual(Buffer.from(got), s.bytes.subarray(5, 105));
  assert.equal(dataGets(s.proxy.requests).length, 4);
});

test('a stalled answer is given up after stallMs and asked again', async (t) => {
  const s = await served(t, { limits: { stallMs: 300 } });
  if (s === undefined) return;
  let stalled = 0;
  s.proxy.decide = (r) => (r.method === 'GET' && stalled++ < 1 ? 'stall' : 'pass');
  const got = await (await s.tree.open(s.url)).readAt(0, 4096);
  assert.deepEqual(Buffer.from(got), s.bytes.subarray(0, 4096));
  assert.equal(dataGets(s.proxy.requests).length, 2);
});

test('retries are bounded: a server that keeps failing is reported with the URL and how often it was tried', async (t) => {
  const s = await served(t, { limits: { maxAttempts: 3 } });
  if (s === undefined) return;
  s.proxy.decide = () => '503';
  const source = await s.tree.open(s.url);
  await assert.rejects(source.readAt(0, 10), (e) => assertCode(e, ErrorCode.NETWORK, s.url, 'HTTP 503', '3 times'));
  assert.equal(dataGets(s.proxy.requests).length, 3);
});

test('403 and 404 fail at once, naming the URL and what to do; the Authorization header is sent, never shown', async (t) => {
  const secret = 'Bearer s3cret-token';
  const s = await served(t, { authorization: secret });
  if (s === undefined) return;
  s.proxy.decide = () => '403';
  const source = await s.tree.open(s.url);
  await assert.rejects(source.readAt(0, 10), (e) => {
    assertCode(e, ErrorCode.PERMISSION, s.url, 'TF2TORCH_HTTP_AUTHORIZATION');
    assert.ok(!(e as Error).message.includes('s3cret'));
    return true;
  });
  assert.equal(dataGets(s.proxy.requests).length, 1);
  s.proxy.decide = () => 'pass';
  rmSync(s.file);
  await assert.rejects(source.readAt(0, 10), (e) => assertCode(e, ErrorCode.NOT_FOUND, s.url, 'HTTP 404'));
  assert.equal(dataGets(s.proxy.requests).length, 2);
  assert.ok(s.proxy.requests.every((r) => r.authorization === secret));
});

test('an object replaced after it was pinned is refused, whether its size changed or not', async (t) => {
  const s = await served(t);
  if (s === undefined) return;
  const source = await s.tree.open(s.url);
  await source.readAt(0, 10);
  // same size, another modification time: nginx gives it another ETag and answers If-Match with 412
  writeFileSync(s.file, randomBytes(SIZE));
  utimesSync(s.file, new Date(2001, 1, 1), new Date(2001, 1, 1));
  await assert.rejects(source.readAt(0, 10), (e) => assertCode(e, ErrorCode.SOURCE_CHANGED, s.url));
  // a server that ignores If-Match is caught by the answer's own size and ETag
  s.proxy.dropIfMatch = true;
  const ignoring = new UrlFileTree(defaultFiles, { limits: FAST });
  await ignoring.probe([s.url], 'ranges');
  const again = await ignoring.open(s.url);
  writeFileSync(s.file, randomBytes(SIZE + 1));
  await assert.rejects(again.readAt(0, 10), (e) => assertCode(e, ErrorCode.SOURCE_CHANGED, s.url, 'size'));
  writeFileSync(s.file, randomBytes(SIZE + 1));
  utimesSync(s.file, new Date(2002, 1, 1), new Date(2002, 1, 1));
  const third = new UrlFileTree(defaultFiles, { limits: FAST });
  await third.probe([s.url], 'ranges');
  const pinned = await third.open(s.url);
  utimesSync(s.file, new Date(2003, 1, 1), new Date(2003, 1, 1));
  await assert.rejects(pinned.readAt(0, 10), (e) => assertCode(e, ErrorCode.SOURCE_CHANGED, s.url, 'ETag'));
});

test('expected ranges are fetched ahead, adjacent ones as one request, and nothing else', async (t) => {
  const s = await served(t);
  if (s === undefined) return;
  s.tree.expect(s.url, [
    { offset: 0, length: 100 },
    { offset: 100, length: 100 },
    { offset: 5000, length: 100 },
  ]);
  const source = await s.tree.open(s.url);
  const reads = [
    [0, 100],
    [100, 100],
    [5000, 100],
  ] as const;
  for (const [offset, length] of reads)
    assert.deepEqual(Buffer.from(await source.readAt(offset, length)), s.bytes.subarray(offset, offset + length));
  assert.deepEqual(
    s.nginx
      .accessLog()
      .filter((l) => l.method === 'GET')
      .map((l) => [l.range, l.bodyBytes])
      .sort(),
    [
      ['bytes=0-199', 200],
      ['bytes=5000-5099', 100],
    ],
  );
  assert.equal(s.tree.stats().bytesExpected, 300);
});

/** A remote object of `bytes`' size, read through `client` (a fake), fetched ahead by `prefetcher`. */
const remoteOver = (bytes: Uint8Array, client: HttpClient, prefetcher: Prefetcher) =>
  new RemoteObject('u', 'u', { size: bytes.length, etag: undefined, generation: undefined }, client, prefetcher);

test('pieces ahead stay within the budget, their room reused; a piece read again after its room was taken is fetched again', async () => {
  const bytes = randomBytes(5 * PIECE_BYTES);
  const fetched: [number, number][] = [];
  let inFlightBytes = 0;
  let most = 0;
  const client = {
    async readRange(_url: string, _display: string, _id: unknown, target: Uint8Array, offset: number) {
      fetched.push([offset, target.byteLength]);
      inFlightBytes += target.byteLength;
      most = Math.max(most, inFlightBytes);
      await new Promise((r) => setTimeout(r, 5));
      target.set(bytes.subarray(offset, offset + target.byteLength));
      inFlightBytes -= target.byteLength;
    },
  } as unknown as HttpClient;
  const prefetcher = new Prefetcher(2 * PIECE_BYTES, 4);
  const object = remoteOver(bytes, client, prefetcher);
  object.expect([0, 1, 2, 3, 4].map((k) => ({ offset: k * PIECE_BYTES, length: PIECE_BYTES })));
  const source = new HttpSource(object);
  const read = async (k: number) =>
    assert.ok(
      Buffer.from(await source.readAt(k * PIECE_BYTES, PIECE_BYTES)).equals(
        bytes.subarray(k * PIECE_BYTES, (k + 1) * PIECE_BYTES),
      ),
    );
  await read(0);
  for (const k of [1, 2, 3, 4]) await read(k); // in recycled buffers of the pieces read before
  await read(0); // its room went to later pieces: fetched again
  assert.equal(fetched.filter(([o]) => o === 0).length, 2);
  assert.equal(fetched.length, 6);
  assert.ok(most <= 2 * PIECE_BYTES, `at most the budget in flight (${most})`);
  const chunks: Buffer[] = [];
  for await (const chunk of source.readChunks(PIECE_BYTES - 10, 3 * PIECE_BYTES, 1 << 20, 'data', true))
    chunks.push(Buffer.from(chunk));
  assert.ok(Buffer.concat(chunks).equals(bytes.subarray(PIECE_BYTES - 10, 4 * PIECE_BYTES - 10)));
});

/** A client over `bytes` that answers after `delayMs`, recording each request and how many were in flight. */
function fakeClient(bytes: Uint8Array, delayMs = 2) {
  const starts: { offset: number; length: number; inFlight: number }[] = [];
  let inFlight = 0;
  const client = {
    async readRange(_url: string, _display: string, _id: unknown, target: Uint8Array, offset: number) {
      starts.push({ offset, length: target.byteLength, inFlight });
      inFlight++;
      await new Promise((r) => setTimeout(r, delayMs));
      target.set(bytes.subarray(offset, offset + target.byteLength));
      inFlight--;
    },
  } as unknown as HttpClient;
  return { client, starts };
}

async function settled(starts: readonly unknown[]): Promise<void> {
  for (let seen = -1; seen !== starts.length; ) {
    seen = starts.length;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a small piece holds only its own bytes of the budget: small tensors between large ones do not shrink what is fetched ahead', async () => {
  const bytes = randomBytes(16 * 1024 * 1024);
  const { client, starts } = fakeClient(bytes);
  // a 1 MiB kernel then its 3 KB bias, six times, apart (their optimizer slots lie between them)
  const ranges = Array.from({ length: 12 }, (_, k) => ({
    offset: k * 1_200_000,
    length: k % 2 === 0 ? 1024 * 1024 : 3072,
  }));
  const prefetcher = new Prefetcher(2 * PIECE_BYTES, 8);
  const object = remoteOver(bytes, client, prefetcher);
  object.expect(ranges);
  await settled(starts);
  assert.equal(
    starts.length,
    12,
    `fetched ahead before any read: ${starts.length} of 12 ranges (6.02 MiB in a 8 MiB budget)`,
  );
  const source = new HttpSource(object);
  for (const { offset, length } of ranges)
    assert.ok(Buffer.from(await source.readAt(offset, length)).equals(bytes.subarray(offset, offset + length)));
  assert.equal(starts.length, 12, 'nothing fetched twice');
});

test('requests ahead start one at a time and grow as pieces arrive: the first piece does not share the bandwidth', async () => {
  const bytes = randomBytes(8 * PIECE_BYTES);
  const { client, starts } = fakeClient(bytes, 5);
  const prefetcher = new Prefetcher(8 * PIECE_BYTES, 4);
  const object = remoteOver(bytes, client, prefetcher);
  object.expect([{ offset: 0, length: bytes.length }]);
  await settled(starts);
  assert.equal(starts.length, 8);
  assert.equal(starts[0]?.inFlight, 0);
  assert.equal(starts[1]?.inFlight, 0, 'the second piece starts once the first has arrived');
  const most = Math.max(...starts.map((s) => s.inFlight)) + 1;
  assert.ok(most > 1 && most <= 4, `at most maxInFlight at once, and more than one (${most})`);
});

test('chunks borrowed from the pieces ahead are views of them, not copies, and no piece is evicted while lent', async () => {
  const bytes = randomBytes(4 * PIECE_BYTES);
  const { client, starts } = fakeClient(bytes);
  const prefetcher = new Prefetcher(2 * PIECE_BYTES, 4);
  const object = remoteOver(bytes, client, prefetcher);
  object.expect([{ offset: 0, length: 4 * PIECE_BYTES }]);
  const source = new HttpSource(object);
  const piece = (k: number) => bytes.subarray(k * PIECE_BYTES, (k + 1) * PIECE_BYTES);
  const chunks = source.readChunks(0, 2 * PIECE_BYTES, PIECE_BYTES, 'data', 'borrow');
  const first = (await chunks.next()).value as Uint8Array;
  assert.ok(Buffer.from(first).equals(piece(0)));
  assert.ok(first.byteLength < first.buffer.byteLength, 'a view of the memory fetched into, not a copy');
  await source.readAt(0, PIECE_BYTES); // read through by another reader meanwhile: the first to evict, but lent
  for (const k of [2, 3]) assert.ok(Buffer.from(await source.readAt(k * PIECE_BYTES, PIECE_BYTES)).equals(piece(k)));
  assert.ok(Buffer.from(first).equals(piece(0)), 'the lent piece kept its bytes while later pieces needed room');
  const second = (await chunks.next()).value as Uint8Array;
  assert.ok(Buffer.from(second).equals(piece(1)));
  assert.equal((await chunks.next()).done, true);
  assert.equal(starts.filter((r) => r.offset === 0).length, 1, 'the lent piece was never fetched again');
});

test('stop() ends the requests in flight at once (not after stallMs) and refuses new ones', async (t) => {
  const s = await served(t, { limits: { stallMs: 20_000 } });
  if (s === undefined) return;
  s.proxy.decide = (r) => (r.method === 'GET' ? 'stall' : 'pass');
  s.tree.expect(s.url, [
    { offset: 0, length: 1_000_000 },
    { offset: 2_000_000, length: 1_000_000 },
  ]);
  const source = await s.tree.open(s.url);
  const reading = source.readAt(0, 1_000_000);
  reading.catch(() => undefined);
  while (dataGets(s.proxy.requests).length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  const started = Date.now();
  s.tree.stop();
  await assert.rejects(reading, (error) => assertCode(error, ErrorCode.NETWORK, 'request cancelled', s.url));
  assert.ok(Date.now() - started < 2_000, `the read ended ${Date.now() - started} ms after stop()`);
  const asked = s.proxy.requests.length;
  await assert.rejects(source.readAt(2_500_000, 10), (error) => assertCode(error, ErrorCode.NETWORK, 'cancelled'));
  assert.equal(s.proxy.requests.length, asked, 'no request after stop()');
});

/**
 * A client whose range thread copies (`copyElsewhere`) answer after `copyMs`: records how many copies
 * were outstanding at once and which have finished. Ranges at `failAt` fail.
 */
function copyingClient(bytes: Uint8Array, copyMs: number, failAt?: number) {
  const copies = { outstanding: 0, most: 0, finished: 0 };
  const client = {
    async readRange(_url: string, _display: string, _id: unknown, target: Uint8Array, offset: number) {
      await new Promise((r) => setTimeout(r, 1));
      if (offset === failAt) throw new Tf2TorchError(ErrorCode.NETWORK, `range at ${offset} refused`);
      target.set(bytes.subarray(offset, offset + target.byteLength));
    },
    copyElsewhere(target: Uint8Array, source: Uint8Array, crc?: number) {
      copies.outstanding++;
      copies.most = Math.max(copies.most, copies.outstanding);
      return new Promise<number | undefined>((resolve) =>
        setTimeout(() => {
          target.set(source.subarray(0, target.byteLength));
          copies.outstanding--;
          copies.finished++;
          resolve(crc === undefined ? undefined : crc32cJs(target, crc));
        }, copyMs),
      );
    },
  } as unknown as HttpClient;
  return { client, copies };
}

test("a read across pieces copies them at once, each as it arrives; its CRC is the whole range's", async () => {
  const bytes = randomBytes(3 * PIECE_BYTES);
  const { client, copies } = copyingClient(bytes, 20);
  const object = remoteOver(bytes, client, new Prefetcher(4 * PIECE_BYTES, 4));
  object.expect([{ offset: 0, length: 3 * PIECE_BYTES }]);
  await new Promise((r) => setTimeout(r, 50)); // fetched ahead meanwhile
  const source = new HttpSource(object);
  const target = new Uint8Array(3 * PIECE_BYTES - 100);
  const crc = await source.readIntoWithCrc(target, 50);
  assert.ok(Buffer.from(target).equals(bytes.subarray(50, 3 * PIECE_BYTES - 50)));
  assert.equal(crc, crc32cJs(target), "the parts' CRCs combined in order");
  assert.equal(copies.most, 3, 'the three pieces copied at once, not one round trip after another');
});

test('a read whose part fails is reported only once its other parts are done with the target', async () => {
  const bytes = randomBytes(3 * PIECE_BYTES);
  const { client, copies } = copyingClient(bytes, 30, PIECE_BYTES);
  const object = remoteOver(bytes, client, new Prefetcher(4 * PIECE_BYTES, 4));
  // the middle piece was not expected: read on its own, and refused
  object.expect([
    { offset: 0, length: PIECE_BYTES },
    { offset: 2 * PIECE_BYTES, length: PIECE_BYTES },
  ]);
  const source = new HttpSource(object);
  await assert.rejects(source.readIntoWithCrc(new Uint8Array(3 * PIECE_BYTES), 0), (e: unknown) =>
    assertCode(e, ErrorCode.NETWORK, `range at ${PIECE_BYTES}`),
  );
  assert.equal(copies.finished, 2, 'no copy into the target was still under way when the read failed');
});
