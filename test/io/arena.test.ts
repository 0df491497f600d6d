/** The fetch-ahead's one buffer cut into parts (io/arena.ts): parts never overlap, freed space merges. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Arena, type ArenaPart } from '../../src/io/arena.js';

const overlaps = (a: ArenaPart, b: ArenaPart) => a.at < b.at + b.bytes.byteLength && b.at < a.at + a.bytes.byteLength;

test('parts of any length never overlap, each of its own length, on 64-byte boundaries, in one buffer', () => {
  let allocations = 0;
  const arena = new Arena(64 * 1024, (n) => {
    allocations++;
    return new Uint8Array(n);
  });
  const parts: ArenaPart[] = [];
  for (const length of [3072, 1, 12_288, 100, 2048, 4000]) {
    const part = arena.take(length);
    assert.ok(part, `room for ${length}`);
    assert.equal(part.bytes.byteLength, length);
    assert.equal(part.at % 64, 0);
    for (const other of parts) assert.ok(!overlaps(part, other), `${part.at} overlaps ${other.at}`);
    parts.push(part);
  }
  parts[0]?.bytes.fill(1);
  parts[1]?.bytes.fill(2);
  assert.equal(parts[0]?.bytes[3071], 1, 'a part is not written by its neighbour');
  assert.equal(allocations, 1);
  assert.equal(parts[0]?.bytes.buffer, parts[5]?.bytes.buffer);
});

test('a full arena refuses; parts given back merge with their free neighbours, whatever the order', () => {
  const arena = new Arena(4096, (n) => new Uint8Array(n));
  const parts = [0, 1, 2, 3].map(() => arena.take(1024) as ArenaPart);
  assert.equal(arena.take(1), undefined);
  assert.equal(arena.fits(1), false);
  arena.give(parts[1] as ArenaPart);
  arena.give(parts[2] as ArenaPart);
  assert.equal(arena.fits(2048), true, 'two neighbours freed make one span');
  assert.equal(arena.fits(2049), false);
  arena.give(parts[0] as ArenaPart);
  arena.give(parts[3] as ArenaPart);
  assert.equal(arena.used, 0);
  const whole = arena.take(4096);
  assert.equal(whole?.at, 0, 'all of it is one span again');
  assert.throws(() => {
    arena.give(whole as ArenaPart);
    arena.give(whole as ArenaPart);
  }, /given back twice/);
});

test('a part longer than the arena is refused, not cut', () => {
  const arena = new Arena(1024, (n) => new Uint8Array(n));
  assert.equal(arena.fits(1025), false);
  assert.equal(arena.take(1025), undefined);
  assert.ok(arena.take(1024));
});
