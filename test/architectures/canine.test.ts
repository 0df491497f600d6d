/**
 * CANINE: a checkpoint with the names google-research/language's canine/modeling.py creates (CanineModel):
 * `char_embeddings/embeddings/HashBucketCodepointEmbedder_{i}` [num_hash_buckets, hidden/num_hashes]
 * (_embed_hash_buckets), bert_modeling.embedding_postprocessor's `char_embeddings/segment_embeddings`,
 * `char_embeddings/char_position_embeddings` and `char_embeddings/LayerNorm`; local_attention.py's shallow
 * `initial_char_encoder/layer_0/…`; `_chars_to_molecules`' conv1d under the doubled scope
 * `initial_char_encoder/initial_char_encoder/chars_to_molecules/conv` [rate, H, H] and its LayerNorm;
 * `_bert_stack`'s `bert/layer_{n}/…` (bert_modeling.transformer_model: no `encoder` scope); `_encode_final_chars`'
 * `final_char_encoder/conv` [kernel, 2H, H], LayerNorm and `final_char_encoder/layer_0/…`; `pooler/dense`. With
 * bert_optimization.py's AdamWeightDecayOptimizer slots (`adam_m`, `adam_v`), `global_step`, and the TyDi QA heads
 * tydiqa/tydi_modeling.py adds (`cls/tydi/output_weights|bias`, `answer_type_output_weights|bias`). Expected:
 * load_tf_weights_in_canine's renames, dense kernels transposed, conv kernels' axes reversed (np.transpose).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DTYPES } from '../../src/tensor.js';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly, writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { type RawTensor, readTfTensors, transpose2d } from '../support/reference-transforms.js';
import { loadWithTorch } from '../support/torch-load.js';
import { runTransformers, transformersPython } from '../support/transformers.js';
import { loadInTransformers } from '../support/transformers-load.js';

// 12 heads (what the sizes from the shapes assume) of 2; 4 hash functions of width 6; 32 buckets and positions
const [H, I, LAYERS, HASHES, BUCKETS, TYPES, RATE, KERNEL] = [24, 32, 2, 4, 32, 16, 4, 4];
const DOWN = 'initial_char_encoder/initial_char_encoder/chars_to_molecules';

/** One bert_modeling / local_attention layer: [variable suffix, shape, key suffix, transposed]. */
const LAYER: readonly (readonly [string, number[], string, boolean?])[] = [
  ...['query', 'key', 'value'].flatMap((p): [string, number[], string, boolean?][] => [
    [`attention/self/${p}/kernel`, [H, H], `attention.self.${p}.weight`, true],
    [`attention/self/${p}/bias`, [H], `attention.self.${p}.bias`],
  ]),
  ['attention/output/dense/kernel', [H, H], 'attention.output.dense.weight', true],
  ['attention/output/dense/bias', [H], 'attention.output.dense.bias'],
  ['attention/output/LayerNorm/gamma', [H], 'attention.output.LayerNorm.weight'],
  ['attention/output/LayerNorm/beta', [H], 'attention.output.LayerNorm.bias'],
  ['intermediate/dense/kernel', [H, I], 'intermediate.dense.weight', true],
  ['intermediate/dense/bias', [I], 'intermediate.dense.bias'],
  ['output/dense/kernel', [I, H], 'output.dense.weight', true],
  ['output/dense/bias', [H], 'output.dense.bias'],
  ['output/LayerNorm/gamma', [H], 'output.LayerNorm.weight'],
  ['output/LayerNorm/beta', [H], 'output.LayerNorm.bias'],
];

/** [variable, shape, key, how]: in CanineModel.state_dict() order. */
type Row = readonly [string, number[], string, ('t' | 'conv')?];
const layer = (tf: string, pt: string): Row[] =>
  LAYER.map(([v, shape, k, t]) => [`${tf}/${v}`, shape, `${pt}.${k}`, t ? 't' : undefined] as Row);
const convAndNorm = (tf: string, pt: string, width: number, inp: number): Row[] => [
  [`${tf}/conv/kernel`, [width, inp, H], `${pt}.conv.weight`, 'conv'],
  [`${tf}/conv/bias`, [H], `${pt}.conv.bias`],
  [`${tf}/LayerNorm/gamma`, [H], `${pt}.LayerNorm.weight`],
  [`${tf}/LayerNorm/beta`, [H], `${pt}.LayerNorm.bias`],
];
const ROWS: readonly Row[] = [
  ...Array.from(
    { length: HASHES },
    (_, i): Row => [
      `char_embeddings/embeddings/HashBucketCodepointEmbedder_${i}`,
      [BUCKETS, H / HASHES],
      `char_embeddings.HashBucketCodepointEmbedder_${i}.weight`,
    ],
  ),
  ['char_embeddings/char_position_embeddings', [BUCKETS, H], 'char_embeddings.char_position_embeddings.weight'],
  ['char_embeddings/segment_embeddings', [TYPES, H], 'char_embeddings.token_type_embeddings.weight'],
  ['char_embeddings/LayerNorm/gamma', [H], 'char_embeddings.LayerNorm.weight'],
  ['char_embeddings/LayerNorm/beta', [H], 'char_embeddings.LayerNorm.bias'],
  ...layer('initial_char_encoder/layer_0', 'initial_char_encoder.layer.0'),
  ...convAndNorm(DOWN, 'chars_to_molecules', RATE, H),
  ...Array.from({ length: LAYERS }, (_, n) => layer(`bert/layer_${n}`, `encoder.layer.${n}`)).flat(),
  ...convAndNorm('final_char_encoder', 'projection', KERNEL, 2 * H),
  ...layer('final_char_encoder/layer_0', 'final_char_encoder.layer.0'),
  ['pooler/dense/kernel', [H, H], 'pooler.dense.weight', 't'],
  ['pooler/dense/bias', [H], 'pooler.dense.bias'],
];
const TYDI_HEADS: readonly [string, number[]][] = [
  ['cls/tydi/output_weights', [2, H]],
  ['cls/tydi/output_bias', [2]],
  ['answer_type_output_weights', [5, H]],
  ['answer_type_output_bias', [5]],
];

let tmp = '';
let prefix = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-canine-'));
  prefix = join(tmp, 'model.ckpt-100000');
  await writeOriginalCheckpoint(prefix, [...ROWS.map(([v, shape]) => [v, shape] as const), ...TYDI_HEADS], {
    seed: 31,
    slots: ['adam_m', 'adam_v'],
  });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** numpy's np.transpose of a 3-D array: element (a, b, c) of the result is element (c, b, a) of the input. */
function reverseAxes3d(t: RawTensor): RawTensor {
  const [x, y, z] = t.shape as [number, number, number];
  const size = DTYPES[t.dtype].itemSize;
  const out = new Uint8Array(t.bytes.length);
  for (let a = 0; a < z; a++)
    for (let b = 0; b < y; b++)
      for (let c = 0; c < x; c++) {
        const from = ((c * y + b) * z + a) * size;
        out.set(t.bytes.subarray(from, from + size), ((a * y + b) * x + c) * size);
      }
  return { dtype: t.dtype, shape: [z, y, x], bytes: out };
}

async function expectedStateDict(): Promise<Map<string, RawTensor>> {
  const tf = await readTfTensors(prefix);
  const out = new Map<string, RawTensor>();
  for (const [v, , key, how] of ROWS) {
    const t = tf.get(v);
    assert.ok(t, `${v} missing`);
    out.set(key, how === 't' ? transpose2d(t) : how === 'conv' ? reverseAxes3d(t) : t);
  }
  return out;
}

test('canine golden plan: detected, sizes from the shapes (heads assumed), renames, conv kernels reversed, heads and slots skipped', () => {
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', join(tmp, 'unused'), '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /canine checkpoint: CanineModel \(detected from char_embeddings\/embeddings\/HashBucketCodepointEmbedder_0/,
  );
  assert.match(
    r.stderr,
    /derived from the checkpoint's shapes: hidden_size=24, max_position_embeddings=32, type_vocab_size=16, num_hash_buckets=32, num_hash_functions=4, intermediate_size=32, num_hidden_layers=2, downsampling_rate=4, upsampling_kernel_size=4/,
  );
  assert.match(r.stderr, /assumed .*num_attention_heads=12/);
  checkGolden('canine-synthetic.plan.txt', r.stdout);
  assert.match(runCli(['inspect', prefix]).stdout, /canine checkpoint: CanineModel; \d+ optimizer slots/);
});

test('canine to a folder: exact values in PyTorch, CanineModel in transformers with no missing or unexpected key', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'folder');
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', folder, '--format', 'pytorch']);
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  const expected = await expectedStateDict();
  assert.deepEqual([...loaded.keys()], [...expected.keys()], 'CanineModel.state_dict() order');
  assertExactly(loaded, expected);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.architectures, config.model_type, config.hidden_size, config.num_hash_functions, config.num_hash_buckets],
    [['CanineModel'], 'canine', H, HASHES, BUCKETS],
  );

  const client = transformersPython(t);
  if (!client) return;
  for (const report of loadInTransformers(client, folder, ['pytorch'])) {
    assert.equal(report.modelClass, 'CanineModel');
    assert.deepEqual([report.missing, report.unexpected, report.mismatched, report.errors], [[], [], [], []]);
    assert.deepEqual(report.differing, []);
    assert.deepEqual(report.warnings, [], 'transformers warned');
  }
  // the tokenizer files the script saves (CanineTokenizer().save_pretrained), as JSON (transformers writes the
  // private-use codepoints raw, ensure_ascii=False; ours escapes them as every config file: the same strings)
  const reference = join(tmp, 'tokenizer');
  runTransformers(
    client,
    'import sys; from transformers import CanineTokenizer as T; T().save_pretrained(sys.argv[1])',
    [reference],
  );
  const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
  for (const name of ['tokenizer_config.json', 'special_tokens_map.json'])
    assert.deepEqual(json(join(folder, name)), json(join(reference, name)), name);
});

test('canine: a CanineConfig the shapes contradict is refused naming the field; the original CanineModelConfig is read', () => {
  const run = (config: object) => {
    const path = join(tmp, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(config));
    return runCli(['convert', '--model_type', 'canine', '--tf_checkpoint', prefix, '--dry-run', '--config', path]);
  };
  const hf = {
    model_type: 'canine',
    hidden_size: H,
    num_attention_heads: 4,
    intermediate_size: I,
    num_hidden_layers: 3,
    max_position_embeddings: BUCKETS,
    num_hash_buckets: BUCKETS,
    num_hash_functions: HASHES,
  };
  const wrong = run(hf);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /num_hidden_layers: config says 3, checkpoint has 2 \(bert\/layer_\{n\}\/\)/);
  // modeling.py's CanineModelConfig spells the position count max_positions
  const { max_position_embeddings: _, model_type: __, ...rest } = hf;
  const original = run({ ...rest, num_hidden_layers: LAYERS, max_positions: BUCKETS, local_transformer_stride: 8 });
  assert.equal(original.code, 0, original.stderr);
  assert.match(original.stdout, /encoder\.layer\.1\.output\.LayerNorm\.bias \[24\] float32/);
  assert.match(
    runCli(['convert', '--help']).stdout,
    /\n {2}canine +google-research\/language CANINE .*→ CanineModel\n/,
  );
});
