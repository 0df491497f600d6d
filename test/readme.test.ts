/**
 * README.md as a user meets it: the first screen says what tf2torch does, how to install it, one conversion and
 * the `from_pretrained` line; building from source follows with the two set-up commands CI runs; the model types
 * it lists are the architecture registry's; every link to a local file or heading resolves (README and docs/).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MODEL_TYPES } from '../src/architectures/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const LINES = README.split('\n');
/** What a terminal or a repository page shows before scrolling. */
const FIRST_SCREEN = 45;

/** The per-type sections: between the two markers of "## Model types". */
function perTypeSections(): string {
  const start = README.indexOf('<!-- Per-type sections:');
  const end = README.indexOf('<!-- End of the per-type sections. -->');
  assert.ok(start > README.indexOf('## Model types') && end > start, 'the per-type section markers are missing');
  return README.slice(start, end);
}

test("README's per-type sections and its --model_type row list exactly the registry's model types", () => {
  const headings = [...perTypeSections().matchAll(/^### ([a-z0-9_]+)[, ]/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(headings)].sort(), [...MODEL_TYPES].sort());
  const row = LINES.find((l) => l.startsWith('| `--model_type TYPE` |'));
  assert.ok(row, 'no --model_type row in the options table');
  const listed = [...(row.split('|')[2] ?? '').matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1]);
  assert.deepEqual([...listed].sort(), [...MODEL_TYPES].sort());
});

test('the first screen: what it does, installing it, a conversion and the from_pretrained line; then building from source', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    scripts: Record<string, string>;
  };
  const first = LINES.slice(0, FIRST_SCREEN).join('\n');
  const tarball = `./${pkg.name}-${pkg.version}.tgz`;
  assert.ok(first.includes(`    npm install -g ${tarball}`), 'no user install on the first screen');
  assert.ok(first.includes(`    npx --package ${tarball} tf2torch`), 'no npx on the first screen');
  assert.match(first, /^ {4}tf2torch convert --tf_checkpoint \S+ --pytorch_dump_output \S+$/m);
  assert.match(first, /^ {4}from transformers import (\w+); model = \1\.from_pretrained\("[^"]+"\)$/m);
  // the two set-up commands, exactly as CI and the scripts know them, after the first screen's use
  const setUp = LINES.indexOf('    npm install && npm run sample');
  const tests = LINES.indexOf('    npm test');
  assert.ok(setUp > LINES.indexOf('## Build from source') && tests > setUp, 'set-up commands missing or out of order');
  assert.ok(LINES.indexOf('## Build from source') > LINES.findIndex((l) => l.includes('from_pretrained(')));
  assert.ok(pkg.scripts.sample && pkg.scripts.test);
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(ci.at(-1), 'npm test', ".ci/run must end with README's test command");
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
const anchorOf = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');

function anchorsIn(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^ {4}.*$/gm, '');
  return new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf((m[1] ?? '').trim())));
}

test('every link of README and docs/ to a local file or heading resolves', () => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
    f.endsWith('.md'),
  );
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path = '', anchor] = target.split('#');
      const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), path);
      if (!existsSync(resolved)) broken.push(`${file}: ${target} (no such file)`);
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsIn(resolved).has(anchor))
        broken.push(`${file}: ${target} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});
