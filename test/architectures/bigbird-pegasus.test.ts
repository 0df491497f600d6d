/**
 * BigBird-Pegasus: a summarization training checkpoint with the names google-research/bigbird creates under
 * `--scope=pegasus --norm_type=prenorm --use_bias=False` (bigbird/summarization/pegasus_large.sh) —
 * bigbird/core/modeling.py TransformerModel (utils.py's EmbeddingLayer `embeddings/word_embeddings` and
 * `position_embeddings`, no token types), encoder.py's PrenormEncoderLayer (`attention/self/LayerNorm`,
 * `attention/self/{query,key,value}/kernel`, `attention/output/dense/kernel`, `intermediate/LayerNorm`,
 * `intermediate/dense`, `output/dense`), decoder.py's PrenormDecoderLayer (the same, plus `attention/encdec/…`
 * and `attention/encdec_output/dense/kernel`), each stack's `LayerNorm` — plus what run_summarization.py's
 * trainer leaves (optimization.py: tensor2tensor's AdafactorOptimizer, the default `--optimizer`: `{var}/Adafactor`
 * [rows] and `{var}/Adafactor_1` [cols] beside a 2-D variable, `{var}/Adafactor` beside a 1-D one;
 * `global_step`) and its flags file (flags.save → `summarization.config`). The expected state dict follows
 * transformers' convert_bigbird_pegasus_tf_to_pytorch.py (DECODER_PATTERNS, REMAINING_PATTERNS, `.T` of every
 * dense/query/key/value, the position table given to both stacks) and BigBirdPegasusForConditionalGeneration.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly, expectedFrom } from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import { type RawTensor, readTfTensors } from '../support/reference-transforms.js';
import { type BundleTensor, randomTensorBytes, writeBundle } from '../support/tf-bundle-writer.js';
import { loadWithTorch } from '../support/torch-load.js';
import { transformersPython } from '../support/transformers.js';
import { loadInTransformers } from '../support/transformers-load.js';

// vocabulary, width, feed-forward width, positions, heads, encoder and decoder layers
const [V, D, F, P, HEADS, ENC, DEC] = [24, 8, 16, 64, 2, 2, 1];

function variables(): [string, number[]][] {
  const out: [string, number[]][] = [
    ['pegasus/embeddings/word_embeddings', [V, D]],
    ['pegasus/embeddings/position_embeddings', [P, D]],
  ];
  const stack = (s: string, layers: number) => {
    for (let l = 0; l < layers; l++) {
      const p = `pegasus/${s}/layer_${l}`;
      const attention = (a: string, output: string) => {
        out.push([`${p}/attention/${a}/LayerNorm/beta`, [D]], [`${p}/attention/${a}/LayerNorm/gamma`, [D]]);
        for (const q of ['query', 'key', 'value']) out.push([`${p}/attention/${a}/${q}/kernel`, [D, D]]);
        out.push([`${p}/attention/${output}/dense/kernel`, [D, D]]);
      };
      attention('self', 'output');
      if (s === 'decoder') attention('encdec', 'encdec_output');
      out.push(
        [`${p}/intermediate/LayerNorm/beta`, [D]],
        [`${p}/intermediate/LayerNorm/gamma`, [D]],
        [`${p}/intermediate/dense/kernel`, [D, F]],
        [`${p}/intermediate/dense/bias`, [F]],
        [`${p}/output/dense/kernel`, [F, D]],
        [`${p}/output/dense/bias`, [D]],
      );
    }
    out.push([`pegasus/${s}/LayerNorm/beta`, [D]], [`pegasus/${s}/LayerNorm/gamma`, [D]]);
  };
  stack('encoder', ENC);
  stack('decoder', DEC);
  return out;
}

/** The weights, each with the Adafactor slots of its rank, and global_step. */
async function writeCheckpoint(prefix: string, extra: [string, number[]][] = []): Promise<void> {
  const random = seededRandom(34);
  const float = (name: string, shape: number[]): BundleTensor => ({
    name,
    dtype: 'float32',
    shape,
    bytes: randomTensorBytes(
      'float32',
      shape.reduce((a, b) => a * b, 1),
      random,
    ),
  });
  const tensors: BundleTensor[] = [];
  for (const [name, shape] of [...variables(), ...extra]) {
    tensors.push(float(name, shape));
    if (shape.length === 2)
      tensors.push(
        float(`${name}/Adafactor`, [shape[0] as number]),
        float(`${name}/Adafactor_1`, [shape[1] as number]),
      );
    else tensors.push(float(`${name}/Adafactor`, shape));
  }
  const step = new Uint8Array(8);
  new DataView(step.buffer).setBigInt64(0, 300000n, true);
  tensors.push({ name: 'global_step', dtype: 'int64', shape: [], bytes: step });
  await writeBundle(prefix, tensors);
}

/** The converter's renames, written out: [key, variable, transposed]. */
function table(): [string, string, boolean?][] {
  const rows: [string, string, boolean?][] = [
    ['model.shared.weight', 'pegasus/embeddings/word_embeddings'],
    ['model.encoder.embed_tokens.weight', 'pegasus/embeddings/word_embeddings'],
    ['model.decoder.embed_tokens.weight', 'pegasus/embeddings/word_embeddings'],
    ['lm_head.weight', 'pegasus/embeddings/word_embeddings'],
    ['model.encoder.embed_positions.weight', 'pegasus/embeddings/position_embeddings'],
    ['model.decoder.embed_positions.weight', 'pegasus/embeddings/position_embeddings'],
  ];
  const norm = (k: string, v: string) => rows.push([`${k}.weight`, `${v}/gamma`], [`${k}.bias`, `${v}/beta`]);
  const ffn = (k: string, p: string) => {
    norm(`${k}.final_layer_norm`, `${p}/intermediate/LayerNorm`);
    rows.push(
      [`${k}.fc1.weight`, `${p}/intermediate/dense/kernel`, true],
      [`${k}.fc1.bias`, `${p}/intermediate/dense/bias`],
      [`${k}.fc2.weight`, `${p}/output/dense/kernel`, true],
      [`${k}.fc2.bias`, `${p}/output/dense/bias`],
    );
  };
  for (let l = 0; l < ENC; l++) {
    const [k, p] = [`model.encoder.layers.${l}`, `pegasus/encoder/layer_${l}`];
    for (const q of ['query', 'key', 'value'])
      rows.push([`${k}.self_attn.self.${q}.weight`, `${p}/attention/self/${q}/kernel`, true]);
    rows.push([`${k}.self_attn.output.weight`, `${p}/attention/output/dense/kernel`, true]);
    norm(`${k}.self_attn_layer_norm`, `${p}/attention/self/LayerNorm`);
    ffn(k, p);
  }
  norm('model.encoder.layernorm_embedding', 'pegasus/encoder/LayerNorm');
  for (let l = 0; l < DEC; l++) {
    const [k, p] = [`model.decoder.layers.${l}`, `pegasus/decoder/layer_${l}`];
    for (const [a, tf, out] of [
      ['self_attn', 'self', 'output'],
      ['encoder_attn', 'encdec', 'encdec_output'],
    ] as const) {
      for (const [q, pt] of [
        ['query', 'q_proj'],
        ['key', 'k_proj'],
        ['value', 'v_proj'],
      ])
        rows.push([`${k}.${a}.${pt}.weight`, `${p}/attention/${tf}/${q}/kernel`, true]);
      rows.push([`${k}.${a}.out_proj.weight`, `${p}/attention/${out}/dense/kernel`, true]);
      norm(`${k}.${a}_layer_norm`, `${p}/attention/${tf}/LayerNorm`);
    }
    ffn(k, p);
  }
  norm('model.decoder.layernorm_embedding', 'pegasus/decoder/LayerNorm');
  return rows;
}

function expectedStateDict(tf: Map<string, RawTensor>): Map<string, RawTensor> {
  const out = expectedFrom(tf, table());
  // left as the model constructs it: torch.zeros((1, vocab))
  out.set('final_logits_bias', { dtype: 'float32', shape: [1, V], bytes: new Uint8Array(V * 4) });
  return out;
}

let tmp = '';
let prefix = '';
let flagsPath = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-bigbird-pegasus-'));
  mkdirSync(join(tmp, 'pubmed'));
  prefix = join(tmp, 'pubmed', 'model.ckpt-300000');
  await writeCheckpoint(prefix);
  // flags.save's file, with pegasus_large.sh's model flags at this size
  flagsPath = join(tmp, 'pubmed', 'summarization.config');
  writeFileSync(
    flagsPath,
    JSON.stringify(
      {
        alpha: 0.8,
        attention_probs_dropout_prob: 0.1,
        attention_type: 'block_sparse',
        beam_size: 5,
        block_size: 4,
        couple_encoder_decoder: false,
        hidden_act: 'relu',
        hidden_dropout_prob: 0.1,
        hidden_size: D,
        initializer_range: 0.02,
        intermediate_size: F,
        label_smoothing: 0.1,
        max_decoder_length: 32,
        max_encoder_length: 64,
        max_position_embeddings: P,
        norm_type: 'prenorm',
        num_attention_heads: HEADS,
        num_hidden_layers: ENC,
        num_decoder_layers: DEC,
        num_rand_blocks: 2,
        optimizer: 'Adafactor',
        rescale_embedding: true,
        scope: 'pegasus',
        use_bias: false,
        use_tpu: true,
        vocab_model_file: 'pegasus',
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

test('bigbird_pegasus golden plan: Adafactor slots and global_step skipped, kernels transposed, one position table for both stacks', () => {
  const r = runCli(convertArgs(prefix, join(tmp, 'unused'), '--model_type', 'bigbird_pegasus', '--dry-run'));
  assert.equal(r.code, 0, r.stderr);
  checkGolden('bigbird-pegasus-synthetic-pubmed.plan.txt', r.stdout);
});

test('bigbird_pegasus through the CLI, detected: exact values in PyTorch, config from summarization.config', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'out');
  const r = runCli(convertArgs(prefix, folder, '--format', 'pytorch'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /bigbird_pegasus checkpoint: BigBirdPegasusForConditionalGeneration/);
  assert.match(
    r.stderr,
    /note: transformers' convert_bigbird_pegasus_tf_to_pytorch\.py stops at the first optimizer slot \(pegasus\/\S+\/Adafactor/,
  );
  assert.match(
    r.stderr,
    /note: transformers' script builds BigBirdPegasusConfig\(\) whatever the checkpoint .*vocab_size 24/,
  );
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  assertExactly(loaded, expectedStateDict(await readTfTensors(prefix)));
  assert.equal([...loaded.keys()][0], 'final_logits_bias', "state_dict order: the class's own buffer first");
  const shared = loaded.get('model.shared.weight')?.dataPtr;
  for (const k of ['model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight', 'lm_head.weight'])
    assert.equal(loaded.get(k)?.dataPtr, shared, `${k} is model.shared.weight`);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BigBirdPegasusForConditionalGeneration']);
  assert.equal(config.model_type, 'bigbird_pegasus');
  assert.deepEqual(
    [config.encoder_layers, config.decoder_layers, config.d_model, config.encoder_ffn_dim, config.vocab_size],
    [ENC, DEC, D, F, V],
  );
  assert.deepEqual(
    [config.activation_function, config.block_size, config.num_random_blocks, config.scale_embedding, config.use_bias],
    ['relu', 4, 2, true, false],
  );
  assert.deepEqual([config.num_beams, config.length_penalty, config.max_length], [5, 0.8, 32]);
  assert.equal(config.use_tpu, undefined, 'training flags are not model settings');
});

test('bigbird_pegasus: attention biases are dropped as transformers drops them; use_bias true and post-norm refused', async () => {
  mkdirSync(join(tmp, 'biased'));
  const biased = join(tmp, 'biased', 'model.ckpt-1');
  await writeCheckpoint(biased, [
    ['pegasus/encoder/layer_0/attention/self/query/bias', [D]],
    ['pegasus/decoder/layer_0/attention/encdec_output/dense/bias', [D]],
  ]);
  const r = runCli(convertArgs(biased, join(tmp, 'x'), '--model_type', 'bigbird_pegasus', '--dry-run'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /pegasus\/encoder\/layer_0\/attention\/self\/query\/bias: attention bias: transformers' converter drops it/,
  );
  const flags = JSON.parse(readFileSync(flagsPath, 'utf8'));
  for (const [change, message] of [
    [{ use_bias: true }, /'use_bias' is true, but transformers' converter drops every attention bias/],
    [{ norm_type: 'postnorm' }, /'norm_type' is "postnorm": BigBirdPegasus is the pre-norm model/],
  ] as const) {
    const path = join(tmp, 'changed.config');
    writeFileSync(path, JSON.stringify({ ...flags, ...change }));
    const c = runCli(
      convertArgs(prefix, join(tmp, 'x'), '--model_type', 'bigbird_pegasus', '--config', path, '--dry-run'),
    );
    assert.equal(c.code, 1);
    assert.match(c.stderr, message);
    assert.doesNotMatch(c.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('bigbird_pegasus: a BigBirdPegasusConfig that disagrees with the shapes is refused field by field; none: derived', () => {
  const wrong = join(tmp, 'config.json');
  writeFileSync(wrong, JSON.stringify({ model_type: 'bigbird_pegasus', d_model: 16, encoder_layers: 3 }));
  const r = runCli(
    convertArgs(prefix, join(tmp, 'x'), '--model_type', 'bigbird_pegasus', '--config', wrong, '--dry-run'),
  );
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /d_model: config says 16, checkpoint has 8 \(pegasus\/embeddings\/word_embeddings \[24, 8\]\)/,
  );
  assert.match(r.stderr, /encoder_layers: config says 3, checkpoint has 2/);
  mkdirSync(join(tmp, 'bare'));
  const bare = join(tmp, 'bare', 'model.ckpt-300000');
  for (const ext of ['.index', '.data-00000-of-00001']) writeFileSync(`${bare}${ext}`, readFileSync(`${prefix}${ext}`));
  const d = runCli(convertArgs(bare, join(tmp, 'x'), '--dry-run'));
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /derived from the checkpoint's shapes: vocab_size=24, d_model=8, max_position_embeddings=64/);
  assert.match(d.stderr, /encoder_attention_heads=1 \(d_model \/ 64/);
});

test('bigbird_pegasus is told apart from pegasus; convert --help lists it with its class', () => {
  const pegasus = runCli(convertArgs(prefix, join(tmp, 'x'), '--model_type', 'pegasus', '--dry-run'));
  assert.notEqual(pegasus.code, 0);
  assert.match(pegasus.stderr, /bigbird_pegasus/);
  const help = runCli(['convert', '--help']);
  assert.match(help.stdout, /bigbird_pegasus.*BigBirdPegasusForConditionalGeneration/);
});

test('bigbird_pegasus folder loads in the real transformers: the class, no missing or unexpected key', (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const folder = join(tmp, 'out-hf/');
  const r = runCli(convertArgs(prefix, folder, '--format', 'both'));
  assert.equal(r.code, 0, r.stderr);
  for (const report of loadInTransformers(client, folder)) {
    assert.equal(report.modelClass, 'BigBirdPegasusForConditionalGeneration');
    assert.deepEqual([report.missing, report.unexpected, report.mismatched, report.errors], [[], [], [], []]);
    assert.deepEqual(report.differing, [], `${report.format}: values as written`);
  }
});
