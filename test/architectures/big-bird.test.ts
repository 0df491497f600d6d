/**
 * BigBird: pre-training checkpoints with the names google-research/bigbird creates — bigbird/core/modeling.py
 * (BertModel under the `bert` scope: utils.py's EmbeddingLayer `embeddings/{word,token_type,position}_embeddings`,
 * SimpleDenseLayer `pooler/dense`), bigbird/core/encoder.py (EncoderStack `encoder` with PostnormEncoderLayer
 * `layer_{n}`: `attention/self/{query,key,value}` (attention.py), `attention/output/dense` and its `LayerNorm`,
 * `intermediate/dense`, `output/dense` and its `LayerNorm`; the stack's own NormLayer `encoder/LayerNorm`),
 * bigbird/pretrain/run_pretraining.py (MaskedLMLayer `cls/predictions`: Dense2dLayer and NormLayer both named
 * `transform`, `output_bias`; NSPLayer `cls/seq_relationship/output_{weights,bias}`) — plus what its trainer
 * leaves (bigbird/core/optimization.py's AdamWeightDecayOptimizer: `_zeros_slot(v, "m"|"v", self._name)` →
 * `{var}/AdamWeightDecayOptimizer` and `{var}/AdamWeightDecayOptimizer_1`; `global_step`) and the flags file
 * it writes beside them (flags.save → `pretrain.config`). The expected state dict follows transformers'
 * load_tf_weights_in_big_bird (modeling_big_bird.py, 4.29.2) and BigBirdForPreTraining.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly, bertLayerRows, expectedFrom, writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { type RawTensor, readTfTensors } from '../support/reference-transforms.js';
import { type LoadedTensor, loadAllWithTorch } from '../support/torch-load.js';
import { transformersPython } from '../support/transformers.js';
import { loadInTransformers } from '../support/transformers-load.js';

// vocabulary, width, feed-forward width, positions, token types, heads, layers
const [V, H, I, P, T, HEADS, LAYERS] = [20, 8, 16, 32, 2, 2, 2];
const SLOTS = ['AdamWeightDecayOptimizer', 'AdamWeightDecayOptimizer_1'];
const POSITION_IDS = 'bert.embeddings.position_ids';

/** The variables, with the query/key/value and output kernels in `layout` ('2d' as the original stores them). */
function variables(layout: '2d' | '3d'): [string, number[]][] {
  const hd = H / HEADS;
  const out: [string, number[]][] = [
    ['bert/embeddings/word_embeddings', [V, H]],
    ['bert/embeddings/token_type_embeddings', [T, H]],
    ['bert/embeddings/position_embeddings', [P, H]],
    ['bert/encoder/LayerNorm/beta', [H]],
    ['bert/encoder/LayerNorm/gamma', [H]],
  ];
  for (let l = 0; l < LAYERS; l++) {
    const p = `bert/encoder/layer_${l}`;
    for (const q of ['query', 'key', 'value'])
      out.push(
        [`${p}/attention/self/${q}/kernel`, layout === '2d' ? [H, H] : [H, HEADS, hd]],
        [`${p}/attention/self/${q}/bias`, layout === '2d' ? [H] : [HEADS, hd]],
      );
    out.push(
      [`${p}/attention/output/dense/kernel`, layout === '2d' ? [H, H] : [HEADS, hd, H]],
      [`${p}/attention/output/dense/bias`, [H]],
      [`${p}/attention/output/LayerNorm/beta`, [H]],
      [`${p}/attention/output/LayerNorm/gamma`, [H]],
      [`${p}/intermediate/dense/kernel`, [H, I]],
      [`${p}/intermediate/dense/bias`, [I]],
      [`${p}/output/dense/kernel`, [I, H]],
      [`${p}/output/dense/bias`, [H]],
      [`${p}/output/LayerNorm/beta`, [H]],
      [`${p}/output/LayerNorm/gamma`, [H]],
    );
  }
  out.push(
    ['bert/pooler/dense/kernel', [H, H]],
    ['bert/pooler/dense/bias', [H]],
    ['cls/predictions/transform/kernel', [H, H]],
    ['cls/predictions/transform/bias', [H]],
    ['cls/predictions/transform/beta', [H]],
    ['cls/predictions/transform/gamma', [H]],
    ['cls/predictions/output_bias', [V]],
    ['cls/seq_relationship/output_weights', [2, H]],
    ['cls/seq_relationship/output_bias', [2]],
  );
  return out;
}

/** load_tf_weights_in_big_bird's walk, written out: [key, variable, transposed]. */
function table(): [string, string, boolean?][] {
  const rows: [string, string, boolean?][] = [
    ['bert.embeddings.word_embeddings.weight', 'bert/embeddings/word_embeddings'],
    ['bert.embeddings.position_embeddings.weight', 'bert/embeddings/position_embeddings'],
    ['bert.embeddings.token_type_embeddings.weight', 'bert/embeddings/token_type_embeddings'],
    // the converter renames bert/encoder/LayerNorm to bert/embeddings/LayerNorm before its walk
    ['bert.embeddings.LayerNorm.weight', 'bert/encoder/LayerNorm/gamma'],
    ['bert.embeddings.LayerNorm.bias', 'bert/encoder/LayerNorm/beta'],
  ];
  for (let l = 0; l < LAYERS; l++) {
    const [k, p] = [`bert.encoder.layer.${l}`, `bert/encoder/layer_${l}`];
    rows.push(...bertLayerRows(k, p));
  }
  rows.push(
    // "pooler" is an nn.Linear: the walk skips the `dense` scope
    ['bert.pooler.weight', 'bert/pooler/dense/kernel', true],
    ['bert.pooler.bias', 'bert/pooler/dense/bias'],
    ['cls.predictions.bias', 'cls/predictions/output_bias'],
    ['cls.predictions.transform.dense.weight', 'cls/predictions/transform/kernel', true],
    ['cls.predictions.transform.dense.bias', 'cls/predictions/transform/bias'],
    ['cls.predictions.transform.LayerNorm.weight', 'cls/predictions/transform/gamma'],
    ['cls.predictions.transform.LayerNorm.bias', 'cls/predictions/transform/beta'],
    ['cls.predictions.decoder.weight', 'bert/embeddings/word_embeddings'],
    ['cls.predictions.decoder.bias', 'cls/predictions/output_bias'],
    ['cls.seq_relationship.weight', 'cls/seq_relationship/output_weights'],
    ['cls.seq_relationship.bias', 'cls/seq_relationship/output_bias'],
  );
  return rows;
}

/** numpy's `a.transpose(axes)` of a float32 array, by element loops. */
function permute(t: RawTensor, axes: number[]): RawTensor {
  const shape = axes.map((a) => t.shape[a] as number);
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const src = new Float32Array(new Uint8Array(t.bytes).buffer); // a copy: Buffer.slice is a view
  const out = new Float32Array(src.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let n = 0; n < out.length; n++) {
    let from = 0;
    for (let d = 0; d < shape.length; d++) from += (index[d] as number) * (strides[axes[d] as number] as number);
    out[n] = src[from] as number;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (shape[d] as number)) break;
      index[d] = 0;
    }
  }
  return { dtype: 'float32', shape, bytes: new Uint8Array(out.buffer) };
}

/**
 * What load_tf_weights_in_big_bird does to a 3-D kernel: np.transpose (all axes reversed), then
 * transpose(1, 0, 2) for query/key/value or transpose(0, 2, 1) for the output dense, then reshape to the weight.
 */
function threeD(t: RawTensor, output: boolean): RawTensor {
  const reversed = permute(t, [2, 1, 0]);
  return { ...permute(reversed, output ? [0, 2, 1] : [1, 0, 2]), shape: [H, H] };
}

let tmp = '';
let prefix = '';
let flagsPath = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-bigbird-'));
  mkdirSync(join(tmp, 'bigbr_tiny'));
  prefix = join(tmp, 'bigbr_tiny', 'model.ckpt-1000');
  await writeOriginalCheckpoint(prefix, variables('2d'), { seed: 21, slots: SLOTS });
  // flags.save's file: the flags as JSON (indent 4, sorted), model and training settings together
  flagsPath = join(tmp, 'bigbr_tiny', 'pretrain.config');
  writeFileSync(
    flagsPath,
    JSON.stringify(
      {
        attention_probs_dropout_prob: 0.1,
        attention_type: 'block_sparse',
        block_size: 4,
        hidden_act: 'gelu',
        hidden_dropout_prob: 0.1,
        hidden_size: H,
        initializer_range: 0.02,
        intermediate_size: I,
        learning_rate: 1e-4,
        max_encoder_length: 32,
        max_position_embeddings: P,
        norm_type: 'postnorm',
        num_attention_heads: HEADS,
        num_hidden_layers: LAYERS,
        num_rand_blocks: 2,
        rescale_embedding: false,
        scope: 'bert',
        type_vocab_size: T,
        use_bias: true,
        use_gradient_checkpointing: false,
        use_nsp: false,
        use_tpu: true,
        vocab_model_file: 'gpt2',
        vocab_size: V,
      },
      null,
      4,
    ),
  );
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convertArgs = (checkpoint: string, out: string, ...more: string[]) => [
  'convert',
  '--tf_checkpoint',
  checkpoint,
  '--pytorch_dump_output',
  out,
  ...more,
];

test('big_bird golden plan: AdamWeightDecayOptimizer slots and global_step skipped, encoder LayerNorm → embeddings', () => {
  const r = runCli(convertArgs(prefix, join(tmp, 'unused'), '--model_type', 'big_bird', '--dry-run'));
  assert.equal(r.code, 0, r.stderr);
  checkGolden('big-bird-synthetic-pretraining.plan.txt', r.stdout);
});

test('big_bird through the CLI, detected (pretrain.config) and with 3-D attention kernels: BigBirdForPreTraining with exact values in PyTorch', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'out');
  const r = runCli(convertArgs(prefix, folder, '--format', 'pytorch'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /big_bird checkpoint: BigBirdForPreTraining/);
  assert.match(r.stderr, /pretrain\.config is the original's flags file/);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BigBirdForPreTraining']);
  assert.equal(config.model_type, 'big_bird');
  assert.deepEqual(
    [config.block_size, config.num_random_blocks, config.hidden_act, config.attention_type],
    [4, 2, 'gelu_new', 'block_sparse'],
  );
  assert.equal(config.use_tpu, undefined, 'training flags are not model settings');
  assert.equal(config.num_rand_blocks, undefined);

  // [hidden, heads, head_dim] and [heads, head_dim, hidden] kernels become what transformers loads
  mkdirSync(join(tmp, 'three-d'));
  const p3 = join(tmp, 'three-d', 'model.ckpt-5');
  await writeOriginalCheckpoint(p3, variables('3d'), { seed: 5, slots: SLOTS });
  const out = join(tmp, 'out-3d', 'pytorch_model.bin');
  const r3 = runCli(convertArgs(p3, out, '--model_type', 'big_bird', '--config', flagsPath));
  assert.equal(r3.code, 0, r3.stderr);
  const tf = await readTfTensors(p3);
  const expected = expectedFrom(
    tf,
    table().filter(
      ([key]) => !/attention\.(self\.\w+|output\.dense)\.(weight|bias)$/.test(key) || /output\.dense\.bias/.test(key),
    ),
  );
  for (let l = 0; l < LAYERS; l++) {
    const [k, p] = [`bert.encoder.layer.${l}`, `bert/encoder/layer_${l}`];
    for (const q of ['query', 'key', 'value']) {
      expected.set(
        `${k}.attention.self.${q}.weight`,
        threeD(tf.get(`${p}/attention/self/${q}/kernel`) as RawTensor, false),
      );
      expected.set(`${k}.attention.self.${q}.bias`, {
        ...(tf.get(`${p}/attention/self/${q}/bias`) as RawTensor),
        shape: [H],
      });
    }
    expected.set(
      `${k}.attention.output.dense.weight`,
      threeD(tf.get(`${p}/attention/output/dense/kernel`) as RawTensor, true),
    );
  }
  // one interpreter for both files
  const [loaded, loaded3d] = loadAllWithTorch(python, [join(folder, 'pytorch_model.bin'), out]) as [
    Map<string, LoadedTensor>,
    Map<string, LoadedTensor>,
  ];
  // the position_ids buffer BigBirdForPreTraining needs in transformers ≤ 4.30: 0 … P-1, int64 [1, P]
  for (const state of [loaded, loaded3d]) {
    const ids = state.get(POSITION_IDS);
    assert.deepEqual([ids?.dtype, ids?.shape], ['int64', [1, P]]);
    assert.deepEqual([...new BigInt64Array(new Uint8Array(ids?.bytes ?? []).buffer)], [...Array(P).keys()].map(BigInt));
  }
  const weights = (state: Map<string, LoadedTensor>) => new Map([...state].filter(([key]) => key !== POSITION_IDS));
  assertExactly(weights(loaded), expectedFrom(await readTfTensors(prefix), table()));
  assertExactly(weights(loaded3d), expected);
  const word = loaded.get('bert.embeddings.word_embeddings.weight')?.dataPtr;
  assert.equal(loaded.get('cls.predictions.decoder.weight')?.dataPtr, word, 'the decoder is the word table');
  assert.equal(
    loaded.get('cls.predictions.decoder.bias')?.dataPtr,
    loaded.get('cls.predictions.bias')?.dataPtr,
    'the decoder bias is cls.predictions.bias',
  );
});

test('big_bird without a config: sizes from the shapes, the rest the original defaults, each named', () => {
  mkdirSync(join(tmp, 'bare'));
  const bare = join(tmp, 'bare', 'model.ckpt-1000');
  for (const ext of ['.index', '.data-00000-of-00001']) writeFileSync(`${bare}${ext}`, readFileSync(`${prefix}${ext}`));
  const out = join(tmp, 'out-bare', 'model.safetensors');
  const r = runCli(convertArgs(bare, out, '--model_type', 'big_bird'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /derived from the checkpoint's shapes: vocab_size=20, hidden_size=8/);
  assert.match(r.stderr, /num_attention_heads=1 \(hidden_size \/ 64/);
  assert.match(r.stderr, /block_size=16 \(the original's flags\.py default\)/);
  const config = JSON.parse(readFileSync(join(tmp, 'out-bare', 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.num_hidden_layers, config.intermediate_size, config.max_position_embeddings],
    [LAYERS, I, P],
  );
});

test('big_bird with a BigBirdConfig: its values kept, checked against the shapes', () => {
  const hf = join(tmp, 'bigbird-config.json');
  // as BigBirdConfig.save_pretrained writes it (transformers' attribute names)
  writeFileSync(
    hf,
    JSON.stringify({
      model_type: 'big_bird',
      architectures: ['BigBirdForPreTraining'],
      vocab_size: V,
      hidden_size: H,
      num_hidden_layers: LAYERS,
      num_attention_heads: HEADS,
      intermediate_size: I,
      max_position_embeddings: P,
      type_vocab_size: T,
      attention_type: 'original_full',
      block_size: 8,
      num_random_blocks: 1,
      hidden_act: 'gelu_new',
    }),
  );
  const out = join(tmp, 'out-hf-config/');
  const r = runCli(convertArgs(prefix, out, '--model_type', 'big_bird', '--config', hf, '--format', 'pytorch'));
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /flags file/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.attention_type, config.block_size, config.num_random_blocks, config.num_attention_heads],
    ['original_full', 8, 1, HEADS],
  );
});

test('big_bird refusals: a pre-norm flags file, and sizes that disagree with the shapes', () => {
  const prenorm = join(tmp, 'prenorm.config');
  writeFileSync(prenorm, JSON.stringify({ ...JSON.parse(readFileSync(flagsPath, 'utf8')), norm_type: 'prenorm' }));
  const r = runCli(convertArgs(prefix, join(tmp, 'x'), '--model_type', 'big_bird', '--config', prenorm, '--dry-run'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /prenorm\.config: 'norm_type' is "prenorm": transformers' BigBird is post-norm only/);
  const wrong = join(tmp, 'config.json');
  writeFileSync(wrong, JSON.stringify({ model_type: 'big_bird', hidden_size: 16, num_attention_heads: 2 }));
  const w = runCli(convertArgs(prefix, join(tmp, 'x'), '--model_type', 'big_bird', '--config', wrong, '--dry-run'));
  assert.equal(w.code, 1);
  assert.match(
    w.stderr,
    /hidden_size: config says 16, checkpoint has 8 \(bert\/embeddings\/word_embeddings \[20, 8\]\)/,
  );
  assert.doesNotMatch(w.stderr, /\n\s+at /, 'no stack trace');
});

test('big_bird is told apart from bert; convert --help lists it with its class; --model_type bigbird is big_bird', () => {
  const r = runCli(['inspect', prefix]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /big_bird/);
  const bert = runCli(convertArgs(prefix, join(tmp, 'x'), '--model_type', 'bert', '--dry-run'));
  assert.notEqual(bert.code, 0, 'bert refuses it');
  const help = runCli(['convert', '--help']);
  assert.match(
    help.stdout,
    /big_bird.*BigBirdForPreTraining; the TriviaQA SavedModel → BigBirdForQuestionAnswering \(also --model_type bigbird\)/,
  );
  const alias = runCli(convertArgs(prefix, join(tmp, 'x'), '--model_type', 'bigbird', '--dry-run'));
  assert.equal(alias.code, 0, alias.stderr);
  assert.match(alias.stdout, /^model_type: big_bird \(BigBirdForPreTraining\)/);
});

test('big_bird folder loads in the real transformers: BigBirdForPreTraining, no missing or unexpected key', (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const folder = join(tmp, 'out-hf/');
  const r = runCli(convertArgs(prefix, folder, '--format', 'both'));
  assert.equal(r.code, 0, r.stderr);
  for (const report of loadInTransformers(client, folder)) {
    assert.equal(report.modelClass, 'BigBirdForPreTraining');
    // 4.29.2 keeps position_ids as a persistent buffer without BERT's _keys_to_ignore_on_load_missing: written
    assert.deepEqual(report.missing, [], report.format);
    assert.deepEqual([report.unexpected, report.mismatched, report.errors], [[], [], []]);
    assert.deepEqual(report.differing, [], `${report.format}: values as written`);
  }
});
