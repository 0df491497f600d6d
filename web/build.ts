/**
 * `npm run build:web`: bundles the page and its worker (esbuild, browser conditions: `#platform` is the
 * runtime without a file system) into dist/web/, next to index.html.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import ts from 'typescript';

/**
 * Type-checks the page with browser libraries and no Node types, under the `browser` condition: any
 * `node:*` module or `Buffer` reachable from the page is an error here, before bundling.
 */
function checkTypes(configPath: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error(`cannot read ${configPath}`);
  const program = ts.createProgram(config.fileNames, config.options);
  const problems = ts.getPreEmitDiagnostics(program);
  if (problems.length > 0)
    throw new Error(
      ts.formatDiagnostics(problems, {
        ...ts.sys,
        getCanonicalFileName: (f) => f,
        getNewLine: () => '\n',
        getCurrentDirectory: ts.sys.getCurrentDirectory,
      }),
    );
}

export const WEB_OUT = resolve('dist', 'web', 'site');

/** Builds the page into `out`; `typeCheck: false` skips the (slow) browser type check. */
export async function buildWeb(out = WEB_OUT, options: { typeCheck?: boolean } = {}): Promise<string> {
  const page = resolve('web', 'page');
  if (options.typeCheck !== false) checkTypes(join(page, 'tsconfig.json'));
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: { main: join(page, 'main.ts'), worker: join(page, 'worker.ts'), sw: join(page, 'download-sw.ts') },
    outdir: out,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
    // the page bundles src/, so `#platform` too (package.json maps it into dist/: a second copy of every
    // module below it, with its own error class that `instanceof` would not recognise)
    plugins: [
      {
        name: 'platform-from-src',
        setup: (b) => b.onResolve({ filter: /^#platform$/ }, () => ({ path: resolve('src', 'io', 'no-platform.ts') })),
      },
    ],
  });
  await copyFile(join(page, 'index.html'), join(out, 'index.html'));
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildWeb().then((out) => console.log(`built ${out}`));
}
