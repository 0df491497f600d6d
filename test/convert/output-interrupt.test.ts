/**
 * Interrupted at every step of the output protocol (stage created, each file built, journal written, each
 * rename, each removal), by kill -9, Ctrl-C, SIGTERM and SIGHUP: the final name holds the complete old
 * output or the complete new one. Signals are sent by the run itself at its n-th step
 * (TF2TORCH_TEST_INTERRUPT, see src/io/test-interrupt.ts); n grows until a run completes uninterrupted.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { CliResult } from '../support/cli.js';
import { bertWorkspace, hiddenEntries, snapshot } from '../support/output-tree.js';

const EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
const HANDLED = Object.keys(EXIT) as (keyof typeof EXIT)[];

type Snapshot = Record<string, string>;
const visible = (s: Snapshot) => Object.fromEntries(Object.entries(s).filter(([n]) => !n.startsWith('.')));

/**
 * Runs `args` (a --force conversion into `folder`) interrupted at step 1, 2, … with kill -9 and, in turn,
 * one of the handled signals, each time from the old state restored; checks the final name after each.
 */
function interruptEverywhere(
  t: TestContext,
  s: NonNullable<ReturnType<typeof bertWorkspace>>,
  folder: string,
  args: string[],
): { steps: number; mixed: number } {
  const out = s.path(folder);
  const pristine = s.path('pristine');
  rmSync(pristine, { recursive: true, force: true });
  if (existsSync(out)) cpSync(out, pristine, { recursive: true });
  const restore = () => {
    rmSync(out, { recursive: true, force: true });
    if (existsSync(pristine)) cpSync(pristine, out, { recursive: true });
  };
  const before = snapshot(out);
  const done = s.run(args);
  assert.equal(done.code, 0, done.stderr);
  const after = snapshot(out);
  assert.notDeepEqual(visible(after), visible(before), 'the new output differs from the old one');
  const isOldOrNew = (state: Snapshot) =>
    JSON.stringify(state) === JSON.stringify(before) || JSON.stringify(state) === JSON.stringify(after);

  let mixed = 0;
  let step = 1;
  for (; step < 100; step++) {
    const handled = HANDLED[step % HANDLED.length] as keyof typeof EXIT;
    // A handled signal: the run exits 128 + signal number leaving exactly the old or the new output.
    restore();
    const interrupted = s.run(args, { TF2TORCH_TEST_INTERRUPT: `${step}:${handled}` });
    if (interrupted.code === 0) break; // past the last step: the run completed
    assert.equal(interrupted.code, EXIT[handled], `step ${step}, ${handled}: ${interrupted.stderr}`);
    assert.ok(isOldOrNew(snapshot(out)), `step ${step}, ${handled}: ${JSON.stringify(snapshot(out))}`);

    // kill -9: nothing of ours runs afterwards; every visible file is complete, old or new.
    restore();
    const killed = s.run(args, { TF2TORCH_TEST_INTERRUPT: `${step}:SIGKILL` });
    assert.equal(killed.code, -1, `step ${step}: killed (${killed.stderr})`);
    const state = snapshot(out);
    for (const [name, hash] of Object.entries(visible(state)))
      assert.ok(hash === before[name] || hash === after[name], `step ${step}, kill -9: ${name} is neither old nor new`);
    const stages = hiddenEntries(out).filter((n) => n.startsWith('.tf2torch.') && n.endsWith('.tmp'));
    if (!isOldOrNew(visible(state))) {
      // Only a commit cut short: its journal is there, and the next run finishes it.
      mixed += 1;
      assert.equal(stages.length, 1, `step ${step}: a mixed folder has its commit journal`);
      assert.ok(readdirSync(join(out, stages[0] as string)).includes('.commit.json'), `step ${step}`);
      if (mixed === 1) {
        // Even a run that then refuses (no --force) finishes the commit first.
        const refused = s.run(args.filter((a) => a !== '--force'));
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, /error\[E_OUTPUT_EXISTS\]: .* already exists/);
        assert.deepEqual(snapshot(out), after, `step ${step}: the commit finished by a refused run`);
        continue;
      }
    }
    // The next run on the output cleans up what the killed one left and ends with the new output (checked
    // for every commit cut short, and once for a stage left before its commit).
    if (isOldOrNew(visible(state)) && step > 1) continue;
    const next = s.run(args, {}, false);
    assert.equal(next.code, 0, `step ${step}: the run after kill -9: ${next.stderr}`);
    assert.deepEqual(snapshot(out), after, `step ${step}: after the next run`);
    if (stages.length > 0)
      assert.match(next.stderr, /note: .*removed \d+ leftovers? of an interrupted earlier run/, `step ${step}`);
  }
  t.diagnostic(`${folder}: interrupted at ${step - 1} steps, ${mixed} commits cut short by kill -9 and finished`);
  return { steps: step - 1, mixed };
}

test('a folder replaced with --force: old or new at every instant, user files kept', (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  const old = s.run(['--pytorch_dump_output', 'out/', '--format', 'pytorch', '--max-shard-size', '600']);
  assert.equal(old.code, 0, old.stderr);
  writeFileSync(s.path('out/notes.txt'), 'mine');
  cpSync(s.path('ck/bert_config.json'), s.path('out/bert_config.json'));
  const { steps, mixed } = interruptEverywhere(t, s, 'out', [
    '--config',
    'out/bert_config.json',
    '--pytorch_dump_output',
    'out/',
    '--max-shard-size',
    '500',
    '--dtype',
    'float16',
    '--force',
  ]);
  assert.ok(steps >= 10, `${steps} steps`);
  assert.ok(mixed >= 3, 'kill -9 cut commits short, and the next runs finished them');
});

test('a new folder: interrupted, the final name holds no folder or the complete one (kill -9: only our hidden leftovers)', (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  const args = ['--pytorch_dump_output', 'new/deeper/'];
  const complete = s.run(args);
  assert.equal(complete.code, 0, complete.stderr);
  const after = snapshot(s.path('new/deeper'));
  for (let step = 1; step <= 4; step++) {
    rmSync(s.path('new'), { recursive: true, force: true });
    const killed: CliResult = s.run(args, { TF2TORCH_TEST_INTERRUPT: `${step}:SIGKILL` });
    assert.equal(killed.code, -1);
    assert.deepEqual(visible(snapshot(s.path('new/deeper'))), {}, `kill -9 at step ${step}`);
    rmSync(s.path('new'), { recursive: true, force: true });
    const handled = HANDLED[step % HANDLED.length] as keyof typeof EXIT;
    const interrupted = s.run(args, { TF2TORCH_TEST_INTERRUPT: `${step}:${handled}` });
    assert.equal(interrupted.code, EXIT[handled], interrupted.stderr);
    // The folders it created are removed, unless the commit ended before the signal was handled.
    if (existsSync(s.path('new')))
      assert.deepEqual(snapshot(s.path('new/deeper')), after, `${handled} at step ${step}`);
    else assert.ok(step < 3, `${handled} at step ${step}: the output was complete before the handler ran`);
  }
});

test('a single file with its config.json is one unit: old or new pair at every instant', (t) => {
  const s = bertWorkspace(t);
  if (!s) return;
  const old = s.run(['--pytorch_dump_output', 'single/pytorch_model.bin']);
  assert.equal(old.code, 0, old.stderr);
  writeFileSync(s.path('single/notes.txt'), 'mine');
  const { steps } = interruptEverywhere(t, s, 'single', [
    '--pytorch_dump_output',
    'single/pytorch_model.bin',
    '--dtype',
    'float16',
    '--force',
  ]);
  assert.ok(steps >= 5, `${steps} steps`);
});
