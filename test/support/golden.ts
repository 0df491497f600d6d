/**
 * Golden text files (test/golden/*.txt): a test compares its output with the checked-in file.
 * TF2TORCH_UPDATE_GOLDEN=1 rewrites the files instead; review the diff by eye before committing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const GOLDEN_DIR = join(process.cwd(), 'test', 'golden');
export const UPDATE_GOLDEN = process.env.TF2TORCH_UPDATE_GOLDEN === '1';

export function checkGolden(fileName: string, actual: string): void {
  const path = join(GOLDEN_DIR, fileName);
  if (UPDATE_GOLDEN) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `${path} is missing: run the tests once with TF2TORCH_UPDATE_GOLDEN=1 and review it`);
  assert.equal(
    actual,
    readFileSync(path, 'utf8'),
    `${fileName} differs from the golden file (TF2TORCH_UPDATE_GOLDEN=1 rewrites it)`,
  );
}
