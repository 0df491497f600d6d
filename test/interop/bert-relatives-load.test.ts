/**
 * RoFormer's and ConvBERT's test checkpoints (the variables of their reviewed golden plans, seeded values) converted
 * to `--format both` folders load in the real transformers 4.29.2 as the class config.json names: no missing,
 * unexpected or mismatched key, nothing logged at WARNING, every value as written.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { writeGoldenCheckpoint } from '../support/golden-listing.js';
import { tempDir } from '../support/temp.js';
import { transformersPython } from '../support/transformers.js';
import { loadInTransformers } from '../support/transformers-load.js';

interface Case {
  readonly golden: string;
  /** The release's config file beside the checkpoint, as its test writes it. */
  readonly config?: { readonly name: string; readonly content: object };
}

/** roformer.test.ts's bert_config.json: 2 heads of 4, 16 positions. */
const roformerConfig = (more: object = {}) => ({
  name: 'bert_config.json',
  content: {
    hidden_act: 'gelu',
    hidden_size: 8,
    intermediate_size: 16,
    max_position_embeddings: 16,
    num_attention_heads: 2,
    num_hidden_layers: 2,
    type_vocab_size: 2,
    vocab_size: 20,
    ...more,
  },
});

const CASES: readonly Case[] = [
  { golden: 'roformer-bert4keras-release.plan.txt', config: roformerConfig() },
  { golden: 'roformer-bert4keras-projection-pooler-adam.plan.txt', config: roformerConfig({ embedding_size: 6 }) },
  // ConvBERT ships no config: every size is read off the shapes
  { golden: 'convbert-synthetic-grouped.plan.txt' },
  { golden: 'convbert-synthetic.plan.txt' },
];

for (const c of CASES) {
  test(`${c.golden}: the folder loads in the real transformers, no missing/unexpected keys, no warning`, async (t) => {
    const client = transformersPython(t);
    if (!client) return;
    const tmp = tempDir(t, 'hf-load-relatives');
    mkdirSync(join(tmp, 'in'));
    const prefix = join(tmp, 'in', 'model.ckpt');
    const listing = await writeGoldenCheckpoint(c.golden, prefix, 23);
    if (c.config) writeFileSync(join(tmp, 'in', c.config.name), JSON.stringify(c.config.content));
    const out = join(tmp, 'out/');
    const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out, '--format', 'both']);
    assert.equal(r.code, 0, r.stderr);
    const reports = loadInTransformers(client, out);
    assert.equal(reports.length, 2);
    for (const report of reports) {
      const what = `${c.golden} from ${report.format}`;
      assert.equal(report.modelClass, listing.modelClass, what);
      assert.deepEqual(
        [report.missing, report.unexpected, report.mismatched, report.errors],
        [[], [], [], []],
        `${what}: missing, unexpected, mismatched keys, errors`,
      );
      assert.deepEqual(report.warnings, [], `${what}: transformers warned`);
      assert.deepEqual(report.differing, [], `${what}: values differ from the file's`);
    }
  });
}
