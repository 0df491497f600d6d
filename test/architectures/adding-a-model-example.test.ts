/**
 * docs/ADDING_A_MODEL.md walks through a whole architecture file written on the shared blocks: a BERT-like type
 * with BERT's names but no position table. Here that file, as the document prints it, is type-checked against the
 * built declarations, compiled, and used: detection tells its checkpoints from BERT's by the name it declares
 * absent, and its plans follow the names it declares (the fine-tuning scripts' heads as google-research/bert's
 * run_classifier.py creates them: root `output_weights` [num_labels, hidden], `output_bias`).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { detectArchitecture } from '../../src/architectures/detect.js';
import { ARCHITECTURES } from '../../src/architectures/index.js';
import { buildPlan } from '../../src/mapping/plan.js';
import type { Architecture, TensorInfo } from '../../src/mapping/types.js';
import { tempDir } from '../support/temp.js';

const ROOT = new URL('../../../', import.meta.url);
/** Where the example's relative imports point once built: the file would sit in src/architectures/. */
const BUILT_ARCHITECTURES = fileURLToPath(new URL('../../src/architectures/', import.meta.url));

/** The TypeScript block of the section "A type on the blocks, step by step". */
function exampleFromDoc(): string {
  const doc = readFileSync(new URL('docs/ADDING_A_MODEL.md', ROOT), 'utf8');
  const section = doc.slice(doc.indexOf('### A type on the blocks'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'docs/ADDING_A_MODEL.md has no ```ts block under "A type on the blocks"');
  return block;
}

/** The example compiled into `dir` (imports resolved to the built modules), or the compiler's complaints. */
function compile(source: string, dir: string): { file: string; errors: string[] } {
  const relocated = source.replace(
    /from '(\.\.?\/[^']+)'/g,
    (_, path: string) => `from '${join(BUILT_ARCHITECTURES, path)}'`,
  );
  const file = join(dir, 'example.ts');
  writeFileSync(file, relocated);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noUncheckedIndexedAccess: true,
    noUnusedLocals: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    types: [],
    outDir: dir,
  });
  const errors = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics].map((d) =>
    ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  );
  return { file: join(dir, 'example.js'), errors };
}

const H = 12;
const t = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'float32', shape });
/** The example's checkpoint: BERT's names without the position table, one layer, a pooler, a 3-label classifier. */
const LISTING: TensorInfo[] = [
  t('bert/embeddings/word_embeddings', [11, H]),
  t('bert/embeddings/token_type_embeddings', [2, H]),
  t('bert/embeddings/LayerNorm/gamma', [H]),
  t('bert/embeddings/LayerNorm/beta', [H]),
  ...['query', 'key', 'value'].flatMap((p) => [
    t(`bert/encoder/layer_0/attention/self/${p}/kernel`, [H, H]),
    t(`bert/encoder/layer_0/attention/self/${p}/bias`, [H]),
  ]),
  t('bert/encoder/layer_0/attention/output/dense/kernel', [H, H]),
  t('bert/encoder/layer_0/attention/output/dense/bias', [H]),
  t('bert/encoder/layer_0/attention/output/LayerNorm/gamma', [H]),
  t('bert/encoder/layer_0/attention/output/LayerNorm/beta', [H]),
  t('bert/encoder/layer_0/intermediate/dense/kernel', [H, 24]),
  t('bert/encoder/layer_0/intermediate/dense/bias', [24]),
  t('bert/encoder/layer_0/output/dense/kernel', [24, H]),
  t('bert/encoder/layer_0/output/dense/bias', [H]),
  t('bert/encoder/layer_0/output/LayerNorm/gamma', [H]),
  t('bert/encoder/layer_0/output/LayerNorm/beta', [H]),
  t('bert/pooler/dense/kernel', [H, H]),
  t('bert/pooler/dense/bias', [H]),
  t('cls/predictions/output_bias', [11]),
  t('output_weights', [3, H]),
  t('output_bias', [3]),
];

test('the ADDING_A_MODEL.md example compiles against the blocks, is told from BERT and plans its checkpoints', async (tc) => {
  const { file, errors } = compile(exampleFromDoc(), tempDir(tc, 'adding-a-model'));
  assert.deepEqual(errors, []);
  const { example } = (await import(pathToFileURL(file).href)) as { example: Architecture };

  // registered beside every type but RoFormer, the rotary fork whose names it shares (both would claim its
  // checkpoints): BERT's names without the position table are the example, with it BERT
  const detected = (listing: TensorInfo[]) => {
    const d = detectArchitecture({ listing, format: 'tf-bundle-v2', hasSidecar: () => false }, [
      ...ARCHITECTURES.filter((a) => a.modelType !== 'roformer'),
      example,
    ]);
    return d.kind === 'recognised' ? d.recognition.architecture.modelType : d.kind;
  };
  assert.equal(detected(LISTING), 'example');
  assert.equal(detected([...LISTING, t('bert/embeddings/position_embeddings', [16, H])]), 'bert');

  const config = example.buildConfig({
    listing: LISTING,
    sidecar: () => undefined,
    options: { finetuning_task_name: 'mnli' },
  });
  assert.deepEqual(config.architectures, ['ExampleForSequenceClassification']);
  assert.equal(config.finetuning_task, 'mnli');
  const plan = buildPlan(LISTING, example, config);
  assert.deepEqual(plan.unmapped, []);
  assert.deepEqual(
    plan.outputs.slice(-4).map((o) => o.key),
    ['example.pooler.dense.weight', 'example.pooler.dense.bias', 'classifier.weight', 'classifier.bias'],
  );
  assert.deepEqual(
    plan.skipped.map((s) => s.name),
    ['cls/predictions/output_bias'],
  );

  const base = LISTING.filter((x) => !x.name.startsWith('output_'));
  const plain = example.buildConfig({ listing: base, sidecar: () => undefined });
  assert.deepEqual(plain.architectures, ['ExampleModel']);
  assert.equal(buildPlan(base, example, plain).outputs.at(-1)?.key, 'example.pooler.dense.bias');
});
