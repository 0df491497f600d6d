/**
 * Makes oversized allocations fail loudly during a test: `new Uint8Array(n)` and Buffer.alloc*(n)
 * with n above `limit` throw an AllocationTooLarge (never a Tf2TorchError, so a fuzzer reports it).
 * Parsers must compare sizes read from a file with the file's real size or a named limit first.
 */
export class AllocationTooLarge extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`allocation of ${size} bytes exceeds the test's limit of ${limit}`);
    this.name = 'AllocationTooLarge';
  }
}

type Alloc = (size: number, ...rest: unknown[]) => Buffer;

export function installAllocationGuard(limit: number): { restore(): void } {
  const OriginalUint8Array = globalThis.Uint8Array;
  const check = (size: unknown) => {
    if (typeof size === 'number' && size > limit) throw new AllocationTooLarge(size, limit);
  };
  class GuardedUint8Array extends OriginalUint8Array {
    constructor(...args: unknown[]) {
      check(args[0]);
      super(...(args as []));
    }
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof OriginalUint8Array;
    }
  }
  const buffer = Buffer as unknown as Record<'alloc' | 'allocUnsafe' | 'allocUnsafeSlow', Alloc>;
  const originals = { alloc: buffer.alloc, allocUnsafe: buffer.allocUnsafe, allocUnsafeSlow: buffer.allocUnsafeSlow };
  for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
    const original = originals[name];
    buffer[name] = (size, ...rest) => {
      check(size);
      return original.call(Buffer, size, ...rest);
    };
  }
  (globalThis as { Uint8Array: unknown }).Uint8Array = GuardedUint8Array;
  return {
    restore() {
      (globalThis as { Uint8Array: unknown }).Uint8Array = OriginalUint8Array;
      Object.assign(buffer, originals);
    },
  };
}
