/**
 * TAPAS: checkpoints with the names google-research/tapas creates — tapas/models/bert/modeling.py (BertModel under
 * `bert/`, one table per token type `bert/embeddings/token_type_embeddings_{i}` from embedding_postprocessor),
 * tapas/models/tapas_classifier_model.py and tapas_classifier_model_utils.py (root `output_weights` [hidden] and
 * 0-d `output_bias`, `column_output_weights`/`column_output_bias`, `output_weights_agg`/`output_bias_agg`,
 * `output_weights_cls`/`output_bias_cls`), tapas/models/tapas_pretraining_model.py (`cls/predictions/…`,
 * `cls/seq_relationship/…`) and tapas/models/bert/optimization.py (AdamWeightDecayOptimizer's `{param}/adam_m`,
 * `{param}/adam_v`), plus `global_step` — converted through the CLI for each `--task` of transformers'
 * convert_tapas_original_tf_checkpoint_to_pytorch.py, loaded by the real PyTorch and the real transformers.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { detectArchitecture } from '../../src/architectures/detect.js';
import { planConversion } from '../../src/convert/index.js';
import { formatPlan } from '../../src/mapping/index.js';
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
import { readTfTensors } from '../support/reference-transforms.js';
import { loadAllWithTorch } from '../support/torch-load.js';
import { runTransformers, tinyWordPieceVocab, transformersPython } from '../support/transformers.js';

// vocab, width, layers, feed-forward, positions; the token-type tables as TapasConfig sizes them by default
const [V, H, L, I, P] = [20, 8, 2, 16, 16];
const TYPE_VOCAB_SIZES = [3, 256, 256, 2, 256, 256, 10];

/** tapas/models/bert/modeling.py's variables (BertModel, scope `bert`). */
function encoder(): VariableSpec[] {
  const out: VariableSpec[] = [
    ['bert/embeddings/word_embeddings', [V, H]],
    ...TYPE_VOCAB_SIZES.map((rows, i): VariableSpec => [`bert/embeddings/token_type_embeddings_${i}`, [rows, H]]),
    ['bert/embeddings/position_embeddings', [P, H]],
    ['bert/embeddings/LayerNorm/gamma', [H]],
    ['bert/embeddings/LayerNorm/beta', [H]],
  ];
  for (let l = 0; l < L; l++) {
    const p = `bert/encoder/layer_${l}`;
    for (const q of ['query', 'key', 'value'])
      out.push([`${p}/attention/self/${q}/kernel`, [H, H]], [`${p}/attention/self/${q}/bias`, [H]]);
    out.push(
      [`${p}/attention/output/dense/kernel`, [H, H]],
      [`${p}/attention/output/dense/bias`, [H]],
      [`${p}/attention/output/LayerNorm/gamma`, [H]],
      [`${p}/attention/output/LayerNorm/beta`, [H]],
      [`${p}/intermediate/dense/kernel`, [H, I]],
      [`${p}/intermediate/dense/bias`, [I]],
      [`${p}/output/dense/kernel`, [I, H]],
      [`${p}/output/dense/bias`, [H]],
      [`${p}/output/LayerNorm/gamma`, [H]],
      [`${p}/output/LayerNorm/beta`, [H]],
    );
  }
  out.push(['bert/pooler/dense/kernel', [H, H]], ['bert/pooler/dense/bias', [H]]);
  return out;
}

/** compute_token_logits (always created by the classifier model) and compute_column_logits. */
const TOKEN_HEAD: VariableSpec[] = [
  ['output_weights', [H]],
  ['output_bias', []],
];
const COLUMN_HEAD: VariableSpec[] = [
  ['column_output_weights', [H]],
  ['column_output_bias', []],
];

/** The test checkpoints, by the run that leaves them. */
const CHECKPOINTS: Readonly<Record<string, VariableSpec[]>> = {
  // run_task_main.py --task SQA: cell selection only
  sqa: [...encoder(), ...TOKEN_HEAD, ...COLUMN_HEAD],
  // WTQ / WIKISQL_SUPERVISED: num_aggregation_labels = 4
  wtq: [...encoder(), ...TOKEN_HEAD, ...COLUMN_HEAD, ['output_weights_agg', [4, H]], ['output_bias_agg', [4]]],
  // TABFACT (and intermediate pre-training): num_classification_labels = 2, select_one_column off
  tabfact: [...encoder(), ...TOKEN_HEAD, ['output_weights_cls', [2, H]], ['output_bias_cls', [2]]],
  // tapas_pretraining_model.py: masked LM and next sentence
  mlm: [
    ...encoder(),
    ['cls/predictions/transform/dense/kernel', [H, H]],
    ['cls/predictions/transform/dense/bias', [H]],
    ['cls/predictions/transform/LayerNorm/gamma', [H]],
    ['cls/predictions/transform/LayerNorm/beta', [H]],
    ['cls/predictions/output_bias', [V]],
    ['cls/seq_relationship/output_weights', [2, H]],
    ['cls/seq_relationship/output_bias', [2]],
  ],
};

interface Case {
  readonly task: string;
  readonly checkpoint: keyof typeof CHECKPOINTS;
  readonly modelClass: string;
  /** The config settings the script gives the task. */
  readonly settings: Record<string, unknown>;
}

const CASES: readonly Case[] = [
  { task: 'SQA', checkpoint: 'sqa', modelClass: 'TapasForQuestionAnswering', settings: { num_aggregation_labels: 0 } },
  {
    task: 'WTQ',
    checkpoint: 'wtq',
    modelClass: 'TapasForQuestionAnswering',
    settings: {
      num_aggregation_labels: 4,
      use_answer_as_supervision: true,
      answer_loss_cutoff: 0.664694,
      cell_selection_preference: 0.207951,
      huber_loss_delta: 0.121194,
      init_cell_selection_weights_to_zero: true,
      select_one_column: true,
      allow_empty_column_selection: false,
      temperature: 0.0352513,
    },
  },
  {
    task: 'WIKISQL_SUPERVISED',
    checkpoint: 'wtq',
    modelClass: 'TapasForQuestionAnswering',
    settings: {
      num_aggregation_labels: 4,
      use_answer_as_supervision: false,
      answer_loss_cutoff: 36.4519,
      cell_selection_preference: 0.903421,
      huber_loss_delta: 222.088,
      init_cell_selection_weights_to_zero: true,
      select_one_column: true,
      allow_empty_column_selection: true,
      temperature: 0.763141,
    },
  },
  { task: 'TABFACT', checkpoint: 'tabfact', modelClass: 'TapasForSequenceClassification', settings: {} },
  { task: 'MLM', checkpoint: 'mlm', modelClass: 'TapasForMaskedLM', settings: {} },
  { task: 'INTERMEDIATE_PRETRAINING', checkpoint: 'tabfact', modelClass: 'TapasModel', settings: {} },
];

/** The state dict transformers' loader gives, written out key by key: [key, TF variable, transposed]. */
function table(c: Case): [string, string, boolean?][] {
  const at = c.modelClass === 'TapasModel' ? '' : 'tapas.';
  const rows: [string, string, boolean?][] = [];
  if (c.modelClass === 'TapasForQuestionAnswering')
    for (const name of ['output_weights', 'column_output_weights', 'output_bias', 'column_output_bias'])
      rows.push([name, name]);
  rows.push(
    [`${at}embeddings.word_embeddings.weight`, 'bert/embeddings/word_embeddings'],
    [`${at}embeddings.position_embeddings.weight`, 'bert/embeddings/position_embeddings'],
    ...TYPE_VOCAB_SIZES.map((_, i): [string, string] => [
      `${at}embeddings.token_type_embeddings_${i}.weight`,
      `bert/embeddings/token_type_embeddings_${i}`,
    ]),
    [`${at}embeddings.LayerNorm.weight`, 'bert/embeddings/LayerNorm/gamma'],
    [`${at}embeddings.LayerNorm.bias`, 'bert/embeddings/LayerNorm/beta'],
  );
  for (let l = 0; l < L; l++) {
    const [k, p] = [`${at}encoder.layer.${l}`, `bert/encoder/layer_${l}`];
    rows.push(...bertLayerRows(k, p));
  }
  if (c.modelClass !== 'TapasForMaskedLM')
    rows.push(
      [`${at}pooler.dense.weight`, 'bert/pooler/dense/kernel', true],
      [`${at}pooler.dense.bias`, 'bert/pooler/dense/bias'],
    );
  if (c.task === 'WTQ' || c.task === 'WIKISQL_SUPERVISED')
    rows.push(
      ['aggregation_classifier.weight', 'output_weights_agg'],
      ['aggregation_classifier.bias', 'output_bias_agg'],
    );
  if (c.modelClass === 'TapasForSequenceClassification')
    rows.push(['classifier.weight', 'output_weights_cls'], ['classifier.bias', 'output_bias_cls']);
  if (c.modelClass === 'TapasForMaskedLM')
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

/** The release's bert_config.json, `type_vocab_size` a list as in tapas/models/bert/modeling.py's BertConfig. */
const BERT_CONFIG = {
  attention_probs_dropout_prob: 0.1,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: H,
  initializer_range: 0.02,
  intermediate_size: I,
  max_position_embeddings: P,
  num_attention_heads: 2,
  num_hidden_layers: L,
  type_vocab_size: TYPE_VOCAB_SIZES,
  vocab_size: V,
};

let tmp = '';
const prefixOf = (checkpoint: string) => join(tmp, checkpoint, 'model.ckpt');
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tf2torch-tapas-'));
  let seed = 40;
  for (const [name, variables] of Object.entries(CHECKPOINTS)) {
    mkdirSync(join(tmp, name));
    await writeOriginalCheckpoint(prefixOf(name), variables, { seed: seed++, slots: ['adam_m', 'adam_v'] });
    writeFileSync(join(tmp, name, 'bert_config.json'), JSON.stringify(BERT_CONFIG, null, 2));
    writeFileSync(join(tmp, name, 'vocab.txt'), tinyWordPieceVocab(V));
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const convertArgs = (checkpoint: string, out: string, ...more: string[]) => [
  'convert',
  '--tf_checkpoint',
  prefixOf(checkpoint),
  '--pytorch_dump_output',
  out,
  ...more,
];
const outputOf = (c: Case) => join(tmp, 'out', c.task);

const plan = (checkpoint: string, modelOptions: Record<string, string> = {}, config?: string) =>
  planConversion({ checkpoint: prefixOf(checkpoint), modelOptions, ...(config === undefined ? {} : { config }) });

test('tapas golden plans, one per --task: the class, its heads, the other heads and trainer state skipped', async () => {
  for (const c of CASES) {
    const planned = await plan(c.checkpoint, { task: c.task });
    checkGolden(`tapas-synthetic.${c.task.toLowerCase()}.plan.txt`, formatPlan(planned.plan));
  }
});

test('tapas every --task through the CLI: the class, the settings of the script, exact values in PyTorch (scalar biases 0-d)', async (t) => {
  for (const c of CASES) {
    const r = runCli(convertArgs(c.checkpoint, outputOf(c), '--task', c.task, '--format', 'both'));
    assert.equal(r.code, 0, `${c.task}: ${r.stderr}`);
    const config = JSON.parse(readFileSync(join(outputOf(c), 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, [c.modelClass], c.task);
    for (const [field, value] of Object.entries(c.settings))
      assert.deepEqual(config[field], value, `${c.task} ${field}`);
    // read as TapasConfig.from_json_file reads bert_config.json: the list kept under its own name
    assert.deepEqual([config.type_vocab_size, config.type_vocab_sizes], [TYPE_VOCAB_SIZES, TYPE_VOCAB_SIZES]);
    assert.equal(config.reset_position_index_per_cell, false, 'the script leaves it false without its flag');
    if (c.task === 'SQA')
      assert.match(readFileSync(join(outputOf(c), 'README.md'), 'utf8'), /^pipeline_tag: table-question-answering$/m);
    // the script's TapasTokenizer(vocab_file=…vocab.txt, model_max_length=512), as save_pretrained records it
    const tokenizer = JSON.parse(readFileSync(join(outputOf(c), 'tokenizer_config.json'), 'utf8'));
    assert.deepEqual(
      [tokenizer.tokenizer_class, tokenizer.model_max_length, tokenizer.additional_special_tokens],
      ['TapasTokenizer', 512, ['[EMPTY]']],
    );
  }
  const python = torchPython(t);
  if (!python) return;
  const loaded = loadAllWithTorch(python, [
    ...CASES.map((c) => join(outputOf(c), 'pytorch_model.bin')),
    join(outputOf(CASES[0]!), 'model.safetensors'),
  ]);
  const tf = new Map<string, Awaited<ReturnType<typeof readTfTensors>>>();
  for (const name of Object.keys(CHECKPOINTS)) tf.set(name, await readTfTensors(prefixOf(name)));
  CASES.forEach((c, i) => {
    assertExactly(loaded[i]!, expectedFrom(tf.get(c.checkpoint)!, table(c)));
  });
  assertExactly(loaded[CASES.length]!, expectedFrom(tf.get('sqa')!, table(CASES[0]!)));
  assert.deepEqual(loaded[0]!.get('output_bias')?.shape, [], 'a 0-d bias stays 0-d');
});

/**
 * Every folder loaded by its config's class in one interpreter: the loading info and the values as written; and
 * the config transformers' own script makes for the task (its weight loading and tokenizer, which need TensorFlow
 * and pandas, stubbed out) compared with ours field by field.
 */
const LOAD_ALL = String.raw`
import contextlib, io, json, logging, sys, tempfile, warnings
import torch, transformers
from transformers import AutoConfig
from transformers.models.tapas import convert_tapas_original_tf_checkpoint_to_pytorch as script
script.load_tf_weights_in_tapas = lambda model, config, path: model
class NoTokenizer:
    def __init__(self, **kwargs): pass
    def save_pretrained(self, path): pass
script.TapasTokenizer = NoTokenizer
transformers.logging.set_verbosity_warning()
out = []
args = sys.argv[1:]
for folder, task, bert_config in zip(args[0::3], args[1::3], args[2::3]):
    without_version = lambda c: {k: v for k, v in c.to_dict().items() if k not in ('transformers_version', '_name_or_path')}
    with tempfile.TemporaryDirectory() as theirs, contextlib.redirect_stdout(io.StringIO()):
        script.convert_tf_checkpoint_to_pytorch(task, False, 'unused/model.ckpt', bert_config, theirs)
        expected_config = without_version(AutoConfig.from_pretrained(theirs))
    messages = []
    class Capture(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())
    handler = Capture(logging.WARNING)
    transformers.logging.get_logger().addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        config = AutoConfig.from_pretrained(folder)
        cls = getattr(transformers, config.architectures[0])
        model, info = cls.from_pretrained(folder, output_loading_info=True)
    transformers.logging.get_logger().removeHandler(handler)
    ours = without_version(config)
    weights = torch.load(folder + '/pytorch_model.bin', map_location='cpu', weights_only=True)
    loaded = model.state_dict()
    out.append({
        'modelClass': type(model).__name__,
        'missing': sorted(info['missing_keys']), 'unexpected': sorted(info['unexpected_keys']),
        'mismatched': [str(m) for m in info['mismatched_keys']],
        'warnings': messages + [str(w.message) for w in caught],
        'differing': [k for k, v in weights.items() if k not in loaded or not torch.equal(loaded[k], v)],
        'sameKeys': sorted(weights) == sorted(loaded),
        'typeVocabSizes': config.type_vocab_sizes, 'aggregation': config.num_aggregation_labels,
        'temperature': config.temperature, 'reset': config.reset_position_index_per_cell,
        'configFieldsUnlikeTheScripts': sorted(k for k in set(ours) | set(expected_config)
                                               if ours.get(k, 'absent') != expected_config.get(k, 'absent')),
    })
print(json.dumps(out))
`;

test('tapas every --task loads in the real transformers 4.29.2 as its class: no missing, unexpected or mismatched key', (t) => {
  const client = transformersPython(t);
  if (!client) return;
  for (const c of CASES)
    if (!readFileSync(join(outputOf(c), 'config.json'), 'utf8')) assert.fail(`${c.task} was not converted`);
  const reports = JSON.parse(
    runTransformers(
      client,
      LOAD_ALL,
      CASES.flatMap((c) => [outputOf(c), c.task, join(tmp, c.checkpoint, 'bert_config.json')]),
    ),
  ) as Record<string, unknown>[];
  CASES.forEach((c, i) => {
    assert.deepEqual(
      reports[i],
      {
        modelClass: c.modelClass,
        missing: [],
        unexpected: [],
        mismatched: [],
        warnings: [],
        differing: [],
        sameKeys: true,
        typeVocabSizes: TYPE_VOCAB_SIZES,
        aggregation: c.settings.num_aggregation_labels ?? 0,
        temperature: c.settings.temperature ?? 1,
        reset: false,
        configFieldsUnlikeTheScripts: [],
      },
      c.task,
    );
  });
});

const listing = (variables: readonly VariableSpec[]): TensorInfo[] =>
  variables.map(([name, shape]) => ({ name, dtype: 'float32', shape }));

test('tapas detection: the numbered token-type tables tell TAPAS from BERT, whose names it shares; the head names the class', () => {
  const recognised = (variables: readonly VariableSpec[]) => {
    const d = detectArchitecture({ listing: listing(variables), format: 'tf-bundle-v2', hasSidecar: () => true });
    assert.equal(d.kind, 'recognised');
    if (d.kind !== 'recognised') return [];
    // one head found: inspect names one class, not "and 1 more head"
    if (d.recognition.modelClass !== 'BertForPreTraining') assert.equal(d.recognition.heads.length, 1);
    return [d.recognition.architecture.modelType, d.recognition.modelClass];
  };
  assert.deepEqual(recognised(CHECKPOINTS.sqa!), ['tapas', 'TapasForQuestionAnswering']);
  assert.deepEqual(recognised(CHECKPOINTS.wtq!), ['tapas', 'TapasForQuestionAnswering']);
  assert.deepEqual(recognised(CHECKPOINTS.tabfact!), ['tapas', 'TapasForSequenceClassification']);
  assert.deepEqual(recognised(CHECKPOINTS.mlm!), ['tapas', 'TapasForMaskedLM']);
  // google-research/bert's BertModel: one unnumbered token-type table
  const bert = encoder()
    .filter(([name]) => !/token_type_embeddings_\d+$/.test(name))
    .concat([['bert/embeddings/token_type_embeddings', [2, H]]]);
  assert.deepEqual(recognised(bert), ['bert', 'BertForPreTraining']);
});

test('tapas without --task: the heads choose and a note says so; WTQ and WikiSQL share a head, so it is asked for; --reset_position_index_per_cell', async () => {
  for (const [checkpoint, task, modelClass] of [
    ['sqa', 'SQA', 'TapasForQuestionAnswering'],
    ['tabfact', 'TABFACT', 'TapasForSequenceClassification'],
    ['mlm', 'MLM', 'TapasForMaskedLM'],
  ] as const) {
    const planned = await plan(checkpoint);
    assert.deepEqual(planned.config.architectures, [modelClass]);
    assert.match(planned.notes.join('\n'), new RegExp(`no --task given: .*, so --task ${task} \\(${modelClass}\\)`));
  }
  const relative = await plan('sqa', { task: 'SQA', reset_position_index_per_cell: 'true' });
  assert.equal(relative.config.reset_position_index_per_cell, true, '--reset_position_index_per_cell sets it');
  await assert.rejects(plan('wtq'), {
    code: 'E_CONFIG',
    message: /aggregation head output_weights_agg \[4, 8\].*give --task WTQ or --task WIKISQL_SUPERVISED/,
  });
});

test('tapas refuses a --task the heads contradict, an unknown --task, and a type_vocab_size list TapasConfig would not use', async () => {
  await assert.rejects(plan('wtq', { task: 'SQA' }), {
    code: 'E_CONFIG',
    message: /^--task SQA has no aggregation, but the checkpoint has the aggregation head output_weights_agg/,
  });
  await assert.rejects(plan('sqa', { task: 'WTQ' }), {
    code: 'E_CONFIG',
    message: /^--task WTQ predicts aggregations, but the checkpoint has no aggregation head/,
  });
  await assert.rejects(plan('sqa', { task: 'sqa' }), {
    code: 'E_USAGE',
    message: /^--task sqa: expected one of SQA, WTQ, WIKISQL_SUPERVISED, TABFACT, MLM, INTERMEDIATE_PRETRAINING$/,
  });
  const config = join(tmp, 'other-types.json');
  writeFileSync(config, JSON.stringify({ ...BERT_CONFIG, type_vocab_size: [3, 256, 256, 2, 256, 256, 8] }));
  await assert.rejects(plan('sqa', {}, config), {
    code: 'E_CONFIG',
    message:
      /type_vocab_size \[3, 256, 256, 2, 256, 256, 8\] differs from type_vocab_sizes \[3, 256, 256, 2, 256, 256, 10\]/,
  });
});

test('convert --help lists tapas with its classes and its two flags', () => {
  const r = runCli(['convert', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /tapas .*TapasForQuestionAnswering .*TapasForSequenceClassification .*TapasForMaskedLM .*TapasModel/,
  );
  assert.match(r.stdout, /--task SQA\|WTQ\|WIKISQL_SUPERVISED\|TABFACT\|MLM\|INTERMEDIATE_PRETRAINING/);
  assert.match(r.stdout, /--reset_position_index_per_cell/);
});
