/**
 * BigBird's TriviaQA release: a TF2 SavedModel of tensorflow/models' TriviaQaModel, written here with the
 * names its code creates — official/projects/triviaqa/modeling.py (TriviaQaHead `trivia_qa_head`: Dense
 * `dense` and LayerNormalization `layer_normalization` and Dense `dense_1` built in __init__, the output
 * Dense built later in build() under a scratch graph, so `dense` again and the last of the head's variables),
 * official/projects/bigbird/encoder.py (BigBirdEncoder: `word_embeddings`, `position_embedding`,
 * `type_embeddings` with `embeddings` weights, `embeddings/layer_norm`, TransformerScaffold layers
 * `transformer_scaffold`, `transformer_scaffold_1`, … with `big_bird_attention/{query,key,value,
 * attention_output}` (EinsumDense kernels [hidden, heads, head_dim] and [heads, head_dim, hidden]),
 * `self_attention_layer_norm`, `intermediate`, `output`, `output_layer_norm`). The folder holds what
 * tensorflow's saved_model/save.py writes: saved_model.pb (SavedModel → MetaGraphDef.object_graph_def, a
 * SavedObjectGraph whose variables carry their op name, `var.name` without `:0`; the root's `variables` list in Keras' order;
 * function nodes after the trackables) and variables/ (a bundle keyed by first breadth-first paths, with its
 * TrackableObjectGraph on the same node ids). Expected values follow transformers 4.29.2's
 * load_tf_weights_in_big_bird(is_trivia_qa=True), written out below.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import { assertExactly } from '../support/original-checkpoint.js';
import { bytesField, intField, textField } from '../support/protobuf-wire.js';
import { torchPython } from '../support/python.js';
import { seededRandom } from '../support/random.js';
import type { RawTensor } from '../support/reference-transforms.js';
import {
  type BundleTensor,
  encodeShape,
  encodeStringTensor,
  randomTensorBytes,
  writeBundle,
} from '../support/tf-bundle-writer.js';
import { encodeObjectGraph, type GraphNode } from '../support/tf2-checkpoint.js';
import { loadWithTorch } from '../support/torch-load.js';
import { transformersPython } from '../support/transformers.js';
import { loadInTransformers } from '../support/transformers-load.js';

// vocabulary, width, feed-forward width, positions, token types (BigBirdEncoder's 16), heads, layers
const [V, H, I, P, T, HEADS, LAYERS] = [20, 8, 16, 32, 16, 2, 2];
const D = H / HEADS;

/** A trackable: its named children in order, or a variable (`var.name`, shape). */
interface Obj {
  readonly children: [string, Obj][];
  readonly variable?: { readonly name: string; readonly shape: readonly number[] };
}
const object = (...children: [string, Obj][]): Obj => ({ children });
const variable = (name: string, shape: readonly number[]): Obj => ({ children: [], variable: { name, shape } });

/** A Keras layer object holding its weights as attributes; its variables in creation order. */
function layer(scope: string, weights: [string, readonly number[]][]): Obj {
  return object(...weights.map(([w, shape]): [string, Obj] => [w, variable(`${scope}/${w}:0`, shape)]));
}

/** The model: encoder, head, and the flat `.variables` list Keras saves in its own order. */
function model(): { root: Obj; variables: Obj[] } {
  const dense = (scope: string, inDim: number, outDim: number) =>
    layer(scope, [
      ['kernel', [inDim, outDim]],
      ['bias', [outDim]],
    ]);
  const norm = (scope: string) =>
    layer(scope, [
      ['gamma', [H]],
      ['beta', [H]],
    ]);
  const encoderLayers: Obj[] = [
    layer('word_embeddings', [['embeddings', [V, H]]]),
    layer('position_embedding', [['embeddings', [P, H]]]),
    layer('type_embeddings', [['embeddings', [T, H]]]),
    norm('embeddings/layer_norm'),
  ];
  for (let l = 0; l < LAYERS; l++) {
    const s = l === 0 ? 'transformer_scaffold' : `transformer_scaffold_${l}`;
    const qkv = (p: string): [string, Obj] => [
      `_${p}_dense`,
      layer(`${s}/big_bird_attention/${p}`, [
        ['kernel', [H, HEADS, D]],
        ['bias', [HEADS, D]],
      ]),
    ];
    const attention = object(qkv('query'), qkv('key'), qkv('value'), [
      '_output_dense',
      layer(`${s}/big_bird_attention/attention_output`, [
        ['kernel', [HEADS, D, H]],
        ['bias', [H]],
      ]),
    ]);
    encoderLayers.push(
      object(
        ['_attention_layer', attention],
        ['_attention_layer_norm', norm(`${s}/self_attention_layer_norm`)],
        ['_intermediate_dense', dense(`${s}/intermediate`, H, I)],
        ['_output_dense', dense(`${s}/output`, I, H)],
        ['_output_layer_norm', norm(`${s}/output_layer_norm`)],
      ),
    );
  }
  const encoder = object(...encoderLayers.map((o, i): [string, Obj] => [`layer_with_weights-${i}`, o]));
  const head = object(
    ['_intermediate_dense', dense('trivia_qa_head/dense', H, I)],
    ['_output_layer_norm', norm('trivia_qa_head/layer_normalization')],
    ['_logits_dense', dense('trivia_qa_head/dense_1', H, 2)],
    ['_output_dense', dense('trivia_qa_head/dense', I, H)],
  );
  const variables: Obj[] = [];
  const collect = (o: Obj) => {
    if (o.variable) variables.push(o);
    for (const [, c] of o.children) collect(c);
  };
  collect(encoder);
  collect(head);
  const root = object(
    ['layer_with_weights-0', encoder],
    ['layer_with_weights-1', head],
    ['_encoder', encoder],
    ['variables', object(...variables.map((v, i): [string, Obj] => [String(i), v]))],
    ['keras_api', object()],
  );
  return { root, variables };
}

/**
 * The SavedModel folder. Node ids by breadth-first traversal (checkpoint/util.py), shared by both graphs;
 * checkpoint keys the first path to each variable; `functions` extra function nodes after the trackables.
 */
function breadthFirst(root: Obj) {
  const ids = new Map<Obj, number>([[root, 0]]);
  const order: Obj[] = [root];
  const paths = new Map<Obj, string>([[root, '']]);
  for (let i = 0; i < order.length; i++) {
    const o = order[i]!;
    for (const [name, c] of o.children) {
      if (ids.has(c)) continue;
      ids.set(c, order.length);
      order.push(c);
      paths.set(c, paths.get(o) === '' ? name : `${paths.get(o)}/${name}`);
    }
  }
  return { ids, order, paths };
}

/** `mismatched`: saved_model.pb from a model with one more object, so that its ids are not the checkpoint's. */
async function writeSavedModel(dir: string, seed: number, { functions = 2, mismatched = false } = {}) {
  const { root, variables } = model();
  const { ids, order, paths } = breadthFirst(root);
  const random = seededRandom(seed);
  const values = new Map<Obj, RawTensor>();
  const tensors: BundleTensor[] = [];
  const checkpointNodes: GraphNode[] = order.map((o) => {
    const children = o.children.map(([localName, c]) => ({ nodeId: ids.get(c)!, localName }));
    if (!o.variable) return { children, attributes: [], slotVariables: [] };
    const shape = [...o.variable.shape];
    const bytes = randomTensorBytes(
      'float32',
      shape.reduce((a, b) => a * b, 1),
      random,
    );
    const key = `${paths.get(o)}/.ATTRIBUTES/VARIABLE_VALUE`;
    values.set(o, { dtype: 'float32', shape, bytes });
    tensors.push({ name: key, dtype: 'float32', shape, bytes });
    const fullName = o.variable.name.slice(0, -2);
    return { children, attributes: [{ name: 'VARIABLE_VALUE', fullName, checkpointKey: key }], slotVariables: [] };
  });
  tensors.push({
    name: '_CHECKPOINTABLE_OBJECT_GRAPH',
    dtype: 'string',
    shape: [],
    bytes: encodeStringTensor([encodeObjectGraph(checkpointNodes)]),
  });
  mkdirSync(join(dir, 'variables'), { recursive: true });
  await writeBundle(join(dir, 'variables', 'variables'), tensors);
  // SavedObject: children 1 {node_id 1, local_name 2}; user_object 4 {identifier 1}; function 6;
  // variable 7 {dtype 1, shape 2, trainable 3, name 6}
  const saved = breadthFirst(mismatched ? object(['extra', object()], ...root.children) : root);
  const savedNodes = saved.order.map((o, id) => {
    const children = o.children.flatMap(([n, c]) =>
      bytesField(1, [...intField(1, saved.ids.get(c)!), ...textField(2, n)]),
    );
    if (id === 0)
      for (let f = 0; f < functions; f++)
        children.push(...bytesField(1, [...intField(1, saved.order.length + f), ...textField(2, `__fn_${f}`)]));
    const kind = o.variable
      ? bytesField(7, [
          ...intField(1, 1),
          ...bytesField(2, encodeShape(o.variable.shape)),
          ...intField(3, 1),
          ...textField(6, o.variable.name.slice(0, -':0'.length)),
        ])
      : bytesField(4, textField(1, '_tf_keras_layer'));
    return bytesField(1, [...children, ...kind]);
  });
  for (let f = 0; f < functions; f++) savedNodes.push(bytesField(1, bytesField(6, [])));
  const metaGraph = [...bytesField(1, bytesField(4, Buffer.from('serve'))), ...bytesField(7, savedNodes.flat())];
  writeFileSync(join(dir, 'saved_model.pb'), Uint8Array.from([...intField(1, 1), ...bytesField(2, metaGraph)]));
  return { variables: variables.map((v) => ({ name: v.variable!.name, value: values.get(v)! })) };
}

/** numpy's `a.transpose(axes)` of a float32 array. */
function permute(t: RawTensor, axes: number[]): RawTensor {
  const shape = axes.map((a) => t.shape[a] as number);
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const src = new Float32Array(new Uint8Array(t.bytes).buffer);
  const out = new Float32Array(src.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let n = 0; n < out.length; n++) {
    let from = 0;
    for (let d = 0; d < shape.length; d++) from += index[d]! * strides[axes[d]!]!;
    out[n] = src[from]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]! += 1;
      if (index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return { dtype: 'float32', shape, bytes: new Uint8Array(out.buffer) };
}

/**
 * load_tf_weights_in_big_bird(is_trivia_qa=True), written out: each `.variables` entry by position → its key
 * and what is done to it (kernels np.transpose'd; 3-D attention kernels then transpose(1, 0, 2) or
 * (0, 2, 1) and reshaped; [heads, head_dim] biases reshaped).
 */
function expected(variables: readonly { name: string; value: RawTensor }[]): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  let at = 0;
  const take = (key: string, how: 'same' | 't' | 'qkv' | 'out' | 'flat' = 'same') => {
    const v = variables[at++]!.value;
    const value =
      how === 't'
        ? permute(v, [1, 0])
        : how === 'qkv'
          ? { ...permute(permute(v, [2, 1, 0]), [1, 0, 2]), shape: [H, H] }
          : how === 'out'
            ? { ...permute(permute(v, [2, 1, 0]), [0, 2, 1]), shape: [H, H] }
            : how === 'flat'
              ? { ...v, shape: [H] }
              : v;
    out.set(key, value);
  };
  take('bert.embeddings.word_embeddings.weight');
  take('bert.embeddings.position_embeddings.weight');
  take('bert.embeddings.token_type_embeddings.weight');
  take('bert.embeddings.LayerNorm.weight');
  take('bert.embeddings.LayerNorm.bias');
  for (let l = 0; l < LAYERS; l++) {
    const k = `bert.encoder.layer.${l}`;
    for (const q of ['query', 'key', 'value']) {
      take(`${k}.attention.self.${q}.weight`, 'qkv');
      take(`${k}.attention.self.${q}.bias`, 'flat');
    }
    take(`${k}.attention.output.dense.weight`, 'out');
    take(`${k}.attention.output.dense.bias`);
    take(`${k}.attention.output.LayerNorm.weight`);
    take(`${k}.attention.output.LayerNorm.bias`);
    take(`${k}.intermediate.dense.weight`, 't');
    take(`${k}.intermediate.dense.bias`);
    take(`${k}.output.dense.weight`, 't');
    take(`${k}.output.dense.bias`);
    take(`${k}.output.LayerNorm.weight`);
    take(`${k}.output.LayerNorm.bias`);
  }
  take('qa_classifier.intermediate.dense.weight', 't');
  take('qa_classifier.intermediate.dense.bias');
  take('qa_classifier.output.LayerNorm.weight');
  take('qa_classifier.output.LayerNorm.bias');
  take('qa_classifier.qa_outputs.weight', 't');
  take('qa_classifier.qa_outputs.bias');
  take('qa_classifier.output.dense.weight', 't'); // the last two: the head's second `dense`
  take('qa_classifier.output.dense.bias');
  assert.equal(at, variables.length);
  return out;
}

let tmp = '';
let savedModel = '';
let variables: { name: string; value: RawTensor }[] = [];
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-bigbird-trivia-'));
  savedModel = join(tmp, 'bigbird_trivia_qa');
  ({ variables } = await writeSavedModel(savedModel, 29));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convert = (input: string, out: string, ...more: string[]) =>
  runCli(['convert', '--tf_checkpoint', input, '--pytorch_dump_output', out, ...more]);

test('TriviaQA golden plan: the renamed variables, 3-D attention kernels reshaped then transposed, the head', () => {
  const r = convert(savedModel, join(tmp, 'unused'), '--dry-run');
  assert.equal(r.code, 0, r.stderr);
  checkGolden('big-bird-trivia-qa.plan.txt', r.stdout);
});

test('TriviaQA SavedModel through the CLI: BigBirdForQuestionAnswering by var.name in .variables order, exact values in PyTorch', (t) => {
  const python = torchPython(t);
  if (!python) return;
  // keys are variables/N: sorted in the bundle, 10 before 2; the order that counts is the list's
  assert.ok(variables.length > 10);
  const folder = join(tmp, 'out');
  const r = convert(savedModel, folder, '--format', 'pytorch');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /a TF2 SavedModel: its 45 variables read in tf\.saved_model\.load\(…\)\.variables order/);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BigBirdForQuestionAnswering']);
  assert.deepEqual(
    [config.vocab_size, config.hidden_size, config.intermediate_size, config.max_position_embeddings],
    [V, H, I, P],
  );
  assert.deepEqual([config.type_vocab_size, config.num_attention_heads, config.num_hidden_layers], [T, HEADS, LAYERS]);
  assertExactly(loadWithTorch(python, join(folder, 'pytorch_model.bin')), expected(variables));
  // --model_type big_bird (and its alias) read it the same way
  const named = join(tmp, 'named.bin');
  const n = convert(join(savedModel, 'saved_model.pb'), named, '--model_type', 'bigbird');
  assert.equal(n.code, 0, n.stderr);
  assertExactly(loadWithTorch(python, named), expected(variables));
});

test('TriviaQA: a saved_model.pb that does not belong to variables/, or is cut short, is refused naming it', async () => {
  const other = join(tmp, 'mismatched');
  await writeSavedModel(other, 3, { mismatched: true });
  const r = convert(other, join(tmp, 'bad.bin'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /error\[E_MALFORMED\].*saved_model\.pb: variables\[\d+\] \(object \d+\) .*do not belong together/,
  );
  const cut = join(tmp, 'cut');
  await writeSavedModel(cut, 3);
  const graph = readFileSync(join(cut, 'saved_model.pb'));
  writeFileSync(join(cut, 'saved_model.pb'), graph.subarray(0, graph.length - 7));
  const c = convert(cut, join(tmp, 'cut.bin'));
  assert.equal(c.code, 1, c.stderr);
  assert.match(c.stderr, /error\[E_\w+\].*saved_model\.pb/);
  assert.doesNotMatch(c.stderr, /\n\s+at /, 'no stack trace');
});

test('TriviaQA folder loads in the real transformers as BigBirdForQuestionAnswering, values as written', (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const folder = join(tmp, 'out-hf/');
  const r = convert(savedModel, folder, '--format', 'both');
  assert.equal(r.code, 0, r.stderr);
  for (const report of loadInTransformers(client, folder)) {
    assert.equal(report.modelClass, 'BigBirdForQuestionAnswering');
    // position_ids: a buffer the class ignores when missing (_keys_to_ignore_on_load_missing)
    assert.deepEqual([report.missing, report.unexpected, report.mismatched, report.errors], [[], [], [], []]);
    assert.deepEqual(report.differing, [], `${report.format}: values as written`);
  }
});
