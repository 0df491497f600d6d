/**
 * Finds the real checkpoints (written by TensorFlow and others, never by us) through TF2TORCH_FIXTURES.
 * When they are absent a test skips with a visible notice, except under CI=true, where it fails.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

export const FIXTURES_DIR = resolve(
  process.env.TF2TORCH_FIXTURES ?? join(process.cwd(), '..', 'shared', 'fixtures', 'real'),
);
export const IN_CI = process.env.CI === 'true';

/** Path of one real fixture folder, or undefined after marking the test skipped (fails in CI). */
export function realFixture(t: TestContext, name: string): string | undefined {
  const dir = join(FIXTURES_DIR, name);
  if (existsSync(dir)) return dir;
  const notice = `real fixture ${name} not found under ${FIXTURES_DIR} (set TF2TORCH_FIXTURES)`;
  if (IN_CI) throw new Error(`${notice}; CI=true requires it`);
  console.error(`SKIP: ${notice}`);
  t.skip(notice);
  return undefined;
}
