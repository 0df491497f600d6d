/**
 * Bounded memory in the browser: a BERT-base-sized checkpoint (440 MB of float32 weights, synthesized)
 * converts in the page into a streamed zip download while the whole Chromium process tree (browser,
 * renderers, GPU and utility processes: their proportional set sizes from /proc) stays within
 * MAX_GROWTH of its level with the page idle and the plan shown.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { seededRandom } from '../support/random.js';
import { writeBundleStreaming } from '../support/tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertShapes } from '../support/tiny-bert.js';
import { newPage, pageBrowser, pickFolder, startConversion, waitForStatus } from './browser.js';

// 440 MB in and out: in memory-backed files where there are (not mapped by Chromium: not in its PSS)
const browsers = pageBrowser(existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const MAX_GROWTH = 300 * 1000 * 1000;
const BERT_BASE = {
  ...TINY_BERT_CONFIG,
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 512,
};

/** The processes descended from this one (Chromium and its children), by their parent ids in /proc. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {} // ended meanwhile
  }
  const out: number[] = [];
  for (const pid of parent.keys())
    for (let at = parent.get(pid); at !== undefined && at > 1; at = parent.get(at))
      if (at === root) {
        out.push(pid);
        break;
      }
  return out;
}

/** A Chromium process's kind, from its `--type=` flag (the browser process has none). */
function kindOf(pid: number): string {
  const type = /--type=([\w-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' '));
  return type?.[1] ?? 'browser';
}

/**
 * Bytes of memory the process tree below this process holds (sum of PSS: shared pages counted once),
 * in all and by kind of process (where growth goes).
 */
function treeMemory(): { total: number; byKind: Map<string, number> } {
  let total = 0;
  const byKind = new Map<string, number>();
  for (const pid of descendants(process.pid)) {
    try {
      const kb = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
      const bytes = Number(kb?.[1] ?? 0) * 1024;
      const kind = kindOf(pid);
      byKind.set(kind, (byKind.get(kind) ?? 0) + bytes);
      total += bytes;
    } catch {} // ended meanwhile
  }
  return { total, byKind };
}

test('a BERT-base-sized checkpoint converts in the page within 300 MB of Chromium memory above idle', async (t) => {
  const browser = browsers.get(t);
  if (!browser) return;
  const dir = join(browser.work, 'bert-base');
  await mkdir(dir, { recursive: true });
  // a seeded 1 MiB pattern repeated: synthesizing 440 MB stays fast
  const pattern = new Uint8Array(1 << 20);
  const random = seededRandom(5);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (random() * 256) & 0x7f; // no NaN/Inf exponents
  await writeBundleStreaming(
    join(dir, 'bert_model.ckpt'),
    tinyBertShapes(BERT_BASE).map(([name, shape]) => {
      const byteLength = 4 * shape.reduce((a, b) => a * b, 1);
      return {
        name,
        dtype: 'float32' as const,
        shape,
        byteLength,
        *chunks() {
          for (let at = 0; at < byteLength; at += pattern.length)
            yield pattern.subarray(0, Math.min(pattern.length, byteLength - at));
        },
      };
    }),
  );
  await writeFile(join(dir, 'bert_config.json'), JSON.stringify(BERT_BASE));
  const page = await newPage(browser);
  assert.equal(await pickFolder(page, dir), 'ready', (await page.textContent('#error')) ?? '');
  const idleTree = treeMemory();
  const idle = idleTree.total;
  let peak = idle;
  const peakByKind = new Map<string, number>();
  const sample = () => {
    const now = treeMemory();
    peak = Math.max(peak, now.total);
    for (const [kind, bytes] of now.byKind) peakByKind.set(kind, Math.max(peakByKind.get(kind) ?? 0, bytes));
  };
  const sampler = setInterval(sample, 50);
  try {
    const download = await startConversion(page, 'safetensors');
    assert.match(await waitForStatus(page, 'done', 'failed'), /^done/, (await page.textContent('#error')) ?? '');
    assert.equal(await download.failure(), null);
  } finally {
    clearInterval(sampler);
  }
  sample();
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const kinds = [...peakByKind].map(([kind, bytes]) => `${kind} +${mb(bytes - (idleTree.byKind.get(kind) ?? 0))}`);
  console.error(`# Chromium memory: idle ${mb(idle)}, peak ${mb(peak)} (+${mb(peak - idle)}) converting 440 MB`);
  console.error(`# peak growth by process kind (each at its own peak): ${kinds.join(', ')}`);
  assert.ok(peak - idle < MAX_GROWTH, `Chromium grew by ${mb(peak - idle)} (idle ${mb(idle)}, peak ${mb(peak)})`);
  await page.close();
});
