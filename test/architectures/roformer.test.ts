/**
 * RoFormer: checkpoints as ZhuiyiTechnology/roformer releases them (its README: bert4keras 0.10.4; train.py builds
 * `build_transformer_model(..., model='roformer', with_mlm='linear')`). bojone/bert4keras bert4keras/models.py:
 * `RoFormer(NEZHA)` has no position table (NEZHA.apply_embeddings: token, segment, norm, then 'Embedding-Mapping' when
 * the embedding width differs); `Transformer.save_weights_as_checkpoint` writes the weights alone (a fresh graph,
 * `tf.train.Saver`: no optimizer slots, no global_step) under `BERT.variable_mapping`'s names: `bert/embeddings/…`,
 * `bert/encoder/embedding_hidden_mapping_in`, `bert/encoder/layer_{n}/…`, `bert/pooler/dense` (with_pool),
 * `cls/seq_relationship/output_weights` stored [2, H] (`BERT.create_variable` transposes it), `cls/predictions/…`.
 * A second checkpoint has the projection, pooler and next-sentence head, and the slots of google-research/bert's
 * AdamWeightDecayOptimizer (`{param}/adam_m`, `{param}/adam_v`, `global_step`) that transformers' loader skips by name.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { detectArchitecture } from '../../src/architectures/detect.js';
import { generateBytes } from '../../src/kernels/generated-values.js';
import type { TensorInfo } from '../../src/mapping/types.js';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import {
  assertExactly,
  bertLayerRows,
  expectedFrom,
  type VariableSpec,
  writeOriginalCheckpoint,
} from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { type RawTensor, readTfTensors } from '../support/reference-transforms.js';
import { randomTensorBytes, writeBundle } from '../support/tf-bundle-writer.js';
import { loadWithTorch } from '../support/torch-load.js';
import { runTransformers, tinyWordPieceVocab, transformersPython } from '../support/transformers.js';

// vocab, hidden (2 heads of 4), intermediate, layers, positions of the config (no table)
const [V, H, HEADS, I, L, P] = [20, 8, 2, 16, 2, 16];

interface Layout {
  readonly dir: string;
  /** The embedding width: the hidden size, or bert4keras's own `embedding_size` (a projection). */
  readonly E: number;
  readonly pooled: boolean;
}
const RELEASE: Layout = { dir: 'release', E: H, pooled: false };
const POOLED: Layout = { dir: 'pooled', E: 6, pooled: true };

const dense = (scope: string, inp: number, out: number): VariableSpec[] => [
  [`${scope}/kernel`, [inp, out]],
  [`${scope}/bias`, [out]],
];
const norm = (scope: string, size: number): VariableSpec[] => [
  [`${scope}/LayerNorm/beta`, [size]],
  [`${scope}/LayerNorm/gamma`, [size]],
];

/** BERT.variable_mapping's names, in its order, for the layers the RoFormer model has. */
function variables({ E, pooled }: Layout): VariableSpec[] {
  const out: VariableSpec[] = [
    ['bert/embeddings/word_embeddings', [V, E]],
    ['bert/embeddings/token_type_embeddings', [2, E]],
    ...norm('bert/embeddings', E),
    ...(E === H ? [] : dense('bert/encoder/embedding_hidden_mapping_in', E, H)),
  ];
  if (pooled) out.push(...dense('bert/pooler/dense', H, H), ['cls/seq_relationship/output_weights', [2, H]]);
  if (pooled) out.push(['cls/seq_relationship/output_bias', [2]]);
  out.push(...dense('cls/predictions/transform/dense', H, E), ...norm('cls/predictions/transform', E));
  out.push(['cls/predictions/output_bias', [V]]);
  for (let l = 0; l < L; l++) {
    const p = `bert/encoder/layer_${l}`;
    out.push(
      ...['query', 'key', 'value'].flatMap((q) => dense(`${p}/attention/self/${q}`, H, H)),
      ...dense(`${p}/attention/output/dense`, H, H),
      ...norm(`${p}/attention/output`, H),
      ...dense(`${p}/intermediate/dense`, H, I),
      ...dense(`${p}/output/dense`, I, H),
      ...norm(`${p}/output`, H),
    );
  }
  return out;
}

/** RoFormerForMaskedLM's state dict, key by key: [key, TF variable, transposed]; embed_positions apart. */
function table({ E }: Layout): [string, string, boolean?][] {
  const rows: [string, string, boolean?][] = [
    ['roformer.embeddings.word_embeddings.weight', 'bert/embeddings/word_embeddings'],
    ['roformer.embeddings.token_type_embeddings.weight', 'bert/embeddings/token_type_embeddings'],
    ['roformer.embeddings.LayerNorm.weight', 'bert/embeddings/LayerNorm/gamma'],
    ['roformer.embeddings.LayerNorm.bias', 'bert/embeddings/LayerNorm/beta'],
  ];
  if (E !== H)
    rows.push(
      ['roformer.embeddings_project.weight', 'bert/encoder/embedding_hidden_mapping_in/kernel', true],
      ['roformer.embeddings_project.bias', 'bert/encoder/embedding_hidden_mapping_in/bias'],
    );
  for (let l = 0; l < L; l++) {
    const [k, p] = [`roformer.encoder.layer.${l}`, `bert/encoder/layer_${l}`];
    rows.push(...bertLayerRows(k, p));
  }
  rows.push(
    ['cls.predictions.bias', 'cls/predictions/output_bias'],
    ['cls.predictions.transform.dense.weight', 'cls/predictions/transform/dense/kernel', true],
    ['cls.predictions.transform.dense.bias', 'cls/predictions/transform/dense/bias'],
    ['cls.predictions.transform.LayerNorm.weight', 'cls/predictions/transform/LayerNorm/gamma'],
    ['cls.predictions.transform.LayerNorm.bias', 'cls/predictions/transform/LayerNorm/beta'],
    ['cls.predictions.decoder.weight', 'bert/embeddings/word_embeddings'],
    ['cls.predictions.decoder.bias', 'cls/predictions/output_bias'],
  );
  return rows;
}

/** The release's bert_config.json (bert4keras reads `embedding_size` when the width differs). */
const bertConfig = ({ E }: Layout) => ({
  attention_probs_dropout_prob: 0.1,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: H,
  initializer_range: 0.02,
  intermediate_size: I,
  max_position_embeddings: P,
  num_attention_heads: HEADS,
  num_hidden_layers: L,
  type_vocab_size: 2,
  vocab_size: V,
  ...(E === H ? {} : { embedding_size: E }),
});

let tmp = '';
const prefixOf = (layout: Layout) => join(tmp, layout.dir, 'bert_model.ckpt');

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-roformer-'));
  for (const layout of [RELEASE, POOLED]) {
    mkdirSync(join(tmp, layout.dir));
    writeFileSync(join(tmp, layout.dir, 'bert_config.json'), JSON.stringify(bertConfig(layout)));
    writeFileSync(join(tmp, layout.dir, 'vocab.txt'), tinyWordPieceVocab(V));
  }
  // save_weights_as_checkpoint: the weights only
  const random = seededRandom(31);
  await writeBundle(
    prefixOf(RELEASE),
    variables(RELEASE).map(([name, shape]) => ({
      name,
      dtype: 'float32' as const,
      shape: [...shape],
      bytes: randomTensorBytes(
        'float32',
        shape.reduce((a, b) => a * b, 1),
        random,
      ),
    })),
  );
  await writeOriginalCheckpoint(prefixOf(POOLED), variables(POOLED), { seed: 32, slots: ['adam_m', 'adam_v'] });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('roformer golden plans: no position table, embed_positions generated; pooler, NSP head and trainer state skipped', () => {
  for (const [layout, golden] of [
    [RELEASE, 'roformer-bert4keras-release.plan.txt'],
    [POOLED, 'roformer-bert4keras-projection-pooler-adam.plan.txt'],
  ] as const) {
    const r = runCli(['convert', '--tf_checkpoint', prefixOf(layout), '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /note: roformer checkpoint: RoFormerForMaskedLM \(detected from /);
    checkGolden(golden, r.stdout);
  }
});

/** Sizes of embed_positions checked against the real module: the release's, then the released models' and odd widths. */
const SINUSOID_SHAPES: readonly [number, number][] = [
  [P, H / HEADS],
  [1536, 64],
  [512, 64],
  [1536, 32],
  [64, 6],
  [16, 3],
];

/**
 * In the real transformers: RoFormerSinusoidalPositionalEmbedding(positions, dim).weight per shape (base64), and the
 * folder's tokenizer files beside those RoFormerTokenizer's save_pretrained writes, loaded by AutoTokenizer (rjieba,
 * which only segments words, stubbed: one word per text, the WordPiece fallback does the rest).
 */
const TRANSFORMERS_CHECK = `
import base64, json, sys, types
rjieba = types.ModuleType('rjieba')
rjieba.cut = lambda text, hmm=False: [text]
sys.modules['rjieba'] = rjieba
from transformers import AutoTokenizer, RoFormerTokenizer
from transformers.models.roformer.modeling_roformer import RoFormerSinusoidalPositionalEmbedding
folder, theirs, shapes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sinusoids = [base64.b64encode(RoFormerSinusoidalPositionalEmbedding(n, d).weight.detach().numpy().astype('<f4').tobytes()).decode()
             for n, d in shapes]
ours = json.load(open(folder + '/tokenizer_config.json'))
RoFormerTokenizer(folder + '/vocab.txt', do_lower_case=ours['do_lower_case'], model_max_length=ours['model_max_length']).save_pretrained(theirs)
tok = AutoTokenizer.from_pretrained(folder, use_fast=False)
print(json.dumps({'sinusoids': sinusoids, 'tokenizer': {'class': type(tok).__name__, 'lower': tok.do_lower_case,
                  'max': tok.model_max_length, 'decoded': tok.decode(tok.encode('tok5 tok6'), skip_special_tokens=True)}}))
`;

test('roformer release without --model_type: RoFormerForMaskedLM, exact values in PyTorch, embed_positions (and at the released sizes) and tokenizer files as transformers makes them', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const client = transformersPython(t);
  if (!client) return;
  const folder = join(tmp, 'release-out');
  const r = runCli([
    'convert',
    '--tf_checkpoint',
    prefixOf(RELEASE),
    '--pytorch_dump_output',
    folder,
    '--format',
    'pytorch',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const theirs = join(tmp, 'release-tokenizer-saved');
  const check = JSON.parse(
    runTransformers(client, TRANSFORMERS_CHECK, [folder, theirs, JSON.stringify(SINUSOID_SHAPES)]),
  ) as {
    sinusoids: string[];
    tokenizer: unknown;
  };
  const sinusoids = check.sinusoids.map((b) => new Uint8Array(Buffer.from(b, 'base64')));
  for (const [i, [n, d]] of SINUSOID_SHAPES.entries()) {
    const ours = generateBytes({ kind: 'sinusoidal-positions', positions: n, dim: d }, 'float32', [n, d]);
    assert.ok(
      Buffer.from(ours).equals(Buffer.from(sinusoids[i] as Uint8Array)),
      `embed_positions [${n}, ${d}] differs`,
    );
  }
  const expected = expectedFrom(await readTfTensors(prefixOf(RELEASE)), table(RELEASE));
  const positions: RawTensor = { dtype: 'float32', shape: [P, H / HEADS], bytes: sinusoids[0] as Uint8Array };
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  assertExactly(loaded, new Map([...expected, ['roformer.encoder.embed_positions.weight', positions]]));
  assert.deepEqual([...loaded.keys()].slice(0, 5), [
    'roformer.embeddings.word_embeddings.weight',
    'roformer.embeddings.token_type_embeddings.weight',
    'roformer.embeddings.LayerNorm.weight',
    'roformer.embeddings.LayerNorm.bias',
    'roformer.encoder.embed_positions.weight',
  ]);
  assert.equal(
    loaded.get('cls.predictions.decoder.weight')?.dataPtr,
    loaded.get('roformer.embeddings.word_embeddings.weight')?.dataPtr,
    'the decoder is the word table (one storage)',
  );
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.architectures, config.model_type, config.embedding_size, config.max_position_embeddings],
    [['RoFormerForMaskedLM'], 'roformer', H, P],
  );
  assert.equal(readFileSync(join(folder, 'vocab.txt'), 'utf8'), tinyWordPieceVocab(V));

  assert.deepEqual(check.tokenizer, { class: 'RoFormerTokenizer', lower: true, max: P, decoded: 'tok5 tok6' });
  for (const name of ['tokenizer_config.json', 'special_tokens_map.json'])
    assert.equal(readFileSync(join(folder, name), 'utf8'), readFileSync(join(theirs, name), 'utf8'), name);
});

test('roformer with its own embedding width, pooler, NSP head and Adam slots: projection as embeddings_project, the rest skipped', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const out = join(tmp, 'pooled-out', 'pytorch_model.bin');
  const r = runCli([
    'convert',
    '--model_type',
    'roformer',
    '--tf_checkpoint',
    prefixOf(POOLED),
    '--pytorch_dump_output',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const loaded = loadWithTorch(python, out);
  const positions = loaded.get('roformer.encoder.embed_positions.weight');
  assert.deepEqual(
    Buffer.from(positions?.bytes ?? []),
    Buffer.from(
      generateBytes({ kind: 'sinusoidal-positions', positions: P, dim: H / HEADS }, 'float32', [P, H / HEADS]),
    ),
  );
  loaded.delete('roformer.encoder.embed_positions.weight');
  assertExactly(loaded, expectedFrom(await readTfTensors(prefixOf(POOLED)), table(POOLED)));
});

test('roformer detection: the word table without the position table decides; BERT, RemBERT and table-less listings stay theirs', () => {
  const listing = (names: readonly VariableSpec[]): TensorInfo[] =>
    names.map(([name, shape]) => ({ name, dtype: 'float32', shape: [...shape] }));
  const detect = (specs: readonly VariableSpec[]) => {
    const d = detectArchitecture({ listing: listing(specs), format: 'tf-bundle-v2', hasSidecar: () => true });
    return d.kind === 'recognised' ? d.recognition.architecture.modelType : d.kind;
  };
  const positions: VariableSpec = ['bert/embeddings/position_embeddings', [P, H]];
  assert.equal(detect(variables(RELEASE)), 'roformer');
  // the same with google-research/bert's position table: a BERT checkpoint
  assert.equal(detect([...variables(RELEASE), positions]), 'bert');
  // the projection is also RemBERT's name, but RemBERT has the position table
  assert.equal(detect(variables(POOLED)), 'roformer');
  assert.equal(detect([...variables(POOLED), positions]), 'rembert');
  // BERT's layers alone (no embeddings at all): nothing says rotary
  assert.equal(detect(variables(RELEASE).filter(([name]) => name.startsWith('bert/encoder/'))), 'bert');
});

test('roformer refuses to run without bert_config.json, and a NEZHA config (same names, relative positions)', () => {
  const bare = join(tmp, 'bare');
  mkdirSync(bare);
  for (const f of readdirSync(join(tmp, RELEASE.dir)).filter((f) => f.startsWith('bert_model.ckpt.')))
    copyFileSync(join(tmp, RELEASE.dir, f), join(bare, f));
  const missing = runCli([
    'convert',
    '--model_type',
    'roformer',
    '--tf_checkpoint',
    join(bare, 'bert_model.ckpt'),
    '--dry-run',
  ]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /roformer needs its bert_config\.json: pass --config/);
  const nezha = join(bare, 'nezha_config.json');
  writeFileSync(
    nezha,
    JSON.stringify({ ...bertConfig(RELEASE), use_relative_position: true, max_relative_position: 64 }),
  );
  const r = runCli(['convert', '--tf_checkpoint', prefixOf(RELEASE), '--config', nezha, '--dry-run']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /nezha_config\.json: 'use_relative_position' is true: a NEZHA config/);
});
