/**
 * The console failing under a real CLI child: stdout closed by its reader after the first bytes (`| head -1`)
 * or before the summary, stdout on a full device (/dev/full), stderr closed or full. Work done stands: a closed
 * pipe ends quietly with the command's own status (0 after a committed conversion); a full stdout is
 * error[E_NO_SPACE] saying the conversion was committed, exit 1; never a stack trace, never a stage or lock left.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { CLI_PATH } from './support/cli.js';
import { realFixture } from './support/fixtures.js';
import { tempDir } from './support/temp.js';

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A stream as the child gets it: read to the end, its read end closed before any output, or /dev/full. */
type Stream = 'pipe' | 'closed' | 'full';

/** Runs the CLI with stdout and stderr as told. */
function runWith(args: string[], streams: { stdout: Stream; stderr: Stream }, cwd?: string): Promise<Ended> {
  const full = openSync('/dev/full', 'w');
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd,
    stdio: ['ignore', streams.stdout === 'full' ? full : 'pipe', streams.stderr === 'full' ? full : 'pipe'],
  });
  closeSync(full);
  return ended(child, streams);
}

/**
 * `tf2torch <args> | head -c 64`, as a shell runs it: a real pipe (64 KiB), whose reader leaves after its
 * first bytes while the CLI is still writing; the exit status is the CLI's (PIPESTATUS), stdout what head printed.
 */
function runIntoHead(args: string[]): Promise<Ended> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's, not JavaScript's
  const script = '"$0" "$@" | head -c 64; exit "${PIPESTATUS[0]}"';
  const child = spawn('bash', ['-c', script, process.execPath, CLI_PATH, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return ended(child, { stdout: 'pipe', stderr: 'pipe' });
}

function ended(child: ChildProcess, streams: { stdout: Stream; stderr: Stream }): Promise<Ended> {
  const text = { stdout: '', stderr: '' };
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = child[name];
    if (stream === null) continue;
    if (streams[name] === 'closed') stream.destroy();
    stream.on('data', (chunk: Buffer) => {
      text[name] += chunk.toString('utf8');
    });
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, ...text }));
  });
}

function hasBash(t: TestContext): boolean {
  if (spawnSync('bash', ['-c', 'true']).status === 0) return true;
  console.error('SKIP: no bash to run a pipeline with');
  t.skip('no bash to run a pipeline with');
  return false;
}

function assertNoCrash(r: Ended): void {
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error|Unhandled|node:events/, r.stderr);
  assert.equal(r.signal, null);
}

/** The output folder holds the conversion and nothing of a run in progress (stage, lock, temporaries). */
function assertCommitted(folder: string): void {
  assert.deepEqual(readdirSync(folder).sort(), [
    'README.md',
    'config.json',
    'model.safetensors',
    'special_tokens_map.json',
    'tokenizer_config.json',
    'vocab.txt',
  ]);
}

function hasDevFull(t: TestContext): boolean {
  if (existsSync('/dev/full')) return true;
  console.error('SKIP: no /dev/full on this system');
  t.skip('no /dev/full on this system');
  return false;
}

test('a plan or a listing larger than the pipe, its reader gone after the first bytes: exit 0, no stack trace', async (t) => {
  const dir = realFixture(t, 'bert-base-uncased-pretrain-adam-indexonly');
  if (!dir || !hasBash(t)) return;
  const ckpt = join(dir, 'bert_model.ckpt');
  // Both print more than a pipe holds (64 KiB), so the CLI is still writing when head leaves.
  const plan = await runIntoHead(['convert', '--tf_checkpoint', ckpt, '--dry-run']);
  assertNoCrash(plan);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /^model_type: bert/);
  const listing = await runIntoHead(['inspect', '--json', ckpt]);
  assertNoCrash(listing);
  assert.equal(listing.code, 0, listing.stderr);
  assert.match(listing.stdout, /^\{/);
});

test('a conversion whose summary meets a closed pipe or a closed or full stderr: exit 0, the output committed', async (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  if (!dir || !hasDevFull(t)) return;
  const cwd = tempDir(t, 'streams');
  const convert = ['convert', '--model_type', 'bert', '--tf_checkpoint', join(dir, 'bert_model.ckpt')];
  const cases: [string, { stdout: Stream; stderr: Stream }][] = [
    // spawn's pipes are socket pairs, whose buffers hold a summary: closed before it is written, it meets EPIPE.
    ['stdout closed', { stdout: 'closed', stderr: 'pipe' }],
    ['stderr closed', { stdout: 'pipe', stderr: 'closed' }],
    ['stderr full', { stdout: 'pipe', stderr: 'full' }],
    ['both closed', { stdout: 'closed', stderr: 'closed' }],
  ];
  for (const [i, [label, streams]] of cases.entries()) {
    const r = await runWith([...convert, '--pytorch_dump_output', `out-${i}/`], streams, cwd);
    assertNoCrash(r);
    assert.equal(r.code, 0, `${label}: ${r.stderr}`);
    assertCommitted(join(cwd, `out-${i}`));
    if (streams.stdout === 'pipe') assert.match(r.stdout, /^converted bert checkpoint/, label);
  }
});

test('stdout on a full device: error[E_NO_SPACE] saying whether the conversion was committed, exit 1', async (t) => {
  const dir = realFixture(t, 'bert-tiny-keras-bert');
  if (!dir || !hasDevFull(t)) return;
  const cwd = tempDir(t, 'streams');
  const ckpt = join(dir, 'bert_model.ckpt');
  const r = await runWith(
    ['convert', '--model_type', 'bert', '--tf_checkpoint', ckpt, '--pytorch_dump_output', 'out/'],
    { stdout: 'full', stderr: 'pipe' },
    cwd,
  );
  assertNoCrash(r);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error\[E_NO_SPACE\]: cannot write the standard output: no space left on the device.*; the conversion was committed: out is complete$/m,
  );
  assertCommitted(join(cwd, 'out'));

  const plan = await runWith(['convert', '--tf_checkpoint', ckpt, '--dry-run'], { stdout: 'full', stderr: 'pipe' });
  assertNoCrash(plan);
  assert.equal(plan.code, 1, plan.stderr);
  assert.match(plan.stderr, /^error\[E_NO_SPACE\]: cannot write the standard output: .*\(ENOSPC\)$/m);
  assert.doesNotMatch(plan.stderr, /committed/);
});
