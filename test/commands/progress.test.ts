import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressBar } from '../../src/commands/progress.js';

test('the progress bar shows bytes, rate and ETA, redraws at most every 200 ms, and ends with a newline', () => {
  let clock = 0;
  const frames: string[] = [];
  const bar = progressBar(
    1_000_000_000,
    (text) => frames.push(text),
    () => clock,
  );
  clock = 100;
  bar.update(10_000_000); // too soon after the start: no redraw
  assert.equal(frames.length, 0);
  clock = 2_000;
  bar.update(250_000_000);
  assert.equal(frames.length, 1);
  assert.equal(frames[0], `\r[${'#'.repeat(8)}${'.'.repeat(22)}]  25% 250 MB/1.0 GB 125 MB/s ETA 00:06  `);
  clock = 2_100;
  bar.update(260_000_000); // within 200 ms of the last frame
  assert.equal(frames.length, 1);
  clock = 8_000;
  bar.finish();
  assert.match(frames[1]!, /\[#{30}\] 100% 1\.0 GB\/1\.0 GB 125 MB\/s ETA 00:00/);
  assert.equal(frames[2], '\n');
});

test('a remote checkpoint adds its bytes fetched against those needed after the bar', () => {
  const frames: string[] = [];
  let fetched = 0;
  const bar = progressBar(
    100,
    (text) => frames.push(text),
    () => 1_000,
    () => `fetched ${fetched} B/60 B`,
  );
  fetched = 30;
  bar.finish();
  assert.match(frames[0]!, / fetched 30 B\/60 B {2}$/);
});
