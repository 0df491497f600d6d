import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32c, crc32cJs, loadNativeCrc32c, maskCrc, nativeCrc32c, unmaskCrc } from '../../src/io/crc32c.js';

const ascii = (s: string) => new TextEncoder().encode(s);

test('crc32c matches the published CRC-32C check values (RFC 3720 B.4)', () => {
  assert.equal(crc32cJs(new Uint8Array(0)), 0);
  assert.equal(crc32cJs(ascii('123456789')), 0xe3069283);
  assert.equal(crc32cJs(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32cJs(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32cJs(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32cJs(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('crc32c is incremental: crc(a ++ b) = crc(b, crc(a)) for every split', () => {
  const data = randomBytes(1000);
  const whole = crc32cJs(data);
  for (const split of [0, 1, 7, 8, 9, 63, 64, 500, 999, 1000]) {
    assert.equal(crc32cJs(data.subarray(split), crc32cJs(data.subarray(0, split))), whole, `split ${split}`);
    assert.equal(crc32c(data.subarray(split), crc32c(data.subarray(0, split))), whole, `split ${split} (dispatching)`);
  }
});

test('the native crc32c (optional dependency) agrees with the JS tables on random inputs', async (t) => {
  if (!(await loadNativeCrc32c())) {
    t.skip('@node-rs/crc32 is not installed on this platform; the JS fallback is used');
    return;
  }
  const native = nativeCrc32c()!;
  for (let i = 0; i < 200; i++) {
    const data = randomBytes(Math.floor(Math.random() * 5000));
    const seed = i % 2 === 0 ? 0 : crc32cJs(randomBytes(17));
    assert.equal(native(data, seed), crc32cJs(data, seed), `input ${i} (${data.length} bytes)`);
  }
  assert.equal(native(ascii('123456789')), 0xe3069283);
});

test('mask and unmask are inverses, and mask matches a LevelDB value', () => {
  for (const c of [0, 1, 0xffffffff, 0xe3069283, 0x12345678]) assert.equal(unmaskCrc(maskCrc(c)), c);
  // mask(0) = rotate(0) + 0xa282ead8
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.notEqual(maskCrc(0xe3069283), 0xe3069283);
});
