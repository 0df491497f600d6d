/**
 * Pegasus: the training checkpoint of test/support/pegasus-checkpoint.ts (google-research/pegasus's names and
 * its Adafactor slots), in a folder named after its dataset. The expected state dict follows transformers'
 * convert_pegasus_tf_to_pytorch.py (PATTERNS, the transposed kernels, the zeroed padding row, the zero biases,
 * `embed_positions` popped) and modeling_pegasus.py's PegasusForConditionalGeneration; the dataset settings
 * its 2020 configuration_pegasus.py `task_specific_params`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly, expectedFrom } from '../support/original-checkpoint.js';
import { PEGASUS_CONFIG, PEGASUS_SIZES, writePegasusCheckpoint } from '../support/pegasus-checkpoint.js';
import { torchPython } from '../support/python.js';
import { type RawTensor, readTfTensors } from '../support/reference-transforms.js';
import { loadWithTorch } from '../support/torch-load.js';

const { V, D, ENC, DEC } = PEGASUS_SIZES;

/** transformers' PATTERNS, written out: [key, variable, transposed]. */
function table(): [string, string, boolean?][] {
  const rows: [string, string, boolean?][] = [];
  const attention = (k: string, p: string) => {
    for (const [pt, tf] of [
      ['k_proj', 'k_proj'],
      ['v_proj', 'v_proj'],
      ['q_proj', 'q_proj'],
      ['out_proj', 'output_proj'],
    ] as const)
      rows.push([`${k}.${pt}.weight`, `${p}/${tf}/kernel`, true]);
  };
  for (const [s, layers] of [
    ['encoder', ENC],
    ['decoder', DEC],
  ] as const) {
    for (let l = 0; l < layers; l++) {
      const [k, p] = [`model.${s}.layers.${l}`, `${s}/layer_${l}`];
      attention(`${k}.self_attn`, `${p}/self_attention`);
      rows.push(
        [`${k}.self_attn_layer_norm.weight`, `${p}/self_attention/LayerNorm/gamma`],
        [`${k}.self_attn_layer_norm.bias`, `${p}/self_attention/LayerNorm/beta`],
      );
      if (s === 'decoder') {
        attention(`${k}.encoder_attn`, `${p}/memory_attention`);
        rows.push(
          [`${k}.encoder_attn_layer_norm.weight`, `${p}/memory_attention/LayerNorm/gamma`],
          [`${k}.encoder_attn_layer_norm.bias`, `${p}/memory_attention/LayerNorm/beta`],
        );
      }
      rows.push(
        [`${k}.fc1.weight`, `${p}/ffn/dense/kernel`, true],
        [`${k}.fc1.bias`, `${p}/ffn/dense/bias`],
        [`${k}.fc2.weight`, `${p}/ffn/dense_1/kernel`, true],
        [`${k}.fc2.bias`, `${p}/ffn/dense_1/bias`],
        [`${k}.final_layer_norm.weight`, `${p}/ffn/LayerNorm/gamma`],
        [`${k}.final_layer_norm.bias`, `${p}/ffn/LayerNorm/beta`],
      );
    }
    rows.push(
      [`model.${s}.layer_norm.weight`, `${s}/LayerNorm/gamma`],
      [`model.${s}.layer_norm.bias`, `${s}/LayerNorm/beta`],
    );
  }
  return rows;
}

const zeros = (shape: number[]): RawTensor => ({
  dtype: 'float32',
  shape,
  bytes: new Uint8Array(shape.reduce((a, b) => a * b, 1) * 4),
});

/** What the converter saves: the table, the embedding with row `pad` zeroed (and its three ties), zero biases. */
function expectedStateDict(tf: Map<string, RawTensor>, pad: number): Map<string, RawTensor> {
  const out = expectedFrom(tf, table());
  const embedding = tf.get('embeddings/weights') as RawTensor;
  const shared = { ...embedding, bytes: new Uint8Array(embedding.bytes) };
  shared.bytes.fill(0, pad * D * 4, (pad + 1) * D * 4);
  for (const key of [
    'model.shared.weight',
    'model.encoder.embed_tokens.weight',
    'model.decoder.embed_tokens.weight',
    'lm_head.weight',
  ])
    out.set(key, shared);
  out.set('final_logits_bias', zeros([1, V]));
  for (const key of [...out.keys()])
    if (/_attn\.(k|v|q|out)_proj\.weight$/.test(key)) out.set(key.replace(/weight$/, 'bias'), zeros([D]));
  return out;
}

let tmp = '';
let prefix = '';
let configPath = '';
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-pegasus-'));
  mkdirSync(join(tmp, 'xsum'));
  prefix = join(tmp, 'xsum', 'model.ckpt-32000');
  await writePegasusCheckpoint(prefix);
  configPath = join(tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify(PEGASUS_CONFIG));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convertArgs = (checkpoint: string, out: string, ...more: string[]) => [
  'convert',
  '--model_type',
  'pegasus',
  '--tf_checkpoint',
  checkpoint,
  '--pytorch_dump_output',
  out,
  ...more,
];

test('pegasus golden plan: Adafactor slots and global_step skipped, kernels transposed, pad row zeroed, zero biases', () => {
  const r = runCli(convertArgs(prefix, join(tmp, 'unused'), '--config', configPath, '--dry-run'));
  assert.equal(r.code, 0, r.stderr);
  checkGolden('pegasus-synthetic-xsum.plan.txt', r.stdout);
});

test('pegasus through the CLI: PegasusForConditionalGeneration keys with exact values in PyTorch, xsum settings in config.json', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'out-xsum');
  const r = runCli(convertArgs(prefix, folder, '--config', configPath, '--format', 'pytorch'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /dataset 'xsum' \(the checkpoint's folder\): length_penalty 0\.6, max_length 64, max_position_embeddings 512/,
  );
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  assertExactly(loaded, expectedStateDict(await readTfTensors(prefix), 0));
  assert.equal([...loaded.keys()][0], 'final_logits_bias', "state_dict order: the class's own buffer first");
  assert.equal([...loaded.keys()].at(-1), 'lm_head.weight');
  assert.ok(![...loaded.keys()].some((k) => k.includes('embed_positions')), 'sinusoidal tables are not saved');
  const shared = loaded.get('model.shared.weight')?.dataPtr;
  for (const k of ['model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight', 'lm_head.weight'])
    assert.equal(loaded.get(k)?.dataPtr, shared, `${k} is model.shared.weight (one storage)`);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['PegasusForConditionalGeneration']);
  assert.equal(config.model_type, 'pegasus');
  assert.deepEqual(
    [config.length_penalty, config.max_length, config.max_position_embeddings],
    [0.6, 64, 512],
    'xsum in the 2020 task_specific_params',
  );
  assert.deepEqual([config.vocab_size, config.d_model, config.encoder_layers, config.decoder_layers], [V, D, ENC, DEC]);
});

test('pegasus: pad_token_id chooses the zeroed row; the large folder carries the whole task_specific_params', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  mkdirSync(join(tmp, 'large'), { recursive: true });
  const largePrefix = join(tmp, 'large', 'model.ckpt-1500000');
  await writePegasusCheckpoint(largePrefix);
  const config = join(tmp, 'config-pad-3.json');
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), pad_token_id: 3 }));
  const out = join(tmp, 'out-large', 'model.safetensors');
  const r = runCli(convertArgs(largePrefix, out, '--config', config));
  assert.equal(r.code, 0, r.stderr);
  const bin = join(tmp, 'out-large-bin', 'pytorch_model.bin');
  assert.equal(runCli(convertArgs(largePrefix, bin, '--config', config)).code, 0);
  assertExactly(loadWithTorch(python, bin), expectedStateDict(await readTfTensors(largePrefix), 3));
  const written = JSON.parse(readFileSync(join(tmp, 'out-large', 'config.json'), 'utf8'));
  assert.deepEqual([written.length_penalty, written.max_length, written.max_position_embeddings], [0.8, 256, 1024]);
  assert.deepEqual(written.task_specific_params.summarization_gigaword, {
    length_penalty: 0.6,
    max_length: 32,
    max_position_embeddings: 128,
  });
  assert.equal(Object.keys(written.task_specific_params).length, 13);
});

test('pegasus without --config: pegasus-large sizes, refused field by field against the shapes', () => {
  const r = runCli(convertArgs(prefix, join(tmp, 'x'), '--dry-run'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /vocab_size: config says 96103, checkpoint has 12 \(embeddings\/weights \[12, 8\]\)/);
  assert.match(r.stderr, /d_model: config says 1024, checkpoint has 8/);
  assert.match(r.stderr, /encoder_layers: config says 16, checkpoint has 2/);
  assert.match(r.stderr, /decoder_ffn_dim: config says 4096, checkpoint has 16/);
  assert.match(r.stderr, /pegasus-large's sizes: pass the PegasusConfig/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('pegasus: heads that do not divide d_model, and a folder that is no dataset', () => {
  const bad = join(tmp, 'config-heads.json');
  writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), decoder_attention_heads: 3 }));
  const r = runCli(convertArgs(prefix, join(tmp, 'x'), '--config', bad, '--dry-run'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /config-heads\.json: 'decoder_attention_heads' \(3\) does not divide 'd_model' \(8\)/);

  mkdirSync(join(tmp, 'mine'), { recursive: true });
  const other = join(tmp, 'mine', 'model.ckpt-32000');
  for (const ext of ['.index', '.data-00000-of-00001'])
    writeFileSync(`${other}${ext}`, readFileSync(`${prefix}${ext}`));
  const n = runCli(convertArgs(other, join(tmp, 'x'), '--config', configPath, '--dry-run'));
  assert.equal(n.code, 0, n.stderr);
  assert.match(
    n.stderr,
    /folder 'mine' is none of Pegasus's datasets \(xsum, cnn_dailymail, .*\): no dataset generation settings/,
  );
});

test('pegasus without --model_type: recognised by its attention scopes; convert --help lists it with its class', () => {
  const r = runCli(['convert', '--tf_checkpoint', prefix, '--config', configPath, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^model_type: pegasus \(PegasusForConditionalGeneration\)/);
  const help = runCli(['convert', '--help']);
  assert.match(help.stdout, /pegasus.*PegasusForConditionalGeneration/);
});
