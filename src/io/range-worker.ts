/** The range thread's entry (io/range-thread.ts): each posted range read by this thread's own client. */
import { parentPort, workerData } from 'node:worker_threads';
import { crc32c, loadNativeCrc32c } from './crc32c.js';
import { HttpClient } from './http-client.js';
import { postedError, type RangeMessage, type RangeReply, type RangeThreadOptions } from './range-messages.js';

const client = new HttpClient(workerData as RangeThreadOptions, true);
void loadNativeCrc32c(); // the tables meanwhile: the same sums

parentPort?.on('message', (message: RangeMessage) => {
  const { id } = message.request;
  const reply = (error?: unknown, crc?: number) => {
    const answer: RangeReply = {
      id,
      bytesFetched: client.bytesFetched,
      requests: client.requests,
      ...(error === undefined ? {} : { error: postedError(error) }),
      ...(crc === undefined ? {} : { crc }),
    };
    parentPort?.postMessage(answer);
  };
  if (message.type === 'copy') {
    const { from, fromAt, to, toAt, length, crc } = message.request;
    const copied = new Uint8Array(to, toAt, length);
    copied.set(new Uint8Array(from, fromAt, length));
    return reply(undefined, crc === undefined ? undefined : crc32c(copied, crc));
  }
  const { url, display, identity, memory, at, length, offset } = message.request;
  client.readRange(url, display, identity, new Uint8Array(memory, at, length), offset).then(
    () => reply(),
    (error: unknown) => reply(error),
  );
});
