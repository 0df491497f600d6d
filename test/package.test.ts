/**
 * What `npm pack` ships: every file package.json's bin, main, types and exports name, one built module for
 * each source module, the changelog; no tests and no source maps. (`prepack` builds dist/ before a real pack;
 * here the suite's own build is listed, with scripts off.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readImportGraph } from './support/import-graph.js';

const ROOT = new URL('../../', import.meta.url);

interface Manifest {
  bin: Record<string, string>;
  main: string;
  types: string;
  exports: Record<string, string>;
  scripts: Record<string, string>;
}

test('npm pack ships the built entry points, every built module and the changelog, and nothing else', () => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as Manifest;
  assert.match(pkg.scripts.prepack ?? '', /npm run build/, 'prepack must build dist/ before packing');
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const [packed] = JSON.parse(r.stdout) as [{ files: { path: string }[] }];
  const files = new Set(packed.files.map((f) => f.path));
  const needed = [...Object.values(pkg.bin), pkg.main, pkg.types, ...Object.values(pkg.exports)].map((p) =>
    p.replace(/^\.\//, ''),
  );
  for (const path of [...needed, 'CHANGELOG.md', 'README.md']) assert.ok(files.has(path), `${path} is not packed`);
  for (const module of readImportGraph(new URL('src/', ROOT).pathname).keys()) {
    const built = `dist/src/${module.replace(/\.ts$/, '')}`;
    assert.ok(files.has(`${built}.js`) && files.has(`${built}.d.ts`), `${built}.js/.d.ts is not packed`);
  }
  const stray = [...files].filter((p) => p.endsWith('.map') || p.startsWith('dist/test') || p.startsWith('src/'));
  assert.deepEqual(stray, []);
});
