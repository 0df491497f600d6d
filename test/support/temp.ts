/**
 * Temporary folders that tests cannot leak: each is removed when its test ends, passed or failed
 * (`t.after`), so no test needs its own try/finally.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** What a test offers for cleanup: node:test's TestContext, or anything with its `after`. */
export interface AfterHook {
  after(fn: () => void): void;
}

/** A new empty folder `tf2torch-<label>-XXXXXX`, removed after the test. */
export function tempDir(t: AfterHook, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tf2torch-${label}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A writable copy of the files of `fixture` (a folder: all its files, or only `files`) in a new
 * temporary folder, removed after the test: real fixtures are never modified in place.
 */
export function copyFixture(t: AfterHook, fixture: string, label: string, files?: readonly string[]): string {
  const dir = tempDir(t, label);
  const names = files ?? readdirSync(fixture, { withFileTypes: true }).flatMap((e) => (e.isFile() ? [e.name] : []));
  for (const name of names) copyFileSync(join(fixture, name), join(dir, name));
  return dir;
}

/**
 * For files whose helpers make folders outside any one test: `const tmp = tempDirs('label')`; each
 * `tmp()` is a new folder, and all of them are removed when the file's tests have run.
 */
export function tempDirs(label: string): () => string {
  const made: string[] = [];
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), `tf2torch-${label}-`));
    made.push(dir);
    return dir;
  };
}
