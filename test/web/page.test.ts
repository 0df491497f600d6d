/**
 * The page in a real Chromium (Debian's, driven headless by playwright-core): the real BERT and GPT-2
 * checkpoints converted in the page's worker are byte-identical to the command line's output, and a
 * corrupted data shard shows the command line's checksum error on the page.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildWeb } from '../../web/build.js';
import { serveWeb } from '../../web/serve.js';
import { runCli } from '../support/cli.js';
import { IN_CI, realFixture } from '../support/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
let browser: BrowserContext | undefined;
let server: Server | undefined;
let url = '';
let work = '';

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  work = await mkdtemp(join(tmpdir(), 'tf2torch-web-'));
  server = await serveWeb(0, await buildWeb(join(work, 'site'), { typeCheck: false }));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  // A fresh profile per run (the --user-data-dir of a persistent context).
  browser = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  if (work) await rm(work, { recursive: true, force: true });
});

function haveChromium(t: { skip(message: string): void }): boolean {
  if (browser) return true;
  const notice = `${CHROMIUM} not found (apt-get install chromium)`;
  if (IN_CI) throw new Error(`${notice}; CI=true requires it`);
  console.error(`SKIP: ${notice}`);
  t.skip(notice);
  return false;
}

/** Picks `dir` as a folder on the page and waits for the plan. */
async function openPage(dir: string): Promise<Page> {
  const page = await (browser as BrowserContext).newPage();
  await page.goto(url);
  await page.setInputFiles('#pick-folder', dir);
  await page.waitForFunction(`['ready', 'failed'].includes(document.getElementById('status').textContent)`);
  return page;
}

/** Converts on the page and saves every offered download into `into`; returns their names. */
async function convertOnPage(page: Page, format: 'safetensors' | 'pytorch', into: string): Promise<string[]> {
  await page.check(`input[name=format][value=${format}]`);
  await page.click('#convert');
  await page.waitForFunction(`/^(done|failed)/.test(document.getElementById('status').textContent)`);
  assert.equal(await page.textContent('#error'), '');
  const links = await page.$$('#downloads a');
  const names: string[] = [];
  for (const link of links) {
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    names.push(download.suggestedFilename());
    await download.saveAs(join(into, download.suggestedFilename()));
  }
  return names.sort();
}

async function assertSameFiles(names: string[], pageDir: string, cliDir: string): Promise<void> {
  assert.ok(names.length >= 2, `the page offered ${names.join(', ')}`);
  for (const name of names) {
    const [fromPage, fromCli] = await Promise.all([readFile(join(pageDir, name)), readFile(join(cliDir, name))]);
    assert.ok(fromPage.equals(fromCli), `${name}: the page's bytes differ from the command line's`);
  }
}

for (const [fixture, format, type] of [
  ['bert-tiny-keras-bert', 'safetensors', 'bert'],
  ['gpt2-toy-keras-gpt-2', 'pytorch', 'gpt2'],
] as const) {
  test(`the page converts ${fixture} (${format}) byte for byte as the command line`, async (t) => {
    const dir = realFixture(t, fixture);
    if (!dir || !haveChromium(t)) return;
    const cliOut = join(work, `${fixture}-cli`);
    const output = format === 'pytorch' ? `${cliOut}/pytorch_model.bin` : `${cliOut}/`;
    const cli = runCli(['convert', '--tf_checkpoint', dir, '--pytorch_dump_output', output, '--quiet']);
    assert.equal(cli.code, 0, cli.stderr);
    const page = await openPage(dir);
    assert.match((await page.textContent('#model-type')) ?? '', new RegExp(`^${type}\\b`));
    assert.ok((await page.$$('#plan tbody tr')).length > 0);
    const pageOut = join(work, `${fixture}-page`);
    const names = await convertOnPage(page, format, pageOut);
    // the model card records the command line and the inputs' digests: the page writes none
    const expected =
      format === 'pytorch'
        ? ['config.json', 'pytorch_model.bin']
        : (await readdir(cliOut)).filter((n) => n !== 'README.md');
    for (const name of expected) assert.ok(names.includes(name), `the page did not offer ${name}`);
    await assertSameFiles(
      names.filter((n) => expected.includes(n)),
      pageOut,
      cliOut,
    );
    await page.close();
  });
}

test('a corrupted data shard shows the checksum error on the page', async (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  if (!dir || !haveChromium(t)) return;
  const copy = join(work, 'corrupt', 'bert-tiny-keras-bert');
  await cp(dir, copy, { recursive: true });
  const data = (await readdir(copy)).find((n) => /\.data-\d{5}-of-\d{5}$/.test(n)) as string;
  const bytes = await readFile(join(copy, data));
  bytes[0]! ^= 0x01; // the first stored tensor, bert/embeddings/LayerNorm/beta: converted, so read and checked
  await writeFile(join(copy, data), bytes);
  const cli = runCli(['convert', '--tf_checkpoint', copy, '--pytorch_dump_output', join(work, 'corrupt-out/')]);
  const cliError = cli.stderr.split('\n').find((l) => l.startsWith('error[')) as string;
  assert.match(cliError, /^error\[E_TENSOR_CHECKSUM\]/);
  const page = await openPage(copy);
  await page.click('#convert');
  await page.waitForFunction(`document.getElementById('status').textContent === 'failed'`);
  const shown = (await page.textContent('#error')) ?? '';
  assert.match(shown, /^error\[E_TENSOR_CHECKSUM\]: /);
  assert.match(shown, new RegExp(data.replace(/[.]/g, '\\.')));
  await page.close();
});
