/**
 * `npm run sample`: makes a small seeded BERT checkpoint as google-research/bert lays it out
 * (sample/bert/bert_model.ckpt.*, bert_config.json, vocab.txt, with Adam slots and global_step), then
 * converts it with the CLI's own code path into a Hugging Face folder, sample/bert-hf/.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { convertCommand } from '../src/commands/convert.js';
import { numElements } from '../src/tensor.js';
import { seededRandom } from '../test/support/random.js';
import { type BundleTensor, writeBundle } from '../test/support/tf-bundle-writer.js';

const ROOT = join(process.cwd(), 'sample');
const CKPT_DIR = join(ROOT, 'bert');
const OUT = join(ROOT, 'bert-hf');
const CONFIG = {
  vocab_size: 32,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 32,
  type_vocab_size: 2,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  initializer_range: 0.02,
};

function variables(): [string, number[]][] {
  const {
    vocab_size: V,
    hidden_size: H,
    intermediate_size: I,
    max_position_embeddings: P,
    type_vocab_size: T,
  } = CONFIG;
  const v: [string, number[]][] = [
    ['bert/embeddings/word_embeddings', [V, H]],
    ['bert/embeddings/position_embeddings', [P, H]],
    ['bert/embeddings/token_type_embeddings', [T, H]],
    ['bert/embeddings/LayerNorm/gamma', [H]],
    ['bert/embeddings/LayerNorm/beta', [H]],
  ];
  for (let l = 0; l < CONFIG.num_hidden_layers; l++) {
    const p = `bert/encoder/layer_${l}`;
    for (const m of ['attention/self/query', 'attention/self/key', 'attention/self/value', 'attention/output/dense'])
      v.push([`${p}/${m}/kernel`, [H, H]], [`${p}/${m}/bias`, [H]]);
    v.push(
      [`${p}/intermediate/dense/kernel`, [H, I]],
      [`${p}/intermediate/dense/bias`, [I]],
      [`${p}/output/dense/kernel`, [I, H]],
      [`${p}/output/dense/bias`, [H]],
    );
    for (const n of ['attention/output/LayerNorm', 'output/LayerNorm'])
      v.push([`${p}/${n}/gamma`, [H]], [`${p}/${n}/beta`, [H]]);
  }
  v.push(
    ['bert/pooler/dense/kernel', [H, H]],
    ['bert/pooler/dense/bias', [H]],
    ['cls/predictions/output_bias', [V]],
    ['cls/predictions/transform/dense/kernel', [H, H]],
    ['cls/predictions/transform/dense/bias', [H]],
    ['cls/predictions/transform/LayerNorm/gamma', [H]],
    ['cls/predictions/transform/LayerNorm/beta', [H]],
    ['cls/seq_relationship/output_weights', [2, H]],
    ['cls/seq_relationship/output_bias', [2]],
  );
  return v;
}

const random = seededRandom(2018);
const floats = (shape: number[]) => {
  const a = new Float32Array(numElements(shape));
  for (let i = 0; i < a.length; i++) a[i] = (random() - 0.5) * 0.04;
  return new Uint8Array(a.buffer);
};

rmSync(ROOT, { recursive: true, force: true });
mkdirSync(CKPT_DIR, { recursive: true });
const tensors: BundleTensor[] = [];
for (const [name, shape] of variables()) {
  tensors.push({ name, dtype: 'float32', shape, bytes: floats(shape) });
  for (const slot of ['adam_m', 'adam_v'])
    tensors.push({ name: `${name}/${slot}`, dtype: 'float32', shape, bytes: floats(shape) });
}
tensors.push({
  name: 'global_step',
  dtype: 'int64',
  shape: [],
  bytes: new Uint8Array(new BigInt64Array([1000n]).buffer),
});
tensors.sort((a, b) => (a.name < b.name ? -1 : 1));
await writeBundle(join(CKPT_DIR, 'bert_model.ckpt'), tensors);
writeFileSync(join(CKPT_DIR, 'bert_config.json'), `${JSON.stringify(CONFIG, null, 2)}\n`);
const vocab = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  ...Array.from({ length: CONFIG.vocab_size - 5 }, (_, i) => `tok${i}`),
];
writeFileSync(join(CKPT_DIR, 'vocab.txt'), `${vocab.join('\n')}\n`);
process.stdout.write(
  `made a seeded BERT checkpoint: ${tensors.length} variables (weights, Adam slots, global_step) in ${relative(process.cwd(), CKPT_DIR)}/\n\n`,
);

// Paths as a user types them from the project folder, so the printed command can be rerun as is.
const here = (path: string) => relative(process.cwd(), path);
const argv = [
  '--model_type',
  'bert',
  '--tf_checkpoint',
  here(join(CKPT_DIR, 'bert_model.ckpt')),
  '--config',
  here(join(CKPT_DIR, 'bert_config.json')),
  '--pytorch_dump_output',
  `${here(OUT)}/`,
  '--force',
];
process.stdout.write(`$ node dist/src/cli.js convert ${argv.join(' ')}\n`);
const code = await convertCommand.run(argv, {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t),
  errIsTTY: process.stderr.isTTY === true,
});
// The conversion's own summary ends with how to load the folder and share it.
process.exitCode = code;
