/**
 * transfo_xl without tensor bytes: golden plans of the two real checkpoints, the hyper-parameters read
 * off shapes, and the variants transformers' converter crashes on or silently gets wrong.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { transfoXl } from '../../src/architectures/transfo-xl.js';
import { openTensorSource } from '../../src/formats/open.js';
import { buildPlan, formatPlan, type Plan } from '../../src/mapping/index.js';
import type { ModelConfig, TensorInfo } from '../../src/mapping/types.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';
import { cliText } from '../support/notices.js';

function configOf(listing: readonly TensorInfo[], user?: ModelConfig): { config: ModelConfig; notes: string[] } {
  const notes: string[] = [];
  const config = transfoXl.buildConfig({
    listing,
    user,
    userPath: user ? 'user.json' : undefined,
    sidecar: () => undefined,
    note: (n) => notes.push(cliText(n)),
  });
  return { config, notes };
}

function planOf(listing: readonly TensorInfo[], user?: ModelConfig): Plan {
  return buildPlan(listing, transfoXl, configOf(listing, user).config);
}

async function fixtureListing(dir: string): Promise<TensorInfo[]> {
  const source = await openTensorSource(join(dir, 'model.ckpt'));
  try {
    return source.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
  } finally {
    await source.close();
  }
}

for (const name of ['transfo-xl-tiny-div-1', 'transfo-xl-tiny-div-2']) {
  test(`transfo_xl golden plan: ${name}`, async (t) => {
    const dir = realFixture(t, name);
    if (!dir) return;
    const listing = await fixtureListing(dir);
    const { config, notes } = configOf(listing);
    checkGolden(
      `${name}.plan.txt`,
      `${JSON.stringify(config, null, 2)}\n${notes.join('\n')}\n${formatPlan(buildPlan(listing, transfoXl, config))}`,
    );
  });
}

const f32 = (name: string, ...shape: number[]): TensorInfo => ({
  name: `transformer/${name}`,
  dtype: 'float32',
  shape,
});

/** A 2-layer body (d_model 8, 2 heads × 4, d_inner 16) plus the given embedding/softmax/bias tensors. */
function body(extra: TensorInfo[]): TensorInfo[] {
  const layers: TensorInfo[] = [];
  for (let l = 0; l < 2; l++) {
    layers.push(
      f32(`layer_${l}/rel_attn/qkv/kernel`, 8, 24),
      f32(`layer_${l}/rel_attn/o/kernel`, 8, 8),
      f32(`layer_${l}/rel_attn/r/kernel`, 8, 8),
      f32(`layer_${l}/rel_attn/LayerNorm/gamma`, 8),
      f32(`layer_${l}/rel_attn/LayerNorm/beta`, 8),
      f32(`layer_${l}/ff/layer_1/kernel`, 8, 16),
      f32(`layer_${l}/ff/layer_1/bias`, 16),
      f32(`layer_${l}/ff/layer_2/kernel`, 16, 8),
      f32(`layer_${l}/ff/layer_2/bias`, 8),
      f32(`layer_${l}/ff/LayerNorm/gamma`, 8),
      f32(`layer_${l}/ff/LayerNorm/beta`, 8),
    );
  }
  return [...layers, ...extra];
}

const keysOf = (plan: Plan) => new Map(plan.outputs.map((o) => [o.key, o]));

test('div_val 1 with clusters: one embedding table, the softmax bias concatenated from the clusters', () => {
  const listing = body([
    f32('adaptive_embed/lookup_table', 12, 8),
    f32('adaptive_softmax/cutoff_0/b', 5),
    f32('adaptive_softmax/cutoff_1/b', 7),
    f32('adaptive_softmax/cutoff_0/cluster_W', 1, 8),
    f32('adaptive_softmax/cutoff_0/cluster_b', 1),
    f32('r_w_bias', 2, 2, 4),
    f32('r_r_bias', 2, 2, 4),
  ]);
  const { config } = configOf(listing);
  assert.deepEqual([config.cutoffs, config.div_val, config.vocab_size, config.untie_r], [[5], 1, 12, true]);
  const out = keysOf(buildPlan(listing, transfoXl, config));
  const bias = out.get('crit.out_layers.0.bias');
  assert.ok(bias?.kind === 'tensor');
  assert.deepEqual(
    bias.sources.map((s) => s.name),
    ['transformer/adaptive_softmax/cutoff_0/b', 'transformer/adaptive_softmax/cutoff_1/b'],
  );
  assert.deepEqual(bias.shape, [12]);
  assert.equal(out.get('crit.out_layers.0.weight')?.kind, 'alias');
  assert.ok(!out.has('crit.out_projs.0'), 'd_embed == d_model: the softmax has no projection');
});

test('div_val 1 without clusters and d_embed != d_model: the softmax reuses the embedding projection', () => {
  const listing = body([
    f32('adaptive_embed/lookup_table', 12, 6),
    f32('adaptive_embed/proj_W', 6, 8),
    f32('adaptive_softmax/bias', 12),
    f32('r_w_bias', 2, 4),
    f32('r_r_bias', 2, 4),
  ]);
  const { config } = configOf(listing);
  assert.deepEqual(config.tie_projs, [true]);
  const out = keysOf(buildPlan(listing, transfoXl, config));
  const proj = out.get('transformer.word_emb.emb_projs.0');
  assert.ok(proj?.kind === 'tensor');
  assert.deepEqual(proj.shape, [8, 6]);
  assert.deepEqual(proj.transforms, [{ op: 'transpose' }]);
  const tied = out.get('crit.out_projs.0');
  assert.ok(tied?.kind === 'alias' && tied.aliasOf === 'transformer.word_emb.emb_projs.0');
  const layerBias = out.get('transformer.layers.1.dec_attn.r_w_bias');
  assert.ok(layerBias?.kind === 'alias' && layerBias.aliasOf === 'transformer.r_w_bias');
});

test('div_val 4, two clusters, untied softmax projections: every projection from the checkpoint, none generated', () => {
  const listing = body([
    f32('adaptive_embed/cutoff_0/lookup_table', 4, 8),
    f32('adaptive_embed/cutoff_0/proj_W', 8, 8),
    f32('adaptive_embed/cutoff_1/lookup_table', 4, 2),
    f32('adaptive_embed/cutoff_1/proj_W', 2, 8),
    f32('adaptive_softmax/cutoff_0/b', 4),
    f32('adaptive_softmax/cutoff_1/b', 4),
    f32('adaptive_softmax/cutoff_0/proj', 8, 8),
    f32('adaptive_softmax/cutoff_1/proj', 2, 8),
    f32('adaptive_softmax/cutoff_0/cluster_W', 1, 8),
    f32('adaptive_softmax/cutoff_0/cluster_b', 1),
    f32('r_w_bias', 2, 2, 4),
    f32('r_r_bias', 2, 2, 4),
  ]);
  const { config } = configOf(listing);
  assert.deepEqual(
    [config.div_val, config.d_embed, config.tie_projs, config.proj_same_dim],
    [4, 8, [false, false], true],
  );
  const plan = buildPlan(listing, transfoXl, config);
  assert.equal(
    plan.outputs
      .filter((o) => o.kind === 'generated')
      .map((o) => o.key)
      .join(),
    'transformer.pos_emb.inv_freq',
  );
  const proj1 = keysOf(plan).get('crit.out_projs.1');
  assert.ok(proj1?.kind === 'tensor' && proj1.sources[0]?.name === 'transformer/adaptive_softmax/cutoff_1/proj');
  assert.deepEqual(proj1.shape, [8, 2]);
});

test('a config that disagrees with the shapes is refused, naming the field; cluster ends [0, …, vocab] are accepted', async (t) => {
  const dir = realFixture(t, 'transfo-xl-tiny-div-2');
  if (!dir) return;
  const listing = await fixtureListing(dir);
  assert.throws(
    () => configOf(listing, { n_layer: 3, d_model: 32 }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_CONFIG');
      assert.match(e.message, /user\.json/);
      assert.match(e.message, /n_layer: config says 3, checkpoint has 2/);
      return true;
    },
  );
  // The fixture's own (Keras port) config: cutoffs written with both ends, extra training keys kept.
  const { config, notes } = configOf(listing, {
    vocab_size: 30,
    cutoffs: [0, 10, 30],
    div_val: 2,
    mem_len: 10,
    layer_norm_epsilon: 1e-5,
  });
  assert.deepEqual([config.cutoffs, config.mem_len, config.layer_norm_epsilon], [[10], 10, 1e-5]);
  assert.ok(
    notes.some((n) => n.includes('n_layer=2')),
    notes.join('\n'),
  );
});

test('not a Transformer-XL checkpoint: a clear error', () => {
  assert.throws(() => planOf([f32('something/else', 3)]), /E_CONFIG|not a Transformer-XL checkpoint/);
});
