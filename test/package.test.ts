/**
 * What `npm pack` ships, and that it works as a user gets it: every file package.json's bin, main, types
 * and exports name, one built module for each source module, the changelog; no tests and no source maps.
 * Then the tarball is installed into a fresh project (offline: it has no dependencies; the optional
 * native CRC is left out), a consumer is type-checked by tsc as Node and as a browser bundle sees the
 * package, `import … from "tf2torch"` is bundled for the browser by esbuild (no Node shims), and the
 * Node consumer runs `convert()` on a small checkpoint: once aborted mid-way, once to the end.
 * (`prepack` builds dist/ before a real pack; here the suite's own build is packed, with scripts off.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { convert } from '../src/index.js';
import { readImportGraph } from './support/import-graph.js';
import { tempDir } from './support/temp.js';
import { writeBundle } from './support/tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertWeights } from './support/tiny-bert.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Target = string | { readonly [condition: string]: Target };

interface Manifest {
  bin: Record<string, string>;
  main: string;
  types: string;
  exports: Record<string, Target>;
  scripts: Record<string, string>;
}

const manifest = () => JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;

/** Every file an exports target names, under any condition. */
const targetFiles = (target: Target): string[] =>
  typeof target === 'string' ? [target] : Object.values(target).flatMap(targetFiles);

/** No network: npm neither checks for updates nor fetches anything. */
const OFFLINE = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' };

function run(command: string, args: readonly string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: OFFLINE });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The tarball, packed once into a folder removed when this file's tests end: its path and the files it holds. */
const PACK_DIR = tempDir({ after }, 'pack');
const packed = (() => {
  let done: { tarball: string; files: Set<string> } | undefined;
  return () => {
    if (done) return done;
    const dir = PACK_DIR;
    const [pack] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT)) as [
      { filename: string; files: { path: string }[] },
    ];
    done = { tarball: join(dir, pack.filename), files: new Set(pack.files.map((f) => f.path)) };
    return done;
  };
})();

test('npm pack ships the built entry points, every built module and the changelog, and nothing else', () => {
  const pkg = manifest();
  assert.match(pkg.scripts.prepack ?? '', /npm run build/, 'prepack must build dist/ before packing');
  const { files } = packed();
  const needed = [...Object.values(pkg.bin), pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap(targetFiles)];
  for (const path of [...needed.map((p) => p.replace(/^\.\//, '')), 'CHANGELOG.md', 'README.md'])
    assert.ok(files.has(path), `${path} is not packed`);
  for (const module of readImportGraph(join(ROOT, 'src')).keys()) {
    // a JSON data module (ImageNet's labels) is shipped as it is
    if (module.endsWith('.json')) {
      assert.ok(files.has(`dist/src/${module}`), `dist/src/${module} is not packed`);
      continue;
    }
    const built = `dist/src/${module.replace(/\.ts$/, '')}`;
    assert.ok(files.has(`${built}.js`) && files.has(`${built}.d.ts`), `${built}.js/.d.ts is not packed`);
  }
  const stray = [...files].filter((p) => p.endsWith('.map') || p.startsWith('dist/test') || p.startsWith('src/'));
  assert.deepEqual(stray, []);
});

/** A Node program: convert() aborted mid-way, then complete; prints what it saw as JSON. */
const NODE_CONSUMER = `
import { existsSync } from 'node:fs';
import { type ConversionProgress, type ConvertResult, convert, isTf2TorchError } from 'tf2torch';

const [checkpoint, aborted, complete] = process.argv.slice(2) as [string, string, string];
const controller = new AbortController();
let code: string | undefined;
try {
  await convert({
    checkpoint,
    output: aborted,
    signal: controller.signal,
    onProgress: (p: ConversionProgress) => {
      if (p.stage === 'writing' && p.bytesDone > 0) controller.abort();
    },
  });
} catch (error) {
  if (!isTf2TorchError(error)) throw error;
  code = error.code;
}
const stages: string[] = [];
const result: ConvertResult = await convert({ checkpoint, output: complete, onProgress: (p) => stages.push(p.stage) });
console.log(JSON.stringify({ code, abortedExists: existsSync(aborted), files: result.files, stages: [...new Set(stages)] }));
`;

/** What a page's script does: its output is an OutputTree, never a path (types of the browser condition). */
const BROWSER_CONSUMER = `
import { blobFileTree, convert, type Notice, type OutputTree, renderNotice } from 'tf2torch';
import { convert as portableConvert } from 'tf2torch/portable';

export async function convertPicked(picked: File[], output: OutputTree, signal: AbortSignal): Promise<string[]> {
  const files = blobFileTree(
    picked.map((file) => ({ path: '/' + file.name, blob: file })),
    () => '',
  );
  const result = await convert({ checkpoint: '/bert_model.ckpt', files, output, signal });
  // @ts-expect-error in a browser bundle, an output is an OutputTree, not a path
  await convert({ checkpoint: '/bert_model.ckpt', files, output: 'out/' });
  const same: typeof portableConvert = convert;
  void same;
  return result.notices.map((n: Notice) => renderNotice(n, (option) => 'the ' + option + ' control'));
}
`;

function tsconfig(options: Record<string, unknown>, file: string): string {
  return JSON.stringify({
    compilerOptions: { strict: true, target: 'es2022', skipLibCheck: false, ...options },
    files: [file],
  });
}

test('the packed tarball installed offline: tsc checks Node and browser consumers, esbuild bundles it for browsers, convert() runs', async (t) => {
  const work = tempDir(t, 'install');
  const { tarball } = packed();
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', tarball], app);
  assert.ok(existsSync(join(app, 'node_modules', 'tf2torch', 'dist', 'src', 'cli.js')));

  // The dev tools are the project's own (its TypeScript, @types/node and esbuild): the app installs nothing else.
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  writeFileSync(join(app, 'node.ts'), NODE_CONSUMER);
  writeFileSync(join(app, 'browser.ts'), BROWSER_CONSUMER);
  const nodeOptions = {
    module: 'nodenext',
    outDir: 'out',
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  };
  writeFileSync(join(app, 'tsconfig.node.json'), tsconfig(nodeOptions, 'node.ts'));
  const browserOptions = {
    module: 'esnext',
    moduleResolution: 'bundler',
    customConditions: ['browser'],
    lib: ['es2022', 'dom'],
    types: [],
    noEmit: true,
  };
  writeFileSync(join(app, 'tsconfig.browser.json'), tsconfig(browserOptions, 'browser.ts'));
  run(process.execPath, [tsc, '-p', 'tsconfig.node.json'], app);
  run(process.execPath, [tsc, '-p', 'tsconfig.browser.json'], app);

  const bundled = await build({
    entryPoints: [join(app, 'browser.ts')],
    absWorkingDir: app,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(bundled.metafile.inputs);
  assert.ok(inputs.includes('node_modules/tf2torch/dist/src/portable.js'), inputs.join('\n'));
  assert.ok(inputs.includes('node_modules/tf2torch/dist/src/io/no-platform.js'));
  const nodeOnly = inputs.filter((i) => i.startsWith('node:') || /dist\/src\/(index|io\/node-platform)\.js$/.test(i));
  assert.deepEqual(nodeOnly, []);
  const text = bundled.outputFiles.map((f) => f.text).join('');
  assert.doesNotMatch(text, /["']node:\w+["']/, 'the browser bundle refers to a node: module');

  const ck = join(work, 'ck');
  mkdirSync(ck);
  await writeBundle(join(ck, 'bert_model.ckpt'), tinyBertWeights(3));
  writeFileSync(join(ck, 'bert_config.json'), JSON.stringify(TINY_BERT_CONFIG));
  const out = join(work, 'out');
  mkdirSync(out);
  const [aborted, complete] = [join(out, 'aborted-hf'), join(out, 'complete-hf')];
  const seen = JSON.parse(
    run(process.execPath, [join('out', 'node.js'), join(ck, 'bert_model.ckpt'), aborted, complete], app),
  );
  assert.deepEqual(
    { ...seen, files: undefined },
    { code: 'E_ABORTED', abortedExists: false, files: undefined, stages: ['planning', 'writing', 'done'] },
  );
  assert.deepEqual(readdirSync(out), ['complete-hf'], 'the aborted conversion left something behind');
  // the installed package writes what this checkout writes
  const here = await convert({ checkpoint: join(ck, 'bert_model.ckpt'), output: join(work, 'here-hf') });
  assert.deepEqual(seen.files, here.files);
  for (const name of here.files.filter((f) => f !== 'README.md'))
    assert.deepEqual(readFileSync(join(complete, name)), readFileSync(join(work, 'here-hf', name)), name);
});
