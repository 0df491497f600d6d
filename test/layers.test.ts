/**
 * The layering of docs/ARCHITECTURE.md, checked on the source: imports go one way only
 * (io → formats → mapping → architectures → convert → commands → cli), and no module imports itself
 * through others. Type-only imports count: a cycle of types is still a cycle for the reader. Inside
 * convert/, the streaming pipeline and the output policy are rooms that never import each other; the
 * page (web/page/) reaches src/ through portable.ts only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  findCycle,
  type ImportGraph,
  type Layer,
  layerViolations,
  type PlatformUse,
  platformUse,
  platformViolations,
  type Room,
  readImportGraph,
  roomViolations,
  unitOf,
} from './support/import-graph.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Lowest first; the order docs/ARCHITECTURE.md gives. */
const LAYERS: readonly Layer[] = [
  // the vocabulary every layer shares
  { units: ['errors.ts', 'tensor.ts', 'units.ts', 'version.ts'], shared: true },
  { units: ['io/'] },
  // tensor formats, model configuration files and byte kernels know nothing of each other
  { units: ['formats/', 'config/', 'kernels/'] },
  { units: ['mapping/'] },
  { units: ['architectures/'] },
  { units: ['convert/'] },
  { units: ['commands/'] },
  // the platform-neutral public entry points, re-exported by index.ts
  { units: ['portable.ts'] },
  { units: ['cli.ts', 'index.ts'] },
];

const graph = readImportGraph(SRC);

/**
 * The rooms of convert/: the streaming machinery knows nothing of outputs (nor of convert/'s entry
 * points), and the output policy nothing of how tensors are streamed.
 */
const ROOMS: readonly Room[] = [
  {
    room: 'convert/pipeline/',
    never: ['convert/output/', 'convert/index.ts', 'convert/open-and-plan.ts', 'convert/config-file.ts'],
  },
  { room: 'convert/output/', never: ['convert/pipeline/'] },
];

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

test('the rooms of convert/ keep apart: the pipeline never imports output policy, nor the output the pipeline', () => {
  assert.ok([...graph.keys()].filter((m) => m.startsWith('convert/pipeline/')).length >= 9);
  assert.ok([...graph.keys()].filter((m) => m.startsWith('convert/output/')).length >= 4);
  assert.deepEqual(roomViolations(graph, ROOMS), []);
});

/** The page's modules, with their imports of src/ as '../../src/…' paths. */
const page = readImportGraph(fileURLToPath(new URL('../../web/page/', import.meta.url)));

test("the page reaches src/ through portable.ts only (what a library's user has)", () => {
  assert.ok(page.has('worker.ts'));
  const deep = [...page].flatMap(([from, targets]) =>
    targets
      .filter((to) => to.startsWith('../../src/') && to !== '../../src/portable.ts')
      .map((to) => `${from} imports ${to}`),
  );
  assert.deepEqual(deep, []);
});

test('src/ has no import cycle, type-only imports included', () => {
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `import cycle: ${cycle?.join(' → ')}`);
});

/** The Node implementations in io/: reached only through `#platform` (node-platform.ts) or from convert/ up. */
const NODE_IMPLEMENTATIONS = new Set([
  'io/node-platform.ts',
  'io/file.ts',
  'io/atomic.ts',
  'io/file-sink.ts',
  'io/lock.ts',
  'io/node-http.ts',
  'io/node-raw-http.ts',
  'io/process-identity.ts',
  'io/pseudo-fs.ts',
  'io/range-thread.ts',
  'io/range-worker.ts',
  'io/staged-commit.ts',
  'io/thread-room.ts',
]);
/** Below convert/: the layers a browser runs as they are. */
const NEUTRAL_UNITS = [
  'errors.ts',
  'tensor.ts',
  'units.ts',
  'version.ts',
  'io/',
  'formats/',
  'config/',
  'kernels/',
  'mapping/',
  'architectures/',
];
const isNeutral = (module: string) => NEUTRAL_UNITS.includes(unitOf(module)) && !NODE_IMPLEMENTATIONS.has(module);
const uses = new Map([...graph.keys()].map((m) => [m, platformUse(readFileSync(join(SRC, m), 'utf8'))]));

test('below convert/, modules run in any JavaScript runtime: no node:* import, no Buffer, no Node implementation', () => {
  assert.ok([...graph.keys()].filter(isNeutral).length > 60);
  assert.deepEqual(platformViolations(graph, uses, isNeutral, NODE_IMPLEMENTATIONS), []);
});

test("#platform's Node and browser targets export the same names", () => {
  const exported = (module: string) =>
    [...readFileSync(join(SRC, module), 'utf8').matchAll(/^export (?:async )?(?:const|function) (\w+)/gm)]
      .map((m) => m[1])
      .sort();
  const names = exported('io/node-platform.ts');
  assert.ok(names.includes('defaultFiles') && names.includes('nativeCrc32'));
  assert.deepEqual(exported('io/no-platform.ts'), names);
});

test('the platform check finds a node: import, a package, Buffer and a Node implementation', () => {
  const faulty: ImportGraph = new Map([
    ['formats/a.ts', ['io/file.ts']],
    ['io/b.ts', []],
    ['io/file.ts', []],
    ['convert/c.ts', ['io/file.ts']],
  ]);
  const use = (source: string): PlatformUse => platformUse(source);
  const sources = new Map([
    ['formats/a.ts', use("import { open } from 'node:fs';\n// Buffer in a comment is fine\nconst s = 'Buffer';")],
    ['io/b.ts', use("import x from 'some-package';\nimport { y } from '#platform';\nconst b = Buffer.alloc(1);")],
    ['io/file.ts', use("import { open } from 'node:fs/promises';")],
    ['convert/c.ts', use("import { open } from 'node:fs';")],
  ]);
  assert.deepEqual(
    platformViolations(
      faulty,
      sources,
      (m) => !m.startsWith('convert/') && m !== 'io/file.ts',
      new Set(['io/file.ts']),
    ),
    [
      'formats/a.ts imports node:fs',
      'formats/a.ts imports io/file.ts, a Node implementation',
      'io/b.ts imports some-package',
      'io/b.ts uses Buffer',
    ],
  );
});

test('only formats/open.ts, the registry, imports the openers', () => {
  const importsOpener = /import\s*(?:type\s*)?\{[^}]*\b[A-Z0-9_]+_OPENER\b[^}]*\}\s*from/;
  const importers = [...graph.keys()].filter((m) => importsOpener.test(readFileSync(join(SRC, m), 'utf8')));
  assert.deepEqual(importers, ['formats/open.ts']);
});

// The checks themselves, on small graphs with known faults: each must be found.
test('the checks find an upward import, a sideways import, an unlayered module, a cycle and a room crossed', () => {
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
  const rooms: ImportGraph = new Map([
    ['convert/pipeline/bands.ts', ['convert/pipeline/buffer-pool.ts', 'convert/output/output-path.ts']],
    ['convert/output/write-file.ts', ['convert/pipeline/bands.ts', 'convert/config-file.ts']],
  ]);
  assert.deepEqual(roomViolations(rooms, ROOMS), [
    "convert/pipeline/bands.ts imports convert/output/output-path.ts: 'convert/pipeline/' never imports convert/output/ or convert/index.ts or convert/open-and-plan.ts or convert/config-file.ts",
    "convert/output/write-file.ts imports convert/pipeline/bands.ts: 'convert/output/' never imports convert/pipeline/",
  ]);
  const acyclic: ImportGraph = new Map([
    ['a.ts', ['b.ts', 'c.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', []],
  ]);
  assert.equal(findCycle(acyclic), undefined);
});
