/**
 * The import graph of src/ as the TypeScript compiler's own pre-processor reads it (imports, type-only
 * imports, re-exports and literal dynamic imports; never comments or strings), and the two checks the
 * layering needs: no cycle, no import from a lower layer into a higher one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import ts from 'typescript';

/** Module path relative to src/ ('formats/open.ts') → the src/ modules it imports, in source order. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** Every `.ts` file under `root`, with its relative imports resolved to files under `root`; JSON data files as modules importing nothing. */
export function readImportGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
        const targets = importedFiles
          .map((f) => f.fileName)
          .filter((spec) => spec.startsWith('.'))
          .map((spec) => toModule(root, join(dirname(path), spec.replace(/\.js$/, '.ts'))));
        graph.set(toModule(root, path), targets);
      } else if (entry.name.endsWith('.json')) graph.set(toModule(root, path), []);
    }
  };
  walk(root);
  return graph;
}

function toModule(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

/**
 * One layer: its units (a top-level folder as 'io/', or a top-level file as 'cli.ts'). A unit imports
 * itself and lower layers; units of one layer import each other only where `shared` says so.
 */
export interface Layer {
  readonly units: readonly string[];
  readonly shared?: boolean;
}

export function unitOf(module: string): string {
  const slash = module.indexOf('/');
  return slash < 0 ? module : module.slice(0, slash + 1);
}

/** Every import that goes upward or sideways between layers, and every module no layer claims. */
export function layerViolations(graph: ImportGraph, layers: readonly Layer[]): string[] {
  const rank = new Map<string, number>();
  layers.forEach((layer, i) => {
    for (const unit of layer.units) rank.set(unit, i);
  });
  const problems: string[] = [];
  for (const [from, targets] of graph) {
    const fromUnit = unitOf(from);
    const fromRank = rank.get(fromUnit);
    if (fromRank === undefined) {
      problems.push(`${from}: '${fromUnit}' belongs to no layer`);
      continue;
    }
    for (const to of targets) {
      const toUnit = unitOf(to);
      const toRank = rank.get(toUnit);
      if (toRank === undefined) problems.push(`${from} imports ${to}, which belongs to no layer`);
      else if (toRank > fromRank) problems.push(`${from} imports ${to} from a higher layer`);
      else if (toRank === fromRank && toUnit !== fromUnit && !layers[fromRank]?.shared)
        problems.push(`${from} imports ${to}: '${fromUnit}' and '${toUnit}' are peers of one layer`);
    }
  }
  return problems;
}

/** A room of a layer (a folder as 'convert/pipeline/') and the modules it must never import. */
export interface Room {
  readonly room: string;
  /** Folders or files (by prefix) the room's modules never import. */
  readonly never: readonly string[];
}

/** Every import from a room into what it must never import. */
export function roomViolations(graph: ImportGraph, rooms: readonly Room[]): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph)
    for (const { room, never } of rooms)
      if (from.startsWith(room))
        for (const to of targets)
          if (never.some((prefix) => to.startsWith(prefix)) && !to.startsWith(room))
            problems.push(`${from} imports ${to}: '${room}' never imports ${never.join(' or ')}`);
  return problems;
}

/** The first import cycle found (a path ending where it starts), or undefined. */
export function findCycle(graph: ImportGraph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (module: string): string[] | undefined => {
    const seen = state.get(module);
    if (seen === 'done') return undefined;
    if (seen === 'open') return [...stack.slice(stack.indexOf(module)), module];
    state.set(module, 'open');
    stack.push(module);
    for (const next of graph.get(module) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(module, 'done');
    return undefined;
  };
  for (const module of [...graph.keys()].sort()) {
    const cycle = visit(module);
    if (cycle) return cycle;
  }
  return undefined;
}

/** What a module depends on outside src/: non-relative import specifiers, and whether it names `Buffer`. */
export interface PlatformUse {
  readonly specifiers: readonly string[];
  readonly usesBuffer: boolean;
}

/** The source of one module as the checks read it. */
export function platformUse(source: string): PlatformUse {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  const specifiers = importedFiles.map((f) => f.fileName).filter((spec) => !spec.startsWith('.'));
  // The scanner skips comments and strings: only code that names Buffer counts.
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, source);
  let usesBuffer = false;
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    if (token === ts.SyntaxKind.Identifier && scanner.getTokenValue() === 'Buffer') usesBuffer = true;
  }
  return { specifiers, usesBuffer };
}

/**
 * Modules that must run in any JavaScript runtime: no `node:*` or package import (the runtime's own
 * implementations come through `#platform`), no `Buffer`, and no import of a Node implementation.
 */
export function platformViolations(
  graph: ImportGraph,
  uses: ReadonlyMap<string, PlatformUse>,
  neutral: (module: string) => boolean,
  nodeImplementations: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const [module, targets] of graph) {
    if (!neutral(module)) continue;
    const use = uses.get(module);
    for (const spec of use?.specifiers ?? []) if (spec !== '#platform') problems.push(`${module} imports ${spec}`);
    if (use?.usesBuffer) problems.push(`${module} uses Buffer`);
    for (const to of targets)
      if (nodeImplementations.has(to)) problems.push(`${module} imports ${to}, a Node implementation`);
  }
  return problems;
}
