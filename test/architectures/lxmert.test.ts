/**
 * LXMERT: the original release (airsplay/lxmert) is PyTorch; a TF checkpoint of it carries the original's
 * module scopes, which transformers' load_tf_weights_in_lxmert (models/lxmert/modeling_lxmert.py) walks:
 * - the module tree of src/lxrt/modeling.py: LXRTPretraining's backbone `bert` (LXRTModel: embeddings,
 *   encoder, pooler), `cls` (BertPreTrainingHeads), `obj_predict_head` (BertVisualObjHead: transform,
 *   decoder_dict obj/attr/feat, as --visualLosses chooses), `answer_head` (BertVisualAnswerHead: logit_fc,
 *   an nn.Sequential of Linear, GeLU, LayerNorm, Linear); LXRTEncoder's visn_fc (VisualFeatEncoder), the
 *   ModuleLists `layer`, `x_layers` (LXRTXLayer: visual_attention, lang_self_att, visn_self_att,
 *   lang_inter, lang_output, visn_inter, visn_output), `r_layers`;
 * - spelled as google-research/bert's modeling.py spells TF variables (`kernel`/`bias`, `LayerNorm/gamma`,
 *   `beta`, `*_embeddings`, `layer_{n}`, `cls/predictions/output_bias`, `cls/seq_relationship/output_weights`),
 *   a ModuleList index being a scope of its own (`x_layers/0`: the walker splits only `[A-Za-z]+_\d+`);
 * - the backbone as transformers' walker requires it (`lxmert/`) or as the original names it (`bert/`);
 * - with optimization.py's AdamWeightDecayOptimizer slots `{param}/adam_m`, `{param}/adam_v` and `global_step`,
 *   which the walker skips by name.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { checkGolden } from '../support/golden.js';
import {
  assertExactly,
  expectedFrom,
  type VariableSpec,
  writeOriginalCheckpoint,
} from '../support/original-checkpoint.js';
import { torchPython } from '../support/python.js';
import { readTfTensors } from '../support/reference-transforms.js';
import { loadWithTorch } from '../support/torch-load.js';
import { assertWordPieceTokenizer, tinyWordPieceVocab } from '../support/transformers.js';

// vocab, hidden, intermediate, positions, token types, visual feature / box widths, QA / object / attribute labels
const [V, H, I, P, T, F, B, QA, OBJ, ATTR] = [20, 8, 12, 10, 2, 6, 4, 5, 7, 3];

interface Shape {
  readonly backbone: 'lxmert' | 'bert';
  /** language, cross-modality, vision layers */
  readonly layers: readonly [number, number, number];
  /** `layer_{n}` (BERT's spelling) or `layer/{n}` (a ModuleList index as a scope) */
  readonly language: 'layer_' | 'layer/';
  /** BertVisualObjHead's decoders (--visualLosses), none: no object head (--taskObjPredict off) */
  readonly decoders: readonly ('obj' | 'attr' | 'feat')[];
  readonly answerHead: boolean;
}

const FULL: Shape = {
  backbone: 'lxmert',
  layers: [2, 2, 1],
  language: 'layer_',
  decoders: ['obj', 'attr', 'feat'],
  answerHead: true,
};
// the original's backbone name, no QA head, object and attribute decoders only, no vision layers
const ORIGINAL: Shape = {
  backbone: 'bert',
  layers: [1, 1, 0],
  language: 'layer_',
  decoders: ['obj', 'attr'],
  answerHead: false,
};

const DECODER_WIDTH = { obj: OBJ, attr: ATTR, feat: F } as const;

const dense = (scope: string, inp: number, out: number): VariableSpec[] => [
  [`${scope}/kernel`, [inp, out]],
  [`${scope}/bias`, [out]],
];
const gammaBeta = (scope: string, size: number): VariableSpec[] => [
  [`${scope}/gamma`, [size]],
  [`${scope}/beta`, [size]],
];
const norm = (scope: string, size: number) => gammaBeta(`${scope}/LayerNorm`, size);
const attention = (scope: string): VariableSpec[] =>
  ['query', 'key', 'value'].flatMap((q) => dense(`${scope}/${q}`, H, H));
const attOutput = (scope: string): VariableSpec[] => [...dense(`${scope}/dense`, H, H), ...norm(scope, H)];
const bertLayer = (p: string): VariableSpec[] => [
  ...attention(`${p}/attention/self`),
  ...attOutput(`${p}/attention/output`),
  ...dense(`${p}/intermediate/dense`, H, I),
  ...dense(`${p}/output/dense`, I, H),
  ...norm(`${p}/output`, H),
];

function variables(s: Shape): VariableSpec[] {
  const b = s.backbone;
  const out: VariableSpec[] = [
    [`${b}/embeddings/word_embeddings`, [V, H]],
    [`${b}/embeddings/position_embeddings`, [P, H]],
    [`${b}/embeddings/token_type_embeddings`, [T, H]],
    ...norm(`${b}/embeddings`, H),
    ...dense(`${b}/encoder/visn_fc/visn_fc`, F, H),
    ...gammaBeta(`${b}/encoder/visn_fc/visn_layer_norm`, H),
    ...dense(`${b}/encoder/visn_fc/box_fc`, B, H),
    ...gammaBeta(`${b}/encoder/visn_fc/box_layer_norm`, H),
  ];
  for (let l = 0; l < s.layers[0]; l++) out.push(...bertLayer(`${b}/encoder/${s.language}${l}`));
  for (let x = 0; x < s.layers[1]; x++) {
    const p = `${b}/encoder/x_layers/${x}`;
    out.push(...attention(`${p}/visual_attention/att`), ...attOutput(`${p}/visual_attention/output`));
    for (const m of ['lang', 'visn'])
      out.push(
        ...attention(`${p}/${m}_self_att/self`),
        ...attOutput(`${p}/${m}_self_att/output`),
        ...dense(`${p}/${m}_inter/dense`, H, I),
        ...dense(`${p}/${m}_output/dense`, I, H),
        ...norm(`${p}/${m}_output`, H),
      );
  }
  for (let r = 0; r < s.layers[2]; r++) out.push(...bertLayer(`${b}/encoder/r_layers/${r}`));
  out.push(
    ...dense(`${b}/pooler/dense`, H, H),
    ['cls/predictions/output_bias', [V]],
    ...dense('cls/predictions/transform/dense', H, H),
    ...norm('cls/predictions/transform', H),
    ['cls/seq_relationship/output_weights', [2, H]],
    ['cls/seq_relationship/output_bias', [2]],
  );
  if (s.decoders.length > 0)
    out.push(
      ...dense('obj_predict_head/transform/dense', H, H),
      ...norm('obj_predict_head/transform', H),
      ...s.decoders.flatMap((d) => dense(`obj_predict_head/decoder_dict/${d}`, H, DECODER_WIDTH[d])),
    );
  if (s.answerHead)
    out.push(
      ...dense('answer_head/logit_fc/0', H, 2 * H),
      ...gammaBeta('answer_head/logit_fc/2', 2 * H),
      ...dense('answer_head/logit_fc/3', 2 * H, QA),
    );
  return out;
}

/** LxmertForPreTraining's state dict key → TF variable (transposed?), written out per module. */
function table(s: Shape): [string, string, boolean?][] {
  const b = s.backbone;
  const rows: [string, string, boolean?][] = [
    ['lxmert.embeddings.word_embeddings.weight', `${b}/embeddings/word_embeddings`],
    ['lxmert.embeddings.position_embeddings.weight', `${b}/embeddings/position_embeddings`],
    ['lxmert.embeddings.token_type_embeddings.weight', `${b}/embeddings/token_type_embeddings`],
    ['lxmert.embeddings.LayerNorm.weight', `${b}/embeddings/LayerNorm/gamma`],
    ['lxmert.embeddings.LayerNorm.bias', `${b}/embeddings/LayerNorm/beta`],
  ];
  const lin = (key: string, tf: string) =>
    rows.push([`${key}.weight`, `${tf}/kernel`, true], [`${key}.bias`, `${tf}/bias`]);
  const gb = (key: string, tf: string) => rows.push([`${key}.weight`, `${tf}/gamma`], [`${key}.bias`, `${tf}/beta`]);
  const nrm = (key: string, tf: string) => gb(`${key}.LayerNorm`, `${tf}/LayerNorm`);
  const att = (key: string, tf: string) => {
    for (const q of ['query', 'key', 'value']) lin(`${key}.${q}`, `${tf}/${q}`);
  };
  const bertLayerRows = (k: string, p: string) => {
    att(`${k}.attention.self`, `${p}/attention/self`);
    lin(`${k}.attention.output.dense`, `${p}/attention/output/dense`);
    nrm(`${k}.attention.output`, `${p}/attention/output`);
    lin(`${k}.intermediate.dense`, `${p}/intermediate/dense`);
    lin(`${k}.output.dense`, `${p}/output/dense`);
    nrm(`${k}.output`, `${p}/output`);
  };
  lin('lxmert.encoder.visn_fc.visn_fc', `${b}/encoder/visn_fc/visn_fc`);
  gb('lxmert.encoder.visn_fc.visn_layer_norm', `${b}/encoder/visn_fc/visn_layer_norm`);
  lin('lxmert.encoder.visn_fc.box_fc', `${b}/encoder/visn_fc/box_fc`);
  gb('lxmert.encoder.visn_fc.box_layer_norm', `${b}/encoder/visn_fc/box_layer_norm`);
  for (let l = 0; l < s.layers[0]; l++) bertLayerRows(`lxmert.encoder.layer.${l}`, `${b}/encoder/${s.language}${l}`);
  for (let x = 0; x < s.layers[1]; x++) {
    const [k, p] = [`lxmert.encoder.x_layers.${x}`, `${b}/encoder/x_layers/${x}`];
    att(`${k}.visual_attention.att`, `${p}/visual_attention/att`);
    lin(`${k}.visual_attention.output.dense`, `${p}/visual_attention/output/dense`);
    nrm(`${k}.visual_attention.output`, `${p}/visual_attention/output`);
    for (const m of ['lang', 'visn']) {
      att(`${k}.${m}_self_att.self`, `${p}/${m}_self_att/self`);
      lin(`${k}.${m}_self_att.output.dense`, `${p}/${m}_self_att/output/dense`);
      nrm(`${k}.${m}_self_att.output`, `${p}/${m}_self_att/output`);
      lin(`${k}.${m}_inter.dense`, `${p}/${m}_inter/dense`);
      lin(`${k}.${m}_output.dense`, `${p}/${m}_output/dense`);
      nrm(`${k}.${m}_output`, `${p}/${m}_output`);
    }
  }
  for (let r = 0; r < s.layers[2]; r++) bertLayerRows(`lxmert.encoder.r_layers.${r}`, `${b}/encoder/r_layers/${r}`);
  lin('lxmert.pooler.dense', `${b}/pooler/dense`);
  rows.push(['cls.predictions.bias', 'cls/predictions/output_bias']);
  lin('cls.predictions.transform.dense', 'cls/predictions/transform/dense');
  nrm('cls.predictions.transform', 'cls/predictions/transform');
  // tied: LxmertLMPredictionHead's decoder is the word embedding table
  rows.push(['cls.predictions.decoder.weight', `${b}/embeddings/word_embeddings`]);
  rows.push(['cls.seq_relationship.weight', 'cls/seq_relationship/output_weights']);
  rows.push(['cls.seq_relationship.bias', 'cls/seq_relationship/output_bias']);
  if (s.decoders.length > 0) {
    lin('obj_predict_head.transform.dense', 'obj_predict_head/transform/dense');
    nrm('obj_predict_head.transform', 'obj_predict_head/transform');
    for (const d of s.decoders) lin(`obj_predict_head.decoder_dict.${d}`, `obj_predict_head/decoder_dict/${d}`);
  }
  if (s.answerHead) {
    lin('answer_head.logit_fc.0', 'answer_head/logit_fc/0');
    gb('answer_head.logit_fc.2', 'answer_head/logit_fc/2');
    lin('answer_head.logit_fc.3', 'answer_head/logit_fc/3');
  }
  return rows;
}

let tmp = '';
/** `{tmp}/{folder}/model.ckpt`, its folder created. */
function checkpointIn(folder: string): string {
  mkdirSync(join(tmp, folder), { recursive: true });
  return join(tmp, folder, 'model.ckpt');
}
const prefixes = { full: '', original: '' };
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-lxmert-'));
  prefixes.full = checkpointIn('full');
  prefixes.original = checkpointIn('original');
  await writeOriginalCheckpoint(prefixes.full, variables(FULL), { seed: 21, slots: ['adam_m', 'adam_v'] });
  await writeOriginalCheckpoint(prefixes.original, variables(ORIGINAL), { seed: 22, slots: ['adam_m', 'adam_v'] });
  writeFileSync(join(tmp, 'full', 'vocab.txt'), tinyWordPieceVocab(V));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convertArgs = (prefix: string, ...more: string[]) => [
  'convert',
  '--model_type',
  'lxmert',
  '--tf_checkpoint',
  prefix,
  ...more,
];

/** transformers' LxmertConfig of the FULL checkpoint, as its conversion script takes it. */
const FULL_CONFIG = {
  hidden_size: H,
  intermediate_size: I,
  l_layers: 2,
  max_position_embeddings: P,
  num_attention_heads: 2,
  num_attr_labels: ATTR,
  num_object_labels: OBJ,
  num_qa_labels: QA,
  r_layers: 1,
  type_vocab_size: T,
  visual_feat_dim: F,
  visual_pos_dim: B,
  vocab_size: V,
  x_layers: 2,
};

test('lxmert golden plans: every module of LxmertForPreTraining, the decoder tied, trainer state skipped', () => {
  for (const [prefix, golden] of [
    [prefixes.full, 'lxmert-synthetic.plan.txt'],
    [prefixes.original, 'lxmert-synthetic.bert-scope.plan.txt'],
  ] as const) {
    const r = runCli(convertArgs(prefix, '--dry-run'));
    assert.equal(r.code, 0, r.stderr);
    checkGolden(golden, r.stdout);
  }
});

test('lxmert without a config: LxmertForPreTraining, exact values in PyTorch, config derived and said so', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'out-full');
  const r = runCli(convertArgs(prefixes.full, '--pytorch_dump_output', folder, '--format', 'pytorch'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /note: no config given: derived from the checkpoint's shapes: .*hidden_size=8.*visual_feat_dim=6, visual_pos_dim=4, l_layers=2, x_layers=2, r_layers=1, task_obj_predict=true, task_qa=true/,
  );
  assert.match(r.stderr, /assumed .*num_attention_heads=1 \(heads of 64/);
  assert.doesNotMatch(r.stderr, /backbone scope bert\//);
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  assertExactly(loaded, expectedFrom(await readTfTensors(prefixes.full), table(FULL)));
  assert.equal(
    loaded.get('cls.predictions.decoder.weight')?.dataPtr,
    loaded.get('lxmert.embeddings.word_embeddings.weight')?.dataPtr,
    'cls.predictions.decoder.weight is the word embedding table (one storage)',
  );
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['LxmertForPreTraining']);
  assert.equal(config.model_type, 'lxmert');
  assert.deepEqual(
    [config.l_layers, config.x_layers, config.r_layers, config.num_qa_labels, config.num_object_labels],
    [2, 2, 1, QA, OBJ],
  );
  assert.deepEqual(config.num_hidden_layers, { cross_encoder: 2, language: 2, vision: 1 });
  assert.equal(readFileSync(join(folder, 'vocab.txt'), 'utf8').split('\n').length, V);
  assertWordPieceTokenizer(t, folder, 'LxmertTokenizer');
});

test("lxmert with the original's bert/ scope and fewer heads, no --model_type: recognised, heads read from the checkpoint", async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const folder = join(tmp, 'out-original');
  const r = runCli([
    'convert',
    '--tf_checkpoint',
    prefixes.original,
    '--pytorch_dump_output',
    folder,
    '--format',
    'pytorch',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: lxmert checkpoint: LxmertForPreTraining \(detected from /);
  assert.match(
    r.stderr,
    /note: backbone scope bert\/ \(the original LXRTPretraining's name for it\) mapped to lxmert\.…, beyond transformers' walker/,
  );
  assert.match(r.stderr, /r_layers=0, task_obj_predict=true, task_qa=false, visual_obj_loss=true/);
  const loaded = loadWithTorch(python, join(folder, 'pytorch_model.bin'));
  assertExactly(loaded, expectedFrom(await readTfTensors(prefixes.original), table(ORIGINAL)));
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.deepEqual(
    [config.task_qa, config.visual_obj_loss, config.visual_attr_loss, config.visual_feat_loss, config.r_layers],
    [false, true, true, false, 0],
  );
});

test('lxmert: language layers spelled layer/{n} (a ModuleList index as a scope, as the walker reads it) give the same keys', async () => {
  const prefix = checkpointIn('slash');
  await writeOriginalCheckpoint(prefix, variables({ ...FULL, language: 'layer/' }), { seed: 23 });
  const keysOf = (out: string) => out.split('\n').filter((l) => /^ {2}\S/.test(l));
  const slash = runCli(convertArgs(prefix, '--dry-run'));
  assert.equal(slash.code, 0, slash.stderr);
  assert.match(slash.stdout, /<- lxmert\/encoder\/layer\/1\/output\/LayerNorm\/beta \[8\] float32/);
  const underscore = runCli(convertArgs(prefixes.full, '--dry-run'));
  const outputs = (s: string) => keysOf(s.split('\n\nskipped')[0]!);
  assert.deepEqual(outputs(slash.stdout), outputs(underscore.stdout));
});

test("lxmert with transformers' config: accepted when it describes the checkpoint, refused field by field when not", () => {
  const good = join(tmp, 'config.json');
  // as save_pretrained writes it, with the dict LxmertConfig derives
  writeFileSync(
    good,
    JSON.stringify({ ...FULL_CONFIG, num_hidden_layers: { cross_encoder: 2, language: 2, vision: 1 } }),
  );
  const ok = runCli(convertArgs(prefixes.full, '--config', good, '--dry-run'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotMatch(ok.stderr, /derived/);

  const wrong = join(tmp, 'wrong-config.json');
  writeFileSync(wrong, JSON.stringify({ ...FULL_CONFIG, x_layers: 5, num_qa_labels: 9500, task_qa: undefined }));
  const r = runCli(convertArgs(prefixes.original, '--config', wrong, '--dry-run'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /x_layers: config says 5, checkpoint has 1 \(bert\/encoder\/x_layers\/\{n\}\/\)/);
  assert.match(r.stderr, /task_qa: config says true, checkpoint has false \(answer_head\/ absent\)/);
  assert.match(r.stderr, /visual_feat_loss: config says true, checkpoint has false/);

  const heads = join(tmp, 'heads-config.json');
  writeFileSync(heads, JSON.stringify({ ...FULL_CONFIG, num_attention_heads: 3 }));
  const h = runCli(convertArgs(prefixes.full, '--config', heads, '--dry-run'));
  assert.equal(h.code, 1);
  assert.match(h.stderr, /hidden_size 8 is not a multiple of num_attention_heads 3/);

  // layer counts are bounded before a plan lists keys per layer, the derived dict value by value
  const huge = join(tmp, 'huge-config.json');
  writeFileSync(huge, JSON.stringify({ ...FULL_CONFIG, x_layers: 1e9, num_hidden_layers: { language: -1 } }));
  const big = runCli(convertArgs(prefixes.full, '--config', huge, '--dry-run'));
  assert.equal(big.code, 1);
  assert.match(big.stderr, /'x_layers' is 1000000000: a whole number from 0 to 10000 is expected/);
  assert.match(big.stderr, /'num_hidden_layers' is \{"language":-1\}: a whole number/);
});

test('lxmert: a missing cross-modality tensor is refused naming its key; a stack spelled x_layers_{n} is refused by name', async () => {
  const missing = checkpointIn('missing');
  const lost = 'lxmert/encoder/x_layers/1/visual_attention/att/key/kernel';
  await writeOriginalCheckpoint(
    missing,
    variables(FULL).filter(([name]) => name !== lost),
    { seed: 24, slots: ['adam_m', 'adam_v'] },
  );
  const r = runCli(convertArgs(missing, '--pytorch_dump_output', join(tmp, 'never', 'pytorch_model.bin')));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /lxmert\.encoder\.x_layers\.1\.visual_attention\.att\.key\.weight/);
  assert.match(r.stderr, /required, but no checkpoint variable maps to it/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');

  // transformers' walker cannot split `x_layers_0` (`[A-Za-z]+_\d+` does not match it) and fails on it too
  const underscored = checkpointIn('underscored');
  await writeOriginalCheckpoint(
    underscored,
    variables(FULL).map(([name, shape]) => [name.replace('/x_layers/', '/x_layers_'), shape] as const),
    { seed: 25 },
  );
  const u = runCli(convertArgs(underscored, '--dry-run'));
  assert.equal(u.code, 1);
  assert.match(u.stderr, /- lxmert\/encoder\/x_layers_0\/\S+ \[.*\] float32: no rule of 'lxmert' maps this variable/);

  // both backbone spellings at once: two sources for one key
  const both = checkpointIn('both');
  await writeOriginalCheckpoint(both, [...variables(FULL), ['bert/embeddings/word_embeddings', [V, H]]], { seed: 26 });
  const d = runCli(convertArgs(both, '--dry-run'));
  assert.equal(d.code, 1);
  assert.match(
    d.stderr,
    /lxmert\.embeddings\.word_embeddings\.weight: produced twice, from lxmert\/embeddings\/word_embeddings and from bert\/embeddings\/word_embeddings/,
  );
});

test('lxmert is listed by convert --help with its class; inspect names it; bert and lxmert checkpoints each keep their type', () => {
  const help = runCli(['convert', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^ {2}lxmert +.*→ LxmertForPreTraining$/m);
  const inspected = runCli(['inspect', prefixes.full]);
  assert.equal(inspected.code, 0, inspected.stderr);
  assert.match(inspected.stdout, /^lxmert checkpoint: LxmertForPreTraining; 340 optimizer slots$/m);
  const asBert = runCli(['convert', '--model_type', 'bert', '--tf_checkpoint', prefixes.original, '--dry-run']);
  assert.equal(asBert.code, 1);
  assert.match(asBert.stderr, /look like a lxmert checkpoint/);
});
