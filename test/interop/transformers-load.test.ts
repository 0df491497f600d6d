/**
 * No false alarms: every real fixture that converts (index-only ones with synthesized data) is converted to a
 * folder with `--format both` and loaded in the real transformers from both weight files: the class config.json
 * names, no missing, unexpected or mismatched keys, nothing logged at WARNING ("newly initialized", "You should
 * probably TRAIN"), and every value as written; so are each model type's test checkpoints (where the test writes
 * a tokenizer's files beside one, AutoTokenizer loads the folder's tokenizer too). The one exception is a true
 * alarm: keys the checkpoint lacks, which the summary already reported as left to from_pretrained.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { writeTf2Encoder, writeTf2Pretrainer, writeTf2TokenDropping } from '../support/bert-tf2-checkpoints.js';
import { runCli } from '../support/cli.js';
import { realFixture } from '../support/fixtures.js';
import { type GoldenListing, writeGoldenCheckpoint } from '../support/golden-listing.js';
import { writeGptNeoCheckpoint } from '../support/gpt-neo-checkpoint.js';
import { FUNNEL_NET_CONFIG, WRITE_OPENAI_GPT_RELEASE, WRITE_XLM_CHECKPOINT } from '../support/original-releases.js';
import { PEGASUS_CONFIG, writePegasusCheckpoint } from '../support/pegasus-checkpoint.js';
import { numpyPython, runPython, torchPython } from '../support/python.js';
import { tempDir } from '../support/temp.js';
import { synthesizeFromIndex } from '../support/tf-bundle-writer.js';
import {
  assertWordPieceTokenizer,
  loadTokenizer,
  type TransformersClient,
  tinyWordPieceVocab,
  trainSentencePiece,
  transformersPython,
} from '../support/transformers.js';
import { type LoadReport, loadInTransformers } from '../support/transformers-load.js';

interface Case {
  readonly fixture: string;
  /** The checkpoint inside the fixture folder (the folder itself when absent). */
  readonly checkpoint?: string;
  /** Index only: data synthesized from the real index under this prefix name. */
  readonly synthesize?: string;
  /** Files beside the checkpoint that the conversion reads (copied next to synthesized data). */
  readonly sidecars?: readonly string[];
  readonly modelClass: string;
  /** A false alarm not fixed yet: the test runs and reports, as a todo. */
  readonly todo?: string;
}

/**
 * Warnings a class's constructor gives whatever the weights (the same for a model built from its config alone):
 * not about our output.
 */
const CLASS_WARNINGS: readonly RegExp[] = [/^DeprecationWarning: The output of TransfoXL will be updated in v5/];

/**
 * Keys the checkpoint truly lacks, which the summary reported as left to from_pretrained (an XLNet fine-tuning
 * checkpoint has no mask_emb): transformers rightly initialises them, and says so for exactly these.
 */
const reportedAbsent = (summary: string) =>
  [...summary.matchAll(/^ {2}not in the checkpoint \(from_pretrained initialises it\): (\S+)$/gm)].map(
    (m) => m[1] as string,
  );

function assertLoadsCleanly(reports: readonly LoadReport[], label: string, modelClass: string, summary: string): void {
  assert.equal(reports.length, 2);
  const absent = reportedAbsent(summary).sort();
  const trueAlarm = `newly initialized: [${absent.map((k) => `'${k}'`).join(', ')}]\n`;
  for (const report of reports) {
    const what = `${label} from ${report.format}`;
    assert.equal(report.modelClass, modelClass, what);
    assert.deepEqual(
      { missing: report.missing, unexpected: report.unexpected, mismatched: report.mismatched },
      { missing: absent, unexpected: [], mismatched: [] },
      what,
    );
    assert.deepEqual(report.errors, [], what);
    const warnings = report.warnings.filter(
      (w) => !CLASS_WARNINGS.some((p) => p.test(w)) && !(absent.length > 0 && w.includes(trueAlarm)),
    );
    assert.deepEqual(warnings, [], `${what}: transformers warned`);
    assert.deepEqual(report.differing, [], `${what}: values differ from the file's`);
  }
}

const CASES: readonly Case[] = [
  { fixture: 'bert-tiny-keras-bert', checkpoint: 'bert_model.ckpt', modelClass: 'BertForPreTraining' },
  { fixture: 'gpt2-toy-keras-gpt-2', modelClass: 'GPT2Model' },
  { fixture: 'xlnet-tiny-untied-lmhead', checkpoint: 'xlnet_model.ckpt', modelClass: 'XLNetLMHeadModel' },
  { fixture: 'transfo-xl-tiny-div-1', modelClass: 'TransfoXLLMHeadModel' },
  { fixture: 'transfo-xl-tiny-div-2', modelClass: 'TransfoXLLMHeadModel' },
  {
    fixture: 'albert-small-zh-google-indexonly',
    synthesize: 'albert_model.ckpt',
    sidecars: ['albert_config.json'],
    modelClass: 'AlbertForPreTraining',
  },
  {
    fixture: 't5-mtf-tiny-indexonly',
    synthesize: 'model.ckpt-0',
    sidecars: ['operative_config.gin', 'model-info.txt'],
    modelClass: 'T5ForConditionalGeneration',
  },
];

for (const c of CASES) {
  const name = `${c.fixture}: the folder (--format both) loads in the real transformers as ${c.modelClass}, no missing/unexpected keys, no warning`;
  test(name, c.todo === undefined ? {} : { todo: c.todo }, async (t) => {
    const dir = realFixture(t, c.fixture);
    if (!dir) return;
    const client = transformersPython(t);
    if (!client) return;
    const tmp = tempDir(t, 'hf-load');
    let checkpoint = join(dir, c.checkpoint ?? '');
    if (c.synthesize !== undefined) {
      mkdirSync(join(tmp, 'in'));
      checkpoint = join(tmp, 'in', c.synthesize);
      await synthesizeFromIndex(join(dir, `${c.synthesize}.index`), checkpoint, { seed: 23 });
      for (const s of c.sidecars ?? []) copyFileSync(join(dir, s), join(tmp, 'in', s));
    }
    const out = join(tmp, 'out/');
    const r = runCli(['convert', '--tf_checkpoint', checkpoint, '--pytorch_dump_output', out, '--format', 'both']);
    assert.equal(r.code, 0, r.stderr);
    assertLoadsCleanly(loadInTransformers(client, out), c.fixture, c.modelClass, r.stdout);
  });
}

/**
 * Each model type's test checkpoint, as its architecture test writes it: the variables of its reviewed golden
 * plan, with seeded values. Flags as the golden was made with.
 */
const SYNTHETIC: readonly {
  golden: string;
  flags?: readonly string[];
  /** The release's config file beside the checkpoint, where no shape shows it (Funnel's block sizes). */
  sidecar?: { name: string; config: object };
}[] = [
  { golden: 'bert-run-classifier-3-labels.plan.txt' },
  { golden: 'bert-run-squad.plan.txt' },
  { golden: 'bert-without-lm-bias.plan.txt' },
  { golden: 'nvidia-bert-lamb-accum-amp.plan.txt' },
  { golden: 'albert-classifier-1-label.plan.txt' },
  { golden: 'albert-squad-v1.plan.txt' },
  { golden: 'electra-synthetic.discriminator.plan.txt', flags: ['--discriminator_or_generator', 'discriminator'] },
  { golden: 'electra-synthetic.generator.plan.txt', flags: ['--discriminator_or_generator', 'generator'] },
  { golden: 'mobilebert-synthetic.plan.txt' },
  { golden: 'rembert-synthetic.plan.txt' },
  { golden: 'lxmert-synthetic.plan.txt' },
  { golden: 'lxmert-synthetic.bert-scope.plan.txt' },
  { golden: 't5-byt5-rms-norm.plan.txt' },
  { golden: 't5-original-release-layer-norm.plan.txt' },
  { golden: 'xlnet-run-classifier-mnli.plan.txt' },
  { golden: 'xlnet-without-mask-emb-and-lm-bias.plan.txt' },
  { golden: 'funnel-synthetic.plan.txt', sidecar: { name: 'net_config.json', config: FUNNEL_NET_CONFIG } },
];

/**
 * The release config of a bert, albert or xlnet test checkpoint, from its shapes (what its test writes beside
 * it; a BERT head count, which no shape shows, is 1).
 */
function releaseConfig(listing: GoldenListing): { name: string; config: object } | undefined {
  const shape = (suffix: string) => listing.variables.find((v) => v.name.endsWith(suffix))?.shape ?? [];
  const [V, E] = shape('bert/embeddings/word_embeddings');
  const common = {
    vocab_size: V,
    max_position_embeddings: shape('bert/embeddings/position_embeddings')[0],
    type_vocab_size: shape('bert/embeddings/token_type_embeddings')[0],
    num_attention_heads: 1,
    hidden_act: 'gelu',
  };
  const layers = new Set(listing.variables.flatMap((v) => /\/layer_(\d+)\//.exec(v.name)?.[1] ?? []));
  if (listing.modelType === 'bert')
    return {
      name: 'bert_config.json',
      config: {
        ...common,
        hidden_size: E,
        num_hidden_layers: layers.size,
        intermediate_size: shape('layer_0/intermediate/dense/kernel')[1],
      },
    };
  if (listing.modelType === 'albert')
    return {
      name: 'albert_config.json',
      config: {
        ...common,
        embedding_size: E,
        hidden_size: shape('embedding_hidden_mapping_in/kernel')[1],
        intermediate_size: shape('ffn_1/intermediate/dense/kernel')[1],
        num_hidden_layers: 1,
        num_hidden_groups: 1,
        inner_group_num: 1,
      },
    };
  if (listing.modelType === 'xlnet') {
    const [, nHead, dHead] = shape('layer_0/rel_attn/q/kernel');
    const [nToken, dModel] = shape('word_embedding/lookup_table');
    return {
      name: 'xlnet_config.json',
      config: {
        d_head: dHead,
        d_inner: shape('layer_0/ff/layer_1/kernel')[1],
        d_model: dModel,
        ff_activation: 'gelu',
        n_head: nHead,
        n_layer: layers.size,
        n_token: nToken,
        untie_r: shape('transformer/r_w_bias').length === 3,
      },
    };
  }
  return undefined;
}

for (const s of SYNTHETIC) {
  test(`${s.golden}: the test checkpoint's folder loads in the real transformers, no missing/unexpected keys, no warning`, async (t) => {
    const client = transformersPython(t);
    if (!client) return;
    const tmp = tempDir(t, 'hf-load-synthetic');
    mkdirSync(join(tmp, 'in'));
    const prefix = join(tmp, 'in', 'model.ckpt');
    const listing = await writeGoldenCheckpoint(s.golden, prefix, 23);
    const release = s.sidecar ?? releaseConfig(listing);
    if (release) writeFileSync(join(tmp, 'in', release.name), JSON.stringify(release.config));
    const out = join(tmp, 'out/');
    const r = runCli([
      'convert',
      '--model_type',
      listing.modelType,
      '--tf_checkpoint',
      prefix,
      '--pytorch_dump_output',
      out,
      '--format',
      'both',
      ...(s.flags ?? []),
      ...(listing.modelType === 'xlnet' && release ? ['--config', join(tmp, 'in', release.name)] : []),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertLoadsCleanly(loadInTransformers(client, out), s.golden, listing.modelClass, r.stdout);
  });
}

/** The formats no TF bundle holds: an OpenAI GPT release folder (numpy) and an XLM `.pth` (PyTorch). */
test('OpenAI GPT release folder: loads in the real transformers as OpenAIGPTModel, no missing/unexpected keys, no warning', (t) => {
  const client = transformersPython(t);
  const numpy = client && numpyPython(t);
  if (!client || !numpy) return;
  const tmp = tempDir(t, 'hf-load-gpt');
  const release = join(tmp, 'model');
  mkdirSync(release);
  runPython(numpy, WRITE_OPENAI_GPT_RELEASE, [release, 'names']);
  const out = join(tmp, 'out/');
  const r = runCli(['convert', '--tf_checkpoint', release, '--pytorch_dump_output', out, '--format', 'both']);
  assert.equal(r.code, 0, r.stderr);
  assertLoadsCleanly(loadInTransformers(client, out), 'gpt release', 'OpenAIGPTModel', r.stdout);
});

test('XLM .pth: loads in the real transformers as XLMWithLMHeadModel, no missing/unexpected keys, no warning', (t) => {
  const client = transformersPython(t);
  const torch = client && torchPython(t);
  if (!client || !torch) return;
  const tmp = tempDir(t, 'hf-load-pth'); // no 'xlm' in the path: AutoConfig must not guess from a folder's name
  const pth = join(tmp, 'mlm_xlm.pth');
  runPython(torch, WRITE_XLM_CHECKPOINT, [pth, 'zip', 'clean']);
  const out = join(tmp, 'out/');
  const r = runCli(['convert', '--tf_checkpoint', pth, '--pytorch_dump_output', out, '--format', 'both']);
  assert.equal(r.code, 0, r.stderr);
  assertLoadsCleanly(loadInTransformers(client, out), 'xlm .pth', 'XLMWithLMHeadModel', r.stdout);
});

/**
 * The test checkpoints of the types whose architecture tests write them with their own writers (no golden
 * plan's variables): Pegasus in a dataset's folder with its PegasusConfig, GPT-Neo's Mesh TensorFlow checkpoint
 * with its training config.json beside it, and the TF2 Model Garden BERT object-based checkpoints.
 */
/** A TF2 object-based checkpoint, `name` in the folder. */
const objectBased =
  (write: (prefix: string) => Promise<unknown>, name: string) =>
  async (dir: string): Promise<{ prefix: string }> => {
    await write(join(dir, name));
    return { prefix: join(dir, name) };
  };

const WRITTEN: readonly {
  name: string;
  modelClass: string;
  /** Writes the checkpoint and its tokenizer files under `dir`; returns the prefix and extra arguments. */
  write: (dir: string, client: TransformersClient) => Promise<{ prefix: string; args?: string[] }>;
  /** Checks the folder's tokenizer as AutoTokenizer loads it. */
  tokenizer?: (t: TestContext, client: TransformersClient, folder: string) => void;
}[] = [
  {
    // pegasus-large's folder, with the release's SentencePiece model beside it (pegasus_ckpt/c4.unigram…)
    name: 'pegasus (large)',
    modelClass: 'PegasusForConditionalGeneration',
    write: async (dir, client) => {
      mkdirSync(join(dir, 'large'));
      const prefix = join(dir, 'large', 'model.ckpt-1500000');
      await writePegasusCheckpoint(prefix);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(PEGASUS_CONFIG));
      copyFileSync(trainSentencePiece(client, dir), join(dir, 'large', 'c4.unigram.newline.10pct.96000.model'));
      return { prefix, args: ['--config', join(dir, 'config.json')] };
    },
    tokenizer: (_, client, folder) => {
      const got = loadTokenizer(client, folder, 'The quick brown fox');
      assert.deepEqual(
        { class: got.class, max: got.max, decoded: got.decoded, unk: got.unk, mask: got.special.mask_token },
        { class: 'PegasusTokenizer', max: 1024, decoded: 'The quick brown fox', unk: false, mask: '<mask_2>' },
      );
    },
  },
  {
    name: 'gpt_neo (Mesh TensorFlow, bfloat16, config.json beside it)',
    modelClass: 'GPTNeoForCausalLM',
    write: async (dir) => ({ prefix: (await writeGptNeoCheckpoint(dir)).prefix }),
  },
  {
    name: 'bert TF2 Model Garden encoder',
    modelClass: 'BertModel',
    write: async (dir) => {
      writeFileSync(join(dir, 'vocab.txt'), tinyWordPieceVocab(11));
      return objectBased(writeTf2Encoder, 'ckpt-3')(dir);
    },
    tokenizer: (t, _, folder) => assertWordPieceTokenizer(t, folder, 'BertTokenizer'),
  },
  {
    name: 'bert TF2 Model Garden pre-trainer (masked LM)',
    modelClass: 'BertForMaskedLM',
    write: objectBased(writeTf2Pretrainer, 'ckpt-3'),
  },
  {
    name: 'bert TF2 Model Garden token dropping',
    modelClass: 'BertForMaskedLM',
    write: objectBased(writeTf2TokenDropping, 'ckpt-5'),
  },
];

for (const w of WRITTEN) {
  test(`${w.name}: the test checkpoint's folder loads in the real transformers as ${w.modelClass}, no missing/unexpected keys, no warning`, async (t) => {
    const client = transformersPython(t);
    if (!client) return;
    const tmp = tempDir(t, 'hf-load-written');
    mkdirSync(join(tmp, 'in'));
    const { prefix, args = [] } = await w.write(join(tmp, 'in'), client);
    const out = join(tmp, 'out/');
    const r = runCli(['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out, '--format', 'both', ...args]);
    assert.equal(r.code, 0, r.stderr);
    assertLoadsCleanly(loadInTransformers(client, out), w.name, w.modelClass, r.stdout);
    w.tokenizer?.(t, client, out);
  });
}
