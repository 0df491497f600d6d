/**
 * Named points of the output protocol (stage created, file built, journal written, each rename) where
 * tests interrupt a real run: with TF2TORCH_TEST_INTERRUPT="<n>:<SIGNAL>" the process sends itself that
 * signal at the n-th point. Unset (always, outside the tests), a point costs one lookup.
 */
let reached = 0;

export function outputStep(): void {
  const spec = process.env.TF2TORCH_TEST_INTERRUPT;
  if (spec === undefined || spec === '') return;
  reached += 1;
  const [at, signal] = spec.split(':');
  if (Number(at) === reached) process.kill(process.pid, (signal ?? 'SIGKILL') as NodeJS.Signals);
}
