/**
 * The page given a checkpoint's URL, in a real Chromium against nginx on another origin (127.0.0.1,
 * CORS headers on): the zip holds the command line's conversion of the same URL byte for byte, only the
 * planned tensors' ranges are fetched (nginx's access log counts them), and a URL that cannot be read
 * (404, a server without CORS headers) gives a message, not a stack trace.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Page } from 'playwright-core';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { startNginx } from '../support/nginx.js';
import { writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { tempDir } from '../support/temp.js';
import { TINY_BERT_CONFIG, tinyBertShapes } from '../support/tiny-bert.js';
import { newPage, type PageBrowser, pageBrowser, startConversion, unzipped, waitForStatus } from './browser.js';

const browsers = pageBrowser();

/** Types `url` into the URL field, submits it with the keyboard (Enter), and waits for the plan or the error. */
async function readUrl(page: Page, url: string): Promise<string> {
  await page.focus('#checkpoint-url');
  await page.keyboard.type(url);
  await page.keyboard.press('Enter');
  return waitForStatus(page, 'ready', 'failed');
}

/** The page's zip of `url` and the command line's folder of the same URL: same files, same bytes. */
async function assertSameAsCli(t: TestContext, browser: PageBrowser, page: Page, url: string, label: string) {
  const cliDir = join(tempDir(t, 'cli'), 'out');
  const cli = runCli(['convert', '--tf_checkpoint', url, '--pytorch_dump_output', `${cliDir}/`, '--quiet']);
  assert.equal(cli.code, 0, cli.stderr);
  const download = await startConversion(page, 'safetensors');
  const zip = join(browser.work, `${label}.zip`);
  await download.saveAs(zip);
  assert.match(await waitForStatus(page, 'done', 'failed'), /^done/, (await page.textContent('#error')) ?? '');
  const top = download.suggestedFilename().replace(/\.zip$/, '');
  const entries = new Map(
    [...unzipped(zip, join(browser.work, `${label}-unzipped`))].map(([n, b]) => [n.slice(top.length + 1), b]),
  );
  const expected = (await readdir(cliDir)).sort();
  assert.deepEqual([...entries.keys()].sort(), expected);
  // both write a model card; it records how it was run (the command line, or the page's choices)
  for (const name of expected.filter((n) => n !== 'README.md'))
    assert.ok(entries.get(name)?.equals(await readFile(join(cliDir, name))), `${name}: the page's bytes differ`);
}

test("a real checkpoint's URL, typed and submitted by keyboard: the command line's conversion byte for byte", async (t) => {
  const fixtures = realFixture(t, 'bert-tiny-keras-bert');
  const browser = browsers.get(t);
  if (!fixtures || !browser) return;
  const nginx = await startNginx(t, { '/fixtures/': fixtures }, { cors: true });
  if (nginx === undefined) return;
  const page = await newPage(browser);
  const url = `${nginx.origin}/fixtures/bert_model.ckpt`;
  assert.equal(await readUrl(page, url), 'ready', (await page.textContent('#error')) ?? '');
  assert.equal(await page.textContent('#model-type'), 'bert');
  const before = nginx.accessLog().length;
  await assertSameAsCli(t, browser, page, url, 'real');
  const ranged = nginx.accessLog().filter((l) => l.method === 'GET' && l.status === 206);
  assert.ok(ranged.length > 0, 'the data shard is read by ranges');
  assert.ok(before > 0 && ranged.every((l) => l.uri.endsWith('.data-00000-of-00001')));
  await page.close();
});

test('an Adam checkpoint by its folder URL: only the weights cross the network, as for the command line', async (t) => {
  const browser = browsers.get(t);
  if (!browser) return;
  const dir = tempDir(t, 'adam');
  const shapes = tinyBertShapes(TINY_BERT_CONFIG);
  await writeOriginalCheckpoint(join(dir, 'model.ckpt-5'), shapes, { seed: 3, slots: ['adam_m', 'adam_v'] });
  await writeFile(join(dir, 'checkpoint'), 'model_checkpoint_path: "/home/trainer/run/model.ckpt-5"\n');
  await writeFile(join(dir, 'bert_config.json'), JSON.stringify(TINY_BERT_CONFIG));
  const nginx = await startNginx(t, { '/run/': dir }, { cors: true });
  if (nginx === undefined) return;
  const weightBytes = shapes.reduce((sum, [, shape]) => sum + 4 * shape.reduce((a, b) => a * b, 1), 0);
  const shardSize = statSync(join(dir, 'model.ckpt-5.data-00000-of-00001')).size;
  assert.ok(shardSize > 2.9 * weightBytes, 'the slots are twice the weights');
  const page = await newPage(browser);
  assert.equal(await readUrl(page, `${nginx.origin}/run/`), 'ready', (await page.textContent('#error')) ?? '');
  await assertSameAsCli(t, browser, page, `${nginx.origin}/run/`, 'adam');
  // the log holds the page's requests and the command line's: the shard's bytes sent twice, each ≤ the weights
  const data = nginx.bytesSent('/run/model.ckpt-5.data');
  assert.ok(data >= 2 * (weightBytes - 8) && data <= 2 * weightBytes, `fetched ${data} for 2 × ${weightBytes}`);
  const shardGets = nginx.accessLog().filter((l) => l.method === 'GET' && l.uri.endsWith('.data-00000-of-00001'));
  assert.ok(
    shardGets.every((l) => l.status === 206 && l.range.startsWith('bytes=')),
    'never the whole shard',
  );
  await page.close();
});

test('a URL that cannot be read: a missing checkpoint, a server without CORS headers, not a URL', async (t) => {
  const fixtures = realFixture(t, 'bert-tiny-keras-bert');
  const browser = browsers.get(t);
  if (!fixtures || !browser) return;
  const open = await startNginx(t, { '/fixtures/': fixtures }, { cors: true });
  const closed = await startNginx(t, { '/fixtures/': fixtures });
  if (open === undefined || closed === undefined) return;
  const page = await newPage(browser);
  const shown = async (url: string) => {
    await page.fill('#checkpoint-url', '');
    assert.equal(await readUrl(page, url), 'failed');
    const text = (await page.textContent('#error')) ?? '';
    assert.doesNotMatch(text, /\n\s+at |internal error/, text);
    return text;
  };
  assert.match(
    await shown(`${open.origin}/fixtures/nothing.ckpt`),
    /^error\[E_NOT_FOUND\]: .*no TensorFlow checkpoint there/,
  );
  assert.match(
    await shown(`${closed.origin}/fixtures/bert_model.ckpt`),
    /^error\[E_NETWORK\]: .*does not allow cross-origin reads/,
  );
  assert.doesNotMatch((await page.textContent('#error')) ?? '', /retried/, 'reported at once, not retried');
  await page.fill('#checkpoint-url', 'ftp://example/x');
  await page.click('#read-url');
  assert.match((await page.textContent('#error')) ?? '', /not a URL the page reads/);
  await page.close();
});
