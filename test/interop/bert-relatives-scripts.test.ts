/**
 * Bit for bit what transformers' own converters give. The real transformers 4.29.2 runs
 * convert_roformer_original_tf_checkpoint_to_pytorch.py's steps (RoFormerConfig.from_json_file, RoFormerForMaskedLM,
 * load_tf_weights_in_roformer, state_dict) and convert_convbert_original_tf1_checkpoint_to_pytorch_and_tf2.py's
 * (ConvBertConfig.from_json_file, ConvBertModel, load_tf_weights_in_convbert, state_dict) on the test checkpoints;
 * TensorFlow, absent here, is replaced by the two functions those loaders call (`tf.train.list_variables`,
 * `tf.train.load_variable`) reading the checkpoint's tensors as numpy arrays. tf2torch's output must equal that state
 * dict key for key — the one difference, on purpose: ConvBertModel's `embeddings.position_ids` buffer, not written
 * (README, "Differences from transformers-cli").
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { writeGoldenCheckpoint } from '../support/golden-listing.js';
import { readTfTensors } from '../support/reference-transforms.js';
import { tempDir } from '../support/temp.js';
import { runTransformers, transformersPython } from '../support/transformers.js';

const SCRIPT = String.raw`
import json, sys, types
import numpy as np, torch
import transformers
from transformers import (ConvBertConfig, ConvBertModel, RoFormerConfig, RoFormerForMaskedLM,
                          load_tf_weights_in_convbert, load_tf_weights_in_roformer)

cases = json.loads(sys.argv[1])
DT = {'float32': np.float32, 'int64': np.int64}

def tensorflow_reading(index):
    # after transformers' imports: its availability checks must not see this stand-in
    tf = types.ModuleType('tensorflow')
    tf.train = types.SimpleNamespace(
        list_variables=lambda path: sorted((n, v['shape']) for n, v in index.items()),
        load_variable=lambda path, n: np.fromfile(index[n]['file'], dtype=DT[index[n]['dtype']]).reshape(index[n]['shape']))
    sys.modules['tensorflow'] = tf

report = []
for case in cases:
    tensorflow_reading(case['index'])
    if case['type'] == 'roformer':
        config = RoFormerConfig.from_json_file(case['config'])
        model = load_tf_weights_in_roformer(RoFormerForMaskedLM(config), config, case['prefix'])
    else:
        config = ConvBertConfig.from_json_file(case['config'])
        model = load_tf_weights_in_convbert(ConvBertModel(config), config, case['prefix'])
    theirs = model.state_dict()
    ours = torch.load(case['ours'], map_location='cpu', weights_only=True)
    differing = [k for k in theirs if k in ours and (theirs[k].dtype != ours[k].dtype or theirs[k].shape != ours[k].shape
                 or not torch.equal(theirs[k], ours[k]))]
    report.append({'onlyTheirs': [k for k in theirs if k not in ours], 'onlyOurs': [k for k in ours if k not in theirs],
                   'differing': differing, 'keys': len(theirs)})
print(json.dumps(report))
`;

const CASES = [
  {
    golden: 'roformer-bert4keras-release.plan.txt',
    config: {
      hidden_act: 'gelu',
      hidden_size: 8,
      intermediate_size: 16,
      max_position_embeddings: 16,
      num_attention_heads: 2,
      num_hidden_layers: 2,
      type_vocab_size: 2,
      vocab_size: 20,
    },
    onlyTheirs: [],
  },
  { golden: 'convbert-synthetic-grouped.plan.txt', onlyTheirs: ['embeddings.position_ids'] },
  { golden: 'convbert-synthetic.plan.txt', onlyTheirs: ['embeddings.position_ids'] },
] as const;

test("transformers' own loaders, on the same values, fill the state dicts tf2torch writes, bit for bit", async (t) => {
  const client = transformersPython(t);
  if (!client) return;
  const tmp = tempDir(t, 'hf-scripts');
  const jobs = [];
  for (const [i, c] of CASES.entries()) {
    const dir = join(tmp, String(i));
    mkdirSync(join(dir, 'raw'), { recursive: true });
    const prefix = join(dir, 'model.ckpt');
    const { modelType } = await writeGoldenCheckpoint(c.golden, prefix, 29);
    const out = join(dir, 'out');
    const args = ['convert', '--tf_checkpoint', prefix, '--pytorch_dump_output', out, '--format', 'pytorch'];
    if ('config' in c) {
      writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(c.config));
      args.push('--config', join(dir, 'bert_config.json'));
    }
    const r = runCli(args);
    assert.equal(r.code, 0, r.stderr);
    // the tensors as TensorFlow would hand them over: one raw little-endian file each
    const index: Record<string, { dtype: string; shape: number[]; file: string }> = {};
    for (const [n, [name, tensor]] of [...(await readTfTensors(prefix))].entries()) {
      const file = join(dir, 'raw', String(n));
      writeFileSync(file, tensor.bytes);
      index[name] = { dtype: tensor.dtype, shape: tensor.shape, file };
    }
    jobs.push({
      type: modelType,
      prefix,
      index,
      // the config the script is given: the release's bert_config.json, or the ConvBertConfig tf2torch wrote
      config: 'config' in c ? join(dir, 'bert_config.json') : join(out, 'config.json'),
      ours: join(out, 'pytorch_model.bin'),
    });
  }
  const report = JSON.parse(runTransformers(client, SCRIPT, [JSON.stringify(jobs)])) as {
    onlyTheirs: string[];
    onlyOurs: string[];
    differing: string[];
    keys: number;
  }[];
  for (const [i, c] of CASES.entries()) {
    const got = report[i];
    assert.ok(got && got.keys > 40, c.golden);
    assert.deepEqual(
      { onlyTheirs: got.onlyTheirs, onlyOurs: got.onlyOurs, differing: got.differing },
      { onlyTheirs: [...c.onlyTheirs], onlyOurs: [], differing: [] },
      c.golden,
    );
  }
});
