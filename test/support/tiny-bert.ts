/**
 * A tiny BERT pre-training checkpoint with the names google-research/bert creates: modeling.py
 * (`bert/embeddings/…`, `bert/encoder/layer_{i}/…`, `bert/pooler/dense`, LayerNorm `gamma`/`beta`) and
 * run_pretraining.py (`cls/predictions/transform/dense`, `cls/predictions/output_bias`,
 * `cls/seq_relationship/output_weights`/`output_bias`). Seeded values, float32, as TensorFlow saves them.
 */
import { numElements } from '../../src/tensor.js';
import { seededRandom } from './random.js';
import { type RawTensor, transpose2d } from './reference-transforms.js';
import { type BundleTensor, randomTensorBytes } from './tf-bundle-writer.js';

export const TINY_BERT_CONFIG = {
  vocab_size: 15,
  hidden_size: 4,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 8,
  max_position_embeddings: 16,
  type_vocab_size: 2,
};

/** name → shape, in the order modeling.py and run_pretraining.py create the variables (of `config`; tiny). */
export function tinyBertShapes(config: typeof TINY_BERT_CONFIG = TINY_BERT_CONFIG): [string, number[]][] {
  const { vocab_size: V, hidden_size: H, intermediate_size: I, max_position_embeddings: P } = config;
  const out: [string, number[]][] = [
    ['bert/embeddings/word_embeddings', [V, H]],
    ['bert/embeddings/token_type_embeddings', [2, H]],
    ['bert/embeddings/position_embeddings', [P, H]],
    ['bert/embeddings/LayerNorm/beta', [H]],
    ['bert/embeddings/LayerNorm/gamma', [H]],
  ];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `bert/encoder/layer_${l}`;
    for (const m of ['attention/self/query', 'attention/self/key', 'attention/self/value', 'attention/output/dense'])
      out.push([`${p}/${m}/kernel`, [H, H]], [`${p}/${m}/bias`, [H]]);
    out.push([`${p}/attention/output/LayerNorm/beta`, [H]], [`${p}/attention/output/LayerNorm/gamma`, [H]]);
    out.push([`${p}/intermediate/dense/kernel`, [H, I]], [`${p}/intermediate/dense/bias`, [I]]);
    out.push([`${p}/output/dense/kernel`, [I, H]], [`${p}/output/dense/bias`, [H]]);
    out.push([`${p}/output/LayerNorm/beta`, [H]], [`${p}/output/LayerNorm/gamma`, [H]]);
  }
  out.push(['bert/pooler/dense/kernel', [H, H]], ['bert/pooler/dense/bias', [H]]);
  out.push(['cls/predictions/transform/dense/kernel', [H, H]], ['cls/predictions/transform/dense/bias', [H]]);
  out.push(['cls/predictions/transform/LayerNorm/beta', [H]], ['cls/predictions/transform/LayerNorm/gamma', [H]]);
  out.push(['cls/predictions/output_bias', [V]]);
  out.push(['cls/seq_relationship/output_weights', [2, H]], ['cls/seq_relationship/output_bias', [2]]);
  return out;
}

export function float32Tensor(name: string, shape: number[], random: () => number): BundleTensor {
  return { name, dtype: 'float32', shape, bytes: randomTensorBytes('float32', numElements(shape), random) };
}

/** The weights with seeded values (`omit`: names the checkpoint lacks). */
export function tinyBertWeights(seed: number, omit: readonly string[] = []): BundleTensor[] {
  const random = seededRandom(seed);
  return tinyBertShapes()
    .filter(([name]) => !omit.includes(name))
    .map(([name, shape]) => float32Tensor(name, shape, random));
}

/**
 * The BertForPreTraining state dict the weights give (REFERENCE D.1, written out independently of
 * src/mapping): kernels transposed by a naive loop; the decoder keys tied to others are left out.
 */
export function bertStateDictOf(weights: readonly BundleTensor[]): Map<string, RawTensor> {
  const special: Record<string, string> = {
    'cls/predictions/output_bias': 'cls.predictions.bias',
    'cls/seq_relationship/output_weights': 'cls.seq_relationship.weight',
    'cls/seq_relationship/output_bias': 'cls.seq_relationship.bias',
  };
  const out = new Map<string, RawTensor>();
  for (const w of weights) {
    const parts = w.name.replace(/\/layer_(\d+)\//, '/layer/$1/').split('/');
    const leaf = parts.pop() as string;
    const key =
      special[w.name] ??
      (leaf.endsWith('_embeddings')
        ? [...parts, leaf, 'weight'].join('.')
        : [...parts, { gamma: 'weight', beta: 'bias', kernel: 'weight' }[leaf] ?? leaf].join('.'));
    out.set(key, leaf === 'kernel' ? transpose2d(w) : w);
  }
  return out;
}
