/**
 * The page in a real Chromium (Debian's, headless, driven by playwright-core): built and served on
 * 127.0.0.1 once per test file, a fresh profile per run. Skips with a notice when Chromium is absent
 * (fails under CI=true).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type BrowserContext, chromium, type Download, type Page } from 'playwright-core';
import { buildWeb } from '../../web/build.js';
import { serveWeb } from '../../web/serve.js';
import { IN_CI } from '../support/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';

export interface PageBrowser {
  readonly context: BrowserContext;
  readonly url: string;
  /** A scratch folder removed after the file's tests. */
  readonly work: string;
}

/**
 * Registers the file's before/after hooks; `get()` is the browser, or undefined when there is none.
 * `scratch`: where the work folder (profile, downloads, checkpoints) is made (default: the temp folder).
 */
export function pageBrowser(scratch = tmpdir()): { get(t: { skip(message: string): void }): PageBrowser | undefined } {
  let browser: PageBrowser | undefined;
  let server: Server | undefined;
  let work = '';
  before(async () => {
    if (!existsSync(CHROMIUM)) return;
    work = await mkdtemp(join(scratch, 'tf2torch-web-'));
    server = await serveWeb(0, await buildWeb(join(work, 'site'), { typeCheck: false }));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    const context = await chromium.launchPersistentContext(join(work, 'profile'), {
      executablePath: CHROMIUM,
      acceptDownloads: true,
      downloadsPath: join(work, 'downloads'),
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
    browser = { context, url, work };
  });
  after(async () => {
    await browser?.context.close();
    await new Promise((done) => (server ? server.close(done) : done(undefined)));
    if (work) await rm(work, { recursive: true, force: true });
  });
  return {
    get(t) {
      if (browser) return browser;
      const notice = `${CHROMIUM} not found (apt-get install chromium)`;
      if (IN_CI) throw new Error(`${notice}; CI=true requires it`);
      console.error(`SKIP: ${notice}`);
      t.skip(notice);
      return undefined;
    },
  };
}

export const statusOf = (page: Page) => page.textContent('#status').then((s) => s ?? '');

/** Waits until the status is one of `states` (or starts with one, for `done: …`). */
export async function waitForStatus(page: Page, ...states: string[]): Promise<string> {
  await page.waitForFunction(
    `${JSON.stringify(states)}.some((s) => (document.getElementById('status').textContent ?? '').startsWith(s))`,
  );
  return statusOf(page);
}

/** A fresh page with the service worker in control of downloads. */
export async function newPage(browser: PageBrowser): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(browser.url);
  await page.waitForFunction('navigator.serviceWorker.ready.then((r) => r.active !== null)');
  return page;
}

/** Picks `dir` as a folder and waits for the plan (or the error). */
export async function pickFolder(page: Page, dir: string): Promise<string> {
  await page.setInputFiles('#pick-folder', dir);
  return waitForStatus(page, 'ready', 'failed');
}

/** Converts into a zip download; resolves with the download once it is started. */
export async function startConversion(page: Page, format: 'safetensors' | 'pytorch' | 'both'): Promise<Download> {
  await page.check(`input[name=format][value=${format}]`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#convert')]);
  return download;
}

/** The zip's entries, extracted by Info-ZIP's unzip into `into`: name → bytes. */
export function unzipped(zip: string, into: string): Map<string, Buffer> {
  execFileSync('unzip', ['-q', '-o', zip, '-d', into]);
  const out = new Map<string, Buffer>();
  const walk = (dir: string, at: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(dir, e.name), `${at}${e.name}/`);
      else out.set(`${at}${e.name}`, readFileSync(join(dir, e.name)));
  };
  walk(into, '');
  return out;
}
