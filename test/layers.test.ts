/**
 * The layering of docs/ARCHITECTURE.md, checked on the source: imports go one way only
 * (io → formats → mapping → architectures → convert → commands → cli), and no module imports itself
 * through others. Type-only imports count: a cycle of types is still a cycle for the reader.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findCycle, type ImportGraph, type Layer, layerViolations, readImportGraph } from './support/import-graph.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Lowest first; the order docs/ARCHITECTURE.md gives. */
const LAYERS: readonly Layer[] = [
  // the vocabulary every layer shares
  { units: ['errors.ts', 'tensor.ts', 'units.ts', 'version.ts'], shared: true },
  { units: ['io/'] },
  // tensor formats and model configuration files know nothing of each other
  { units: ['formats/', 'config/'] },
  { units: ['mapping/'] },
  { units: ['architectures/'] },
  { units: ['convert/'] },
  { units: ['commands/'] },
  { units: ['cli.ts', 'index.ts'] },
];

const graph = readImportGraph(SRC);

test('src/ is read whole: every layer has modules, and imports resolve to files that exist', () => {
  assert.ok(graph.size > 50, `only ${graph.size} modules found under ${SRC}`);
  for (const layer of LAYERS)
    for (const unit of layer.units)
      assert.ok(
        [...graph.keys()].some((m) => m === unit || m.startsWith(unit)),
        `no module in ${unit}`,
      );
  for (const [from, targets] of graph)
    for (const to of targets) assert.ok(graph.has(to), `${from} imports ${to}, which is not a module of src/`);
});

test('no import goes up or sideways between layers', () => {
  assert.deepEqual(layerViolations(graph, LAYERS), []);
});

test('src/ has no import cycle, type-only imports included', () => {
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `import cycle: ${cycle?.join(' → ')}`);
});

test('only formats/open.ts, the registry, imports the openers', () => {
  const importsOpener = /import\s*(?:type\s*)?\{[^}]*\b[A-Z0-9_]+_OPENER\b[^}]*\}\s*from/;
  const importers = [...graph.keys()].filter((m) => importsOpener.test(readFileSync(join(SRC, m), 'utf8')));
  assert.deepEqual(importers, ['formats/open.ts']);
});

// The checks themselves, on small graphs with known faults: each must be found.
test('the checks find an upward import, a sideways import, an unlayered module and a cycle', () => {
  const faulty: ImportGraph = new Map([
    ['io/file.ts', ['formats/open.ts']],
    ['formats/open.ts', ['config/gin.ts', 'formats/source.ts']],
    ['formats/source.ts', ['formats/open.ts']],
    ['config/gin.ts', []],
    ['stray/x.ts', []],
  ]);
  assert.deepEqual(layerViolations(faulty, LAYERS), [
    'io/file.ts imports formats/open.ts from a higher layer',
    "formats/open.ts imports config/gin.ts: 'formats/' and 'config/' are peers of one layer",
    "stray/x.ts: 'stray/' belongs to no layer",
  ]);
  assert.deepEqual(findCycle(faulty), ['formats/open.ts', 'formats/source.ts', 'formats/open.ts']);
  const acyclic: ImportGraph = new Map([
    ['a.ts', ['b.ts', 'c.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', []],
  ]);
  assert.equal(findCycle(acyclic), undefined);
});
