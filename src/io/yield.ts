/**
 * A turn of the event loop, so that I/O completions waiting behind CPU work run now: a chain of
 * promises alone (microtasks) would keep them waiting until it blocks on I/O of its own.
 * `setImmediate` where the runtime has it (Node), a message to itself otherwise (browsers, workers).
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  if (immediate !== undefined) return new Promise((resolve) => immediate(resolve));
  return new Promise((resolve) => {
    // The DOM's MessagePort (where this branch runs); Node's type lacks `onmessage`.
    const channel = new MessageChannel() as unknown as {
      port1: { onmessage: (() => void) | null; close(): void };
      port2: { postMessage(message: unknown): void };
    };
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(undefined);
  });
}
