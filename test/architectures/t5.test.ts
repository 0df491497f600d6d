import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { planConversion } from '../../src/convert/index.js';
import { formatPlan } from '../../src/mapping/index.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { checkGolden } from '../support/golden.js';
import { numpyPython } from '../support/python.js';
import { bf16ToF32, type RawTensor, readTfTensors, transpose2d } from '../support/reference-transforms.js';
import { tempDir } from '../support/temp.js';
import { synthesizeFromIndex } from '../support/tf-bundle-writer.js';
import { loadSafetensorsInPython } from '../support/torch-load.js';

/** HF key and whether transformers transposes, for a Mesh TF name (written out independently). */
function hfName(tf: string): { key: string; transpose: boolean } | undefined {
  if (tf.includes('_slot_') || tf === 'global_step') return undefined;
  if (tf === 'shared/embedding') return { key: 'shared.weight', transpose: false };
  if (tf === 'decoder/logits/kernel') return { key: 'lm_head.weight', transpose: true };
  let m = /^(encoder|decoder)\/rms_norm\/scale$/.exec(tf);
  if (m) return { key: `${m[1]}.final_layer_norm.weight`, transpose: false };
  m = /^(encoder|decoder)\/block_(\d+)\/layer_(\d+)\/(.+)$/.exec(tf);
  if (!m) return undefined;
  const base = `${m[1]}.block.${Number(m[2])}.layer.${Number(m[3])}`;
  const rest = m[4] as string;
  if (rest === 'rms_norm/scale') return { key: `${base}.layer_norm.weight`, transpose: false };
  return { key: `${base}.${rest.replace(/\/kernel$/, '').replace(/\//g, '.')}.weight`, transpose: true };
}

async function synthesized(dir: string, tmp: string): Promise<string> {
  const prefix = join(tmp, 'model.ckpt-0');
  await synthesizeFromIndex(join(dir, 'model.ckpt-0'), prefix, { seed: 5 });
  copyFileSync(join(dir, 'operative_config.gin'), join(tmp, 'operative_config.gin'));
  return prefix;
}

test('t5 mtf tiny: golden plan from the real index, config derived from the shapes and operative_config.gin', async (t) => {
  const dir = realFixture(t, 't5-mtf-tiny-indexonly');
  if (!dir) return;
  const { plan, config } = await planConversion({ modelType: 't5', checkpoint: join(dir, 'model.ckpt-0') });
  assert.equal(config.feed_forward_proj, 'gated-gelu');
  assert.equal(config.dense_act_fn, 'gelu_new');
  assert.equal(config.tie_word_embeddings, false);
  assert.deepEqual(
    [config.vocab_size, config.d_model, config.d_kv, config.num_heads, config.d_ff, config.num_layers],
    [32128, 32, 64, 2, 64, 2],
  );
  assert.equal(plan.skipped.filter((s) => s.name.includes('_slot_')).length, 52);
  checkGolden('t5-mtf-tiny-indexonly.plan.txt', formatPlan(plan));
});

test('t5 mtf tiny, synthesized data: save_pretrained folder, bf16 widened exactly to f32, --dtype keep keeps bf16', async (t) => {
  const dir = realFixture(t, 't5-mtf-tiny-indexonly');
  if (!dir) return;
  const python = numpyPython(t);
  if (!python) return;
  const tmp = tempDir(t, 't5');
  const prefix = await synthesized(dir, tmp);
  const tf = await readTfTensors(prefix);
  const expected = (widen: boolean) => {
    const out = new Map<string, RawTensor>();
    for (const [name, tensor] of tf) {
      const hf = hfName(name);
      if (!hf) continue;
      const v = hf.transpose && tensor.shape.length === 2 ? transpose2d(tensor) : tensor;
      out.set(hf.key, widen ? bf16ToF32(v) : v);
    }
    return out;
  };
  for (const [dtypeArgs, widen] of [
    [[], true],
    [['--dtype', 'keep'], false],
  ] as const) {
    const folder = join(tmp, widen ? 'f32' : 'bf16');
    const r = runCli([
      'convert',
      '--model_type',
      't5',
      '--tf_checkpoint',
      prefix,
      '--pytorch_dump_output',
      folder,
      ...dtypeArgs,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const loaded = loadSafetensorsInPython(python, join(folder, 'model.safetensors'));
    const want = expected(widen);
    assert.equal(want.size, 52);
    assert.deepEqual(
      [...loaded.keys()].sort(),
      [...want.keys()].sort(),
      'shared.weight once, embed_tokens aliases dropped as save_pretrained does',
    );
    for (const [key, e] of want) {
      const got = loaded.get(key) as typeof loaded extends Map<string, infer V> ? V : never;
      assert.equal(got.dtype, widen ? 'float32' : 'bfloat16', key);
      assert.deepEqual(got.shape, e.shape, key);
      assert.deepEqual(Buffer.from(got.bytes), Buffer.from(e.bytes), `${key}: values differ`);
    }
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, ['T5ForConditionalGeneration']);
    assert.equal(config.tie_word_embeddings, false);
    assert.equal(config.is_gated_act, true);
    const generationText = readFileSync(join(folder, 'generation_config.json'), 'utf8');
    // as GenerationConfig.to_json_string writes it (transformers/generation/configuration_utils.py)
    assert.match(
      generationText,
      /^\{\n {2}"_from_model_config": true,\n {2}"decoder_start_token_id": 0,\n {2}"eos_token_id": 1,\n {2}"pad_token_id": 0,\n {2}"transformers_version": "[\d.]+"\n\}\n$/,
    );
    const generation = JSON.parse(generationText);
    assert.deepEqual(
      { ...generation, transformers_version: undefined },
      {
        _from_model_config: true,
        decoder_start_token_id: 0,
        eos_token_id: 1,
        pad_token_id: 0,
        transformers_version: undefined,
      },
    );
  }
});

test('t5: a tied-embeddings config with an untied checkpoint (decoder/logits/kernel) is refused with the reason', async (t) => {
  const dir = realFixture(t, 't5-mtf-tiny-indexonly');
  if (!dir) return;
  const tmp = tempDir(t, 't5-cfg');
  const config = join(tmp, 'config.json');
  /** The dry run with `fields` over a v1.0-style config of the right sizes (tie_word_embeddings defaults to true). */
  const dryRunWith = (fields: Record<string, unknown>) => {
    const sizes = { vocab_size: 32128, d_model: 32, d_kv: 64, d_ff: 64, num_layers: 2, num_heads: 2 };
    writeFileSync(config, JSON.stringify({ ...sizes, feed_forward_proj: 'gated-gelu', ...fields }));
    const args = ['--model_type', 't5', '--tf_checkpoint', join(dir, 'model.ckpt-0'), '--config', config];
    return runCli(['convert', ...args, '--pytorch_dump_output', join(tmp, 'out'), '--dry-run']);
  };
  const r = dryRunWith({});
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /E_CONFIG/);
  assert.match(
    r.stderr,
    /tie_word_embeddings: true, but the checkpoint has its own output layer decoder\/logits\/kernel/,
  );
  // with the v1.1 setting the same config plans
  const ok = dryRunWith({ tie_word_embeddings: false });
  assert.equal(ok.code, 0, ok.stderr);
  // a wrong size names the field
  const bad = dryRunWith({ tie_word_embeddings: false, d_ff: 128 });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /d_ff: config says 128, checkpoint has 64/);
});

test('t5 mtf tiny, real index only: the missing data shard is reported cleanly', (t) => {
  const dir = realFixture(t, 't5-mtf-tiny-indexonly');
  if (!dir) return;
  const tmp = tempDir(t, 't5-shard');
  const r = runCli([
    'convert',
    '--model_type',
    't5',
    '--tf_checkpoint',
    join(dir, 'model.ckpt-0'),
    '--pytorch_dump_output',
    join(tmp, 'out'),
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /model\.ckpt-0\.data-00001-of-00002/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
