/**
 * ConvBERT: pre-training checkpoints with the names yitu-opensource/ConvBert creates — model/modeling.py (BertModel on
 * ELECTRA's scopes: `electra/embeddings/…` shared with the generator, `{electra|generator}/embeddings_project`,
 * `{scope}/encoder/layer_{n}/…`; attention_layer's `conv_attn_key` (tf.layers.separable_conv1d: `depthwise_kernel`
 * [k, hidden, 1], `pointwise_kernel` [1, hidden, all_head], `bias`), `conv_attn_kernel`, `conv_attn_point`; GDense's
 * `g_dense/kernel` [groups, in / groups, out / groups] when linear_groups > 1), run_pretraining.py
 * (`generator_predictions/…`, `discriminator_predictions/{dense,dense_1}`) and model/optimization.py
 * (AdamWeightDecayOptimizer's `{param}/adam_m`, `{param}/adam_v`, `global_step`) — converted through the CLI to
 * ConvBertModel and loaded by the real PyTorch.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { detectArchitecture } from '../../src/architectures/detect.js';
import type { TensorInfo } from '../../src/mapping/types.js';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly, type VariableSpec, writeOriginalCheckpoint } from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { type RawTensor, readTfTensors, transpose2d } from '../support/reference-transforms.js';
import { loadWithTorch } from '../support/torch-load.js';
import { assertWordPieceTokenizer, tinyWordPieceVocab } from '../support/transformers.js';

// vocab, positions, discriminator hidden (4 heads, head_ratio 2: 2 reduced heads of 4, all_head 8), kernel, layers
const [V, P, H, HEADS, A, K, L] = [20, 16, 16, 4, 8, 3, 2];
const I = 4 * H;

interface Layout {
  readonly dir: string;
  /** Embedding width (medium-small and small: 128 against a wider hidden size; base: the hidden size). */
  readonly E: number;
  /** linear_groups */
  readonly G: number;
}
const MEDIUM_SMALL: Layout = { dir: 'medium-small', E: 8, G: 2 };
const BASE: Layout = { dir: 'base', E: H, G: 1 };

const dense = (scope: string, inp: number, out: number): VariableSpec[] => [
  [`${scope}/kernel`, [inp, out]],
  [`${scope}/bias`, [out]],
];
const norm = (scope: string, size: number): VariableSpec[] => [
  [`${scope}/LayerNorm/gamma`, [size]],
  [`${scope}/LayerNorm/beta`, [size]],
];
const feedForward = (scope: string, inp: number, out: number, G: number): VariableSpec[] =>
  G === 1
    ? dense(`${scope}/dense`, inp, out)
    : [
        [`${scope}/g_dense/kernel`, [G, inp / G, out / G]],
        [`${scope}/g_dense/bias`, [out]],
      ];

/** One network: `{scope}/embeddings_project` when widths differ, then its layers. */
function network(scope: string, { E, G }: Layout, h: number, allHead: number, reducedHeads: number): VariableSpec[] {
  const out: VariableSpec[] = E === h ? [] : dense(`${scope}/embeddings_project`, E, h);
  for (let l = 0; l < L; l++) {
    const p = `${scope}/encoder/layer_${l}`;
    out.push(
      ...['query', 'key', 'value'].flatMap((q) => dense(`${p}/attention/self/${q}`, h, allHead)),
      [`${p}/attention/self/conv_attn_key/depthwise_kernel`, [K, h, 1]],
      [`${p}/attention/self/conv_attn_key/pointwise_kernel`, [1, h, allHead]],
      [`${p}/attention/self/conv_attn_key/bias`, [allHead]],
      ...dense(`${p}/attention/self/conv_attn_kernel`, allHead, reducedHeads * K),
      ...dense(`${p}/attention/self/conv_attn_point`, h, allHead),
      ...dense(`${p}/attention/output/dense`, h, h),
      ...norm(`${p}/attention/output`, h),
      ...feedForward(`${p}/intermediate`, h, 4 * h, G),
      ...feedForward(`${p}/output`, 4 * h, h, G),
      ...norm(`${p}/output`, h),
    );
  }
  return out;
}

function variables(layout: Layout): VariableSpec[] {
  const { E } = layout;
  return [
    ['electra/embeddings/word_embeddings', [V, E]],
    ['electra/embeddings/position_embeddings', [P, E]],
    ['electra/embeddings/token_type_embeddings', [2, E]],
    ...norm('electra/embeddings', E),
    ...network('electra', layout, H, A, HEADS / 2),
    // the generator: a quarter of the width (8: 2 heads, 1 reduced head of 4)
    ...network('generator', layout, 8, 4, 1),
    ...dense('generator_predictions/dense', 8, E),
    ...norm('generator_predictions', E),
    ['generator_predictions/output_bias', [V]],
    ...dense('discriminator_predictions/dense', H, H),
    ...dense('discriminator_predictions/dense_1', H, 1),
  ];
}

/** `tensor.permute(axes)` of a 3-D tensor, element by element. */
function permute3(t: RawTensor, axes: readonly [number, number, number]): RawTensor {
  const shape = axes.map((a) => t.shape[a] as number);
  const inStrides = [(t.shape[1] as number) * (t.shape[2] as number), t.shape[2] as number, 1];
  const out = new Uint8Array(t.bytes.length);
  let o = 0;
  for (let i = 0; i < (shape[0] as number); i++)
    for (let j = 0; j < (shape[1] as number); j++)
      for (let k = 0; k < (shape[2] as number); k++) {
        const index = [0, 0, 0];
        index[axes[0]] = i;
        index[axes[1]] = j;
        index[axes[2]] = k;
        const from = index.reduce((sum, x, n) => sum + x * (inStrides[n] as number), 0) * 4;
        out.set(t.bytes.subarray(from, from + 4), o);
        o += 4;
      }
  return { dtype: t.dtype, shape, bytes: out };
}

/** ConvBertModel's state dict as transformers' loader fills it, key by key. */
function expected(tf: ReadonlyMap<string, RawTensor>, { E, G }: Layout): Map<string, RawTensor> {
  const get = (name: string) => {
    const t = tf.get(name);
    assert.ok(t, name);
    return t;
  };
  const out = new Map<string, RawTensor>();
  const linear = (key: string, scope: string) => {
    out.set(`${key}.weight`, transpose2d(get(`${scope}/kernel`)));
    out.set(`${key}.bias`, get(`${scope}/bias`));
  };
  const layerNorm = (key: string, scope: string) => {
    out.set(`${key}.weight`, get(`${scope}/LayerNorm/gamma`));
    out.set(`${key}.bias`, get(`${scope}/LayerNorm/beta`));
  };
  for (const table of ['word', 'position', 'token_type'])
    out.set(`embeddings.${table}_embeddings.weight`, get(`electra/embeddings/${table}_embeddings`));
  layerNorm('embeddings.LayerNorm', 'electra/embeddings');
  if (E !== H) linear('embeddings_project', 'electra/embeddings_project');
  for (let l = 0; l < L; l++) {
    const [k, p] = [`encoder.layer.${l}`, `electra/encoder/layer_${l}`];
    for (const q of ['query', 'key', 'value']) linear(`${k}.attention.self.${q}`, `${p}/attention/self/${q}`);
    const bias = get(`${p}/attention/self/conv_attn_key/bias`);
    out.set(`${k}.attention.self.key_conv_attn_layer.bias`, { ...bias, shape: [A, 1] });
    out.set(
      `${k}.attention.self.key_conv_attn_layer.depthwise.weight`,
      permute3(get(`${p}/attention/self/conv_attn_key/depthwise_kernel`), [1, 2, 0]),
    );
    out.set(
      `${k}.attention.self.key_conv_attn_layer.pointwise.weight`,
      permute3(get(`${p}/attention/self/conv_attn_key/pointwise_kernel`), [2, 1, 0]),
    );
    linear(`${k}.attention.self.conv_kernel_layer`, `${p}/attention/self/conv_attn_kernel`);
    linear(`${k}.attention.self.conv_out_layer`, `${p}/attention/self/conv_attn_point`);
    linear(`${k}.attention.output.dense`, `${p}/attention/output/dense`);
    layerNorm(`${k}.attention.output.LayerNorm`, `${p}/attention/output`);
    for (const part of ['intermediate', 'output']) {
      if (G === 1) linear(`${k}.${part}.dense`, `${p}/${part}/dense`);
      else {
        out.set(`${k}.${part}.dense.weight`, get(`${p}/${part}/g_dense/kernel`));
        out.set(`${k}.${part}.dense.bias`, get(`${p}/${part}/g_dense/bias`));
      }
    }
    layerNorm(`${k}.output.LayerNorm`, `${p}/output`);
  }
  return out;
}

let tmp = '';
const prefixOf = (layout: Layout) => join(tmp, layout.dir, 'model.ckpt-1000');

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-convbert-'));
  for (const [seed, layout] of [MEDIUM_SMALL, BASE].entries()) {
    mkdirSync(join(tmp, layout.dir));
    await writeOriginalCheckpoint(prefixOf(layout), variables(layout), {
      seed: 40 + seed,
      slots: ['adam_m', 'adam_v'],
    });
    writeFileSync(join(tmp, layout.dir, 'vocab.txt'), tinyWordPieceVocab(V));
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('convbert golden plans: convolution kernels permuted, grouped kernels kept, generator, heads and trainer state skipped', () => {
  for (const [layout, golden] of [
    [MEDIUM_SMALL, 'convbert-synthetic-grouped.plan.txt'],
    [BASE, 'convbert-synthetic.plan.txt'],
  ] as const) {
    const r = runCli(['convert', '--tf_checkpoint', prefixOf(layout), '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /note: convbert checkpoint: ConvBertModel \(detected from /);
    checkGolden(golden, r.stdout);
  }
});

test('convbert without a config: ConvBertModel, exact values in PyTorch, every size (heads, head ratio, groups) from the shapes', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  for (const layout of [MEDIUM_SMALL, BASE]) {
    const folder = join(tmp, `${layout.dir}-out`);
    const r = runCli([
      'convert',
      '--tf_checkpoint',
      prefixOf(layout),
      '--pytorch_dump_output',
      folder,
      '--format',
      'pytorch',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /note: no config given: derived from the checkpoint's shapes: /);
    assertExactly(
      loadWithTorch(python, join(folder, 'pytorch_model.bin')),
      expected(await readTfTensors(prefixOf(layout)), layout),
    );
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    assert.deepEqual(
      [
        config.architectures,
        config.embedding_size,
        config.hidden_size,
        config.num_attention_heads,
        config.head_ratio,
        config.conv_kernel_size,
        config.num_groups,
        config.intermediate_size,
        config.num_hidden_layers,
      ],
      [['ConvBertModel'], layout.E, H, HEADS, 2, K, layout.G, I, L],
      layout.dir,
    );
  }
  assertWordPieceTokenizer(t, join(tmp, `${MEDIUM_SMALL.dir}-out`), 'ConvBertTokenizer');
});

test("convbert: transformers' ConvBertConfig is checked against the shapes field by field", () => {
  const config = join(tmp, 'wrong-config.json');
  writeFileSync(
    config,
    JSON.stringify({ embedding_size: 8, hidden_size: H, num_attention_heads: 8, num_groups: 1, vocab_size: V }),
  );
  const r = runCli(['convert', '--tf_checkpoint', prefixOf(MEDIUM_SMALL), '--config', config, '--dry-run']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /num_attention_heads: config says 8, checkpoint has 4 \(electra\/encoder\/layer_0\/attention\/self\/conv_attn_kernel/,
  );
  assert.match(
    r.stderr,
    /num_groups: config says 1, checkpoint has 2 \(electra\/encoder\/layer_0\/intermediate\/g_dense\/kernel \[2, 8, 32\]\)/,
  );
});

test('convbert detection: the convolution tells ConvBERT from ELECTRA, whose scopes it shares', () => {
  const listing = (specs: readonly VariableSpec[]): TensorInfo[] =>
    specs.map(([name, shape]) => ({ name, dtype: 'float32', shape: [...shape] }));
  const detect = (specs: readonly VariableSpec[]) => {
    const d = detectArchitecture({ listing: listing(specs), format: 'tf-bundle-v2', hasSidecar: () => false });
    return d.kind === 'recognised' ? d.recognition.architecture.modelType : d.kind;
  };
  assert.equal(detect(variables(BASE)), 'convbert');
  assert.equal(detect(variables(MEDIUM_SMALL)), 'convbert');
  // the same scopes without the convolution: an ELECTRA checkpoint
  assert.equal(detect(variables(BASE).filter(([name]) => !/\/conv_attn_/.test(name))), 'electra');
});
