/**
 * The page in a real Chromium: real checkpoints converted in the page into a streamed zip download whose
 * entries are byte-identical to the command line's folder (the model card but for how it was run); one state per pick; one conversion per
 * double click; Cancel mid-way (no file, the page usable again); warnings and errors worded for the
 * page; a type chosen by the user on an ambiguous checkpoint; progress in words.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { MODEL_TYPES } from '../../src/architectures/index.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { seededRandom } from '../support/random.js';
import { writeBundle } from '../support/tf-bundle-writer.js';
import { float32Tensor, TINY_BERT_CONFIG, tinyBertShapes, tinyBertWeights } from '../support/tiny-bert.js';
import {
  newPage,
  type PageBrowser,
  pageBrowser,
  pickFolder,
  startConversion,
  statusOf,
  unzipped,
  waitForStatus,
} from './browser.js';

const browsers = pageBrowser();

/** The command line's folder for `args`, converted into `out`. */
function cliFolder(checkpoint: string, out: string, args: string[] = []): void {
  const cli = runCli([
    'convert',
    '--tf_checkpoint',
    checkpoint,
    '--pytorch_dump_output',
    `${out}/`,
    '--quiet',
    ...args,
  ]);
  assert.equal(cli.code, 0, cli.stderr);
}

/** Converts on the page into a zip, waits for it, and returns its entries under the zip's folder. */
async function convertToZip(
  browser: PageBrowser,
  page: Page,
  format: 'safetensors' | 'pytorch' | 'both',
  label: string,
): Promise<Map<string, Buffer>> {
  const download = await startConversion(page, format);
  const zip = join(browser.work, `${label}.zip`);
  await download.saveAs(zip);
  assert.equal(await download.failure(), null);
  assert.match(await waitForStatus(page, 'done', 'failed'), /^done/, (await page.textContent('#error')) ?? '');
  const entries = unzipped(zip, join(browser.work, `${label}-unzipped`));
  const top = download.suggestedFilename().replace(/\.zip$/, '');
  return new Map([...entries].map(([name, bytes]) => [name.slice(top.length + 1), bytes]));
}

/**
 * The model card with what differs by nature left out: how it was run (the command line's command, the
 * page's choices in words) and the folders of paths in notes (a file system, or the picked tree).
 */
function cardWithoutOrigin(text: string): string {
  return text
    .replace(/^```sh\n.*\n```\n\n/m, '')
    .replace(/^Converted in tf2torch's web page: .*\n\n/m, '')
    .replace(/\/\S*\/([^/\s]+)/g, '…/$1');
}

/** Every file of the command line's folder is in the zip with the same bytes (the model card as above), and nothing else is. */
async function assertSameFolder(entries: Map<string, Buffer>, cliDir: string): Promise<void> {
  const expected = (await readdir(cliDir)).sort();
  assert.deepEqual([...entries.keys()].sort(), expected);
  for (const name of expected.filter((n) => n !== 'README.md'))
    assert.ok(entries.get(name)?.equals(await readFile(join(cliDir, name))), `${name}: the page's bytes differ`);
  const card = entries.get('README.md')?.toString('utf8') ?? '';
  const cliCard = await readFile(join(cliDir, 'README.md'), 'utf8');
  assert.match(card, /^Converted in tf2torch's web page: format \w+/m);
  assert.match(cliCard, /^tf2torch convert --tf_checkpoint /m);
  assert.equal(cardWithoutOrigin(card), cardWithoutOrigin(cliCard));
}

for (const [fixture, format, type] of [
  ['bert-tiny-keras-bert', 'both', 'bert'],
  ['gpt2-toy-keras-gpt-2', 'pytorch', 'gpt2'],
  ['transfo-xl-tiny-div-2', 'safetensors', 'transfo_xl'],
] as const) {
  test(`${fixture} (${format}): the page's streamed zip holds the command line's folder byte for byte`, async (t) => {
    const dir = realFixture(t, fixture);
    const browser = browsers.get(t);
    if (!dir || !browser) return;
    const cliOut = join(browser.work, `${fixture}-cli`);
    cliFolder(dir, cliOut, ['--format', format]);
    const page = await newPage(browser);
    assert.equal(await pickFolder(page, dir), 'ready', (await page.textContent('#error')) ?? '');
    assert.equal(await page.textContent('#model-type'), type);
    await assertSameFolder(await convertToZip(browser, page, format, fixture), cliOut);
    await page.close();
  });
}

test('a corrupted data shard shows the checksum error, and the download is abandoned', async (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  const browser = browsers.get(t);
  if (!dir || !browser) return;
  const copy = join(browser.work, 'corrupt', 'bert-tiny-keras-bert');
  await cp(dir, copy, { recursive: true });
  const data = (await readdir(copy)).find((n) => /\.data-\d{5}-of-\d{5}$/.test(n)) as string;
  const bytes = await readFile(join(copy, data));
  bytes[0]! ^= 0x01; // the first stored tensor, bert/embeddings/LayerNorm/beta: converted, so read and checked
  await writeFile(join(copy, data), bytes);
  const page = await newPage(browser);
  await pickFolder(page, copy);
  const download = await startConversion(page, 'safetensors');
  assert.equal(await waitForStatus(page, 'done', 'failed'), 'failed');
  assert.notEqual(await download.failure(), null, 'a failed conversion leaves no download');
  const shown = (await page.textContent('#error')) ?? '';
  assert.match(shown, /^error\[E_TENSOR_CHECKSUM\]: /);
  assert.match(shown, new RegExp(data.replace(/[.]/g, '\\.')));
  await page.close();
});

test('each pick is a new state: a failed pick clears the previous one, a good pick clears the error', async (t) => {
  const good = realFixture(t, 'bert-tiny-keras-bert');
  const other = realFixture(t, 'gpt2-toy-keras-gpt-2');
  const browser = browsers.get(t);
  if (!good || !other || !browser) return;
  const bad = join(browser.work, 'not-a-checkpoint');
  await mkdir(bad, { recursive: true });
  await writeFile(join(bad, 'notes.txt'), 'no checkpoint here\n');
  const page = await newPage(browser);
  assert.equal(await pickFolder(page, good), 'ready');
  assert.equal(await page.textContent('#model-type'), 'bert');
  assert.ok((await page.$$('#plan details')).length > 0);
  assert.equal(await pickFolder(page, bad), 'failed');
  assert.notEqual(await page.textContent('#error'), '');
  assert.equal(await page.textContent('#model-type'), '—');
  assert.equal((await page.$$('#plan details')).length, 0, 'the earlier plan is gone');
  assert.equal((await page.$$('#notes li, #warnings li')).length, 0, 'the earlier notes are gone');
  assert.ok(await page.isDisabled('#convert'));
  assert.equal(await pickFolder(page, other), 'ready');
  assert.equal(await page.textContent('#error'), '');
  assert.equal(await page.textContent('#model-type'), 'gpt2');
  assert.ok(await page.isEnabled('#convert'));
  await page.close();
});

test('a double click converts once; the plan is summarised in groups that expand', async (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  const browser = browsers.get(t);
  if (!dir || !browser) return;
  const page = await newPage(browser);
  await pickFolder(page, dir);
  const summaries = await page.$$eval('#plan summary', (s) => s.map((e) => e.textContent ?? ''));
  assert.ok(
    summaries.some((s) => /^converted: \d+$/.test(s)),
    summaries.join('; '),
  );
  await page.click('#plan summary >> nth=0');
  await page.waitForSelector('#plan details[open] tbody tr'); // rows are built when the group first opens
  let downloads = 0;
  page.on('download', () => downloads++);
  await page.dblclick('#convert');
  assert.match(await waitForStatus(page, 'done', 'failed'), /^done/);
  assert.equal(await page.textContent('#error'), '');
  assert.equal(downloads, 1);
  await page.close();
});

test('warnings are shown, worded for the page (no command-line flags)', async (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  const browser = browsers.get(t);
  if (!dir || !browser) return;
  const copy = join(browser.work, 'no-vocab');
  await cp(dir, copy, { recursive: true });
  await rm(join(copy, 'vocab.txt'));
  const page = await newPage(browser);
  assert.equal(await pickFolder(page, copy), 'ready');
  const warnings = (await page.textContent('#warnings')) ?? '';
  assert.match(warnings, /vocab\.txt/);
  assert.doesNotMatch((await page.textContent('body')) ?? '', /--[a-z]/);
  await page.close();
});

test('the supported types come from the registry; every control has a label and is reached by the keyboard', async (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  const browser = browsers.get(t);
  if (!dir || !browser) return;
  const page = await newPage(browser);
  const listed = await page.$$eval('#types li', (items) => items.map((li) => (li.textContent ?? '').split(':')[0]));
  assert.deepEqual(listed, [...MODEL_TYPES]);
  assert.equal(await pickFolder(page, dir), 'ready');
  const unlabelled = await page.$$eval('input, select, progress', (controls) =>
    controls.filter((c) => (c as unknown as { labels: unknown[] }).labels.length === 0).map((c) => c.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
  // Tab order reaches Convert; Enter on it converts (a download starts)
  await page.focus('input[name=destination][value=zip]');
  for (let i = 0; i < 5 && (await page.evaluate('document.activeElement.id')) !== 'convert'; i++)
    await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement.id'), 'convert');
  const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  assert.match(await waitForStatus(page, 'done', 'failed'), /^done/);
  assert.equal(await download.failure(), null);
  await page.close();
});

test('an ambiguous checkpoint: the page offers the types, converts as the one chosen, as the CLI does', async (t) => {
  const browser = browsers.get(t);
  if (!browser) return;
  // BERT's names next to an ELECTRA layer: either could be meant; the config comes apart from the checkpoint.
  const dir = join(browser.work, 'ambiguous');
  await mkdir(dir, { recursive: true });
  const extra = 'electra/encoder/layer_0/extra/kernel';
  await writeBundle(join(dir, 'model.ckpt'), [...tinyBertWeights(7), float32Tensor(extra, [4, 4], seededRandom(8))]);
  const config = join(browser.work, 'ambiguous-config', 'bert_config.json');
  await mkdir(join(browser.work, 'ambiguous-config'), { recursive: true });
  await writeFile(config, JSON.stringify(TINY_BERT_CONFIG));
  const page = await newPage(browser);
  assert.equal(await pickFolder(page, dir), 'failed');
  const error = (await page.textContent('#error')) ?? '';
  assert.match(error, /ambiguous; it could be bert .* or electra .*: choose with “Model type” \(bert or electra\)$/);
  assert.doesNotMatch(error, /--model_type/);
  assert.deepEqual(
    await page.$$eval('#model-type-choice option:not([hidden])', (o) => o.map((e) => e.getAttribute('value'))),
    ['', 'bert', 'electra'],
  );
  await page.selectOption('#model-type-choice', 'bert');
  await waitForStatus(page, 'ready', 'failed');
  await page.setInputFiles('#config-file', config);
  assert.equal(await waitForStatus(page, 'ready', 'failed'), 'failed');
  assert.match((await page.textContent('#error')) ?? '', /tick “Leave out variables no rule maps”/);
  await page.check('#skip-unknown');
  assert.equal(await waitForStatus(page, 'ready', 'failed'), 'ready', (await page.textContent('#error')) ?? '');
  assert.equal(await page.textContent('#model-type'), 'bert');
  const cliOut = join(browser.work, 'ambiguous-cli');
  cliFolder(dir, cliOut, ['--model_type', 'bert', '--config', config, '--skip-unknown']);
  await assertSameFolder(await convertToZip(browser, page, 'safetensors', 'ambiguous'), cliOut);
  await page.close();
});

test('progress in words changes while converting; Cancel stops it, leaves no file, and the page converts again', async (t) => {
  const small = realFixture(t, 'bert-tiny-keras-bert');
  const browser = browsers.get(t);
  if (!small || !browser) return;
  // large enough to be stopped mid-way: about 120 MB of weights
  const dir = join(browser.work, 'cancel');
  await mkdir(dir, { recursive: true });
  const config = {
    ...TINY_BERT_CONFIG,
    vocab_size: 30522,
    hidden_size: 768,
    intermediate_size: 768,
    num_attention_heads: 12,
  };
  const random = seededRandom(11);
  await writeBundle(
    join(dir, 'bert_model.ckpt'),
    tinyBertShapes(config).map(([name, shape]) => float32Tensor(name, shape, random)),
  );
  await writeFile(join(dir, 'bert_config.json'), JSON.stringify(config));
  const page = await newPage(browser);
  assert.equal(await pickFolder(page, dir), 'ready', (await page.textContent('#error')) ?? '');
  const download = await startConversion(page, 'safetensors');
  assert.ok(await page.isDisabled('#convert'));
  await page.waitForFunction(`/written/.test(document.getElementById('progress-text').textContent)`);
  const first = (await page.textContent('#progress-text')) ?? '';
  assert.match(first, /^[\d.]+ [kMG]?B of [\d.]+ MB written \(\d+ %\), [\d.]+ [kMG]?B\/s, about .+ left$/);
  await page.waitForFunction(`document.getElementById('progress-text').textContent !== ${JSON.stringify(first)}`);
  await page.click('#cancel');
  assert.equal(await waitForStatus(page, 'cancelled', 'done', 'failed'), 'cancelled');
  assert.notEqual(await download.failure(), null, 'the cancelled download is discarded');
  assert.equal(await download.path().catch(() => null), null);
  assert.ok(await page.isEnabled('#convert'));
  // usable again: the same page picks and converts another checkpoint
  assert.equal(await pickFolder(page, small), 'ready');
  const again = await convertToZip(browser, page, 'safetensors', 'after-cancel');
  assert.ok(again.has('model.safetensors'));
  assert.equal(
    await statusOf(page),
    'done: model.safetensors, vocab.txt, tokenizer_config.json, special_tokens_map.json, config.json, README.md',
  );
  await page.close();
});
