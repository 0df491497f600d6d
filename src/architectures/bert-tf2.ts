/**
 * bert, TF2 Model Garden (tensorflow/models `official/nlp`): object-based checkpoints of its BERT encoders
 * → transformers `BertModel` (keys without a prefix), or `BertForMaskedLM` when the pre-trainer's masked-LM
 * head is saved beside the encoder, as transformers' convert_bert_original_tf2_checkpoint_to_pytorch.py
 * maps them (and convert_bert_token_dropping_original_tf2_checkpoint_to_pytorch.py, for the head).
 *
 * Two encoder layouts, under `model/` (tf2_encoder_checkpoint_converter.py's `tf.train.Checkpoint(model=…)`),
 * `encoder/` (BertPretrainerV2's `checkpoint_items`) or at the root (Keras `save_weights`):
 * - the functional network (networks/transformer_encoder.py, the first networks/bert_encoder.py): layers
 *   numbered `layer_with_weights-N` in the order they are built — word, position and type embeddings, the
 *   embedding LayerNorm, the N transformer layers, the pooler. Which is which is read off each object's
 *   children (`embeddings`; `gamma`/`beta`; `_attention_layer`; `kernel`/`bias`), never guessed from N.
 * - the layer of the newer networks/bert_encoder.py (and token dropping's encoder): `_embedding_layer`,
 *   `_position_embedding_layer`, `_type_embedding_layer`, `_embedding_norm_layer`,
 *   `_transformer_layers/N`, `_pooler_layer`.
 * Each transformer layer (layers/transformer.py, layers/transformer_encoder_block.py) keeps
 * `_attention_layer/_{query,key,value}_dense` with kernels [hidden, heads, head_dim] and biases
 * [heads, head_dim], the attention output (`_attention_output_dense`, or `_attention_layer/_output_dense`
 * in the later layers) with kernel [heads, head_dim, hidden]: reshaped to the weight's shape, then
 * transposed, exactly as transformers does. The masked-LM head (layers/masked_lm.py, `masked_lm/`):
 * `dense`, `layer_norm`, `output_bias.Sbias` and, as the shallowest path to the shared table,
 * `embedding_table`. Token dropping (official/projects/token_dropping) saves the same encoder layer and head,
 * plus its routing state (`_token_importance_embed`, skipped). The config comes from the shapes (or
 * `--config`, checked against them).
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { childrenByPath, graphFromKeys, OBJECT_GRAPH_KEY } from '../formats/tf-checkpoint/object-graph.js';
import { normalizeName } from '../mapping/plan.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule, TensorInfo } from '../mapping/types.js';
import { BERT_DEFAULTS, BERT_DIMENSIONS, BERT_HEADS, bertEmbeddingKeys, bertLayerKeys } from './bert-family.js';
import { dim, layersKeys, linearKeys, normKeys, TRANSPOSE, vectorKey } from './building-blocks.js';
import { checkDimensions, configFromFacts, type ShapeFact, shapeFact } from './checkpoint-facts.js';
import { wordPieceTokenizer } from './tokenizer.js';

const CLASSES = { encoder: 'BertModel', maskedLm: 'BertForMaskedLM' } as const;

/** The functional network's first transformer layer: three embedding tables and their LayerNorm come before. */
const FIRST_LAYER = 4;
const LWW = /^layer_with_weights-(\d+)$/;
const MASKED_LM = 'masked_lm';
/** The head's `embedding_table`: the encoder's word table, saved under the head when that path is the shorter. */
const SHARED_TABLE = `${MASKED_LM}/embedding_table`;

const isMaskedLm = (config: ModelConfig) => (config.architectures as string[])[0] === CLASSES.maskedLm;

/** Where the layers of each role are, read off the object structure. */
interface Layout {
  readonly functional: boolean;
  /** Object paths (canonical names) of the word, position, type tables, the norm, the layers, the pooler. */
  readonly word: string;
  readonly position: string;
  readonly type: string;
  readonly norm: string;
  readonly layers: readonly string[];
  readonly pooler: string | undefined;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && b.every((x) => a.includes(x));

/**
 * The functional network's `layer_with_weights-N` objects by what they hold: each must be what the
 * original builds at that place, so that a network of another shape (an embedding projection, another
 * head) is refused by name rather than mapped wrongly.
 */
function functionalLayout(
  children: ReadonlyMap<string, readonly string[]>,
  sharedTable: boolean,
  where: string,
): Layout {
  const numbered = (children.get('') ?? [])
    .map((c) => LWW.exec(c))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const at = (n: number) => `layer_with_weights-${n}`;
  const refuse = (n: number, expected: string): never => {
    throw new Tf2TorchError(
      ErrorCode.WRONG_CHECKPOINT_KIND,
      `${where}: ${at(n)} holds [${(children.get(at(n)) ?? []).join(', ')}], where Model Garden's BERT encoder has ${expected}: not a BERT encoder tf2torch converts`,
      { file: where },
    );
  };
  // a word table shared with a masked-LM head is saved once, under the head's shorter path
  const wordHere = !sharedTable || children.has(at(0));
  for (let n = wordHere ? 0 : 1; n < 3; n++)
    if (!sameSet(children.get(at(n)) ?? [], ['embeddings'])) refuse(n, 'an embedding table (embeddings)');
  if (!sameSet(children.get(at(3)) ?? [], ['gamma', 'beta'])) refuse(3, 'the embedding LayerNorm (gamma, beta)');
  const layers: string[] = [];
  let n = FIRST_LAYER;
  while ((children.get(at(n)) ?? []).includes('_attention_layer')) layers.push(at(n++));
  if (layers.length === 0) refuse(FIRST_LAYER, 'the first transformer layer (_attention_layer, …)');
  const last = numbered[numbered.length - 1] ?? 0;
  if (last > n || (last === n && !sameSet(children.get(at(n)) ?? [], ['kernel', 'bias'])))
    refuse(n, `the pooler (kernel, bias) after ${layers.length} transformer layers`);
  return {
    functional: true,
    word: wordHere ? `${at(0)}/embeddings` : SHARED_TABLE,
    position: `${at(1)}/embeddings`,
    type: `${at(2)}/embeddings`,
    norm: at(3),
    layers,
    pooler: last === n ? at(n) : undefined,
  };
}

/** The newer encoder layer: its attributes name each part. */
function attributeLayout(names: readonly string[]): Layout {
  const count = new Set(names.map((n) => /^_transformer_layers\/(\d+)\//.exec(n)?.[1]).filter((x) => x !== undefined))
    .size;
  return {
    functional: false,
    word: names.includes(SHARED_TABLE) ? SHARED_TABLE : '_embedding_layer/embeddings',
    position: '_position_embedding_layer/embeddings',
    type: '_type_embedding_layer/embeddings',
    norm: '_embedding_norm_layer',
    layers: Array.from({ length: count }, (_, i) => `_transformer_layers/${i}`),
    pooler: names.some((n) => n.startsWith('_pooler_layer/')) ? '_pooler_layer' : undefined,
  };
}

/** Canonical names (scope and `/.ATTRIBUTES/VARIABLE_VALUE` removed), trainer state left out. */
function canonicalNames(listing: readonly TensorInfo[]): string[] {
  return listing
    .map((t) => t.name)
    .filter((n) => n.endsWith('/.ATTRIBUTES/VARIABLE_VALUE') && !n.includes('/.OPTIMIZER_SLOT/'))
    .map((n) => normalizeName(bertTf2, n));
}

function layoutOf(listing: readonly TensorInfo[], where: string): Layout {
  const names = canonicalNames(listing);
  if (names.some((n) => n.startsWith('_transformer_layers/'))) return attributeLayout(names);
  const keys = names.map((n) => `${n}/.ATTRIBUTES/VARIABLE_VALUE`);
  return functionalLayout(childrenByPath(graphFromKeys(keys)), names.includes(SHARED_TABLE), where);
}

const shapeOf = (listing: readonly TensorInfo[], canonical: string) =>
  listing.find((t) => normalizeName(bertTf2, t.name) === canonical);

function buildConfig(input: ConfigInput): ModelConfig {
  const where = input.checkpointPath ?? 'the checkpoint';
  const layout = layoutOf(input.listing, where);
  const maskedLm = canonicalNames(input.listing).some((n) => n.startsWith(`${MASKED_LM}/`));
  const fact = (field: string, canonical: string, axis: number): ShapeFact => {
    const t = shapeOf(input.listing, canonical);
    return t ? shapeFact([t], field, t.name, axis) : { field, value: undefined, evidence: canonical };
  };
  const first = layout.layers[0] ?? '';
  const config = configFromFacts(input, {
    defaults: BERT_DEFAULTS,
    facts: [
      fact('vocab_size', layout.word, 0),
      fact('hidden_size', layout.word, 1),
      fact('max_position_embeddings', layout.position, 0),
      fact('type_vocab_size', layout.type, 0),
      {
        field: 'num_hidden_layers',
        value: layout.layers.length,
        evidence: `${layout.layers.length} transformer layers`,
      },
      fact('num_attention_heads', `${first}/_attention_layer/_query_dense/kernel`, 1),
      fact('intermediate_size', `${first}/_intermediate_dense/kernel`, 1),
    ],
    assumptions: [],
    fixed: { architectures: [maskedLm ? CLASSES.maskedLm : CLASSES.encoder], model_type: 'bert' },
    hint: "Pass this checkpoint's bert_config.json (or transformers' BertConfig JSON) with --config, or leave --config out to derive it.",
  });
  checkDimensions(config, BERT_DIMENSIONS, input.userPath ?? 'the derived config', BERT_HEADS);
  return config;
}

/** One transformer layer, `tf` object → `pt` module; attention kernels reshaped then transposed (transformers). */
function layerRules(tf: string, pt: string, hidden: number): Rule[] {
  const reshapeT = [{ op: 'reshape', shape: [hidden, hidden] }, ...TRANSPOSE] as const;
  const a = `${tf}/_attention_layer`;
  const dense = (from: string, to: string): Rule[] => [
    { from: `${from}/kernel`, to: `${to}.weight`, transforms: TRANSPOSE },
    { from: `${from}/bias`, to: `${to}.bias` },
  ];
  const norm = (from: string, to: string): Rule[] => [
    { from: `${from}/gamma`, to: `${to}.weight` },
    { from: `${from}/beta`, to: `${to}.bias` },
  ];
  const output: Rule[] = ['_attention_output_dense', '_attention_layer/_output_dense'].flatMap((o) => [
    {
      from: `${tf}/${o}/kernel`,
      to: `${pt}.attention.output.dense.weight`,
      transforms: reshapeT,
      note: '[heads, head_dim, hidden] reshaped to the weight shape, then transposed (transformers)',
    },
    { from: `${tf}/${o}/bias`, to: `${pt}.attention.output.dense.bias` },
  ]);
  return [
    ...['query', 'key', 'value'].flatMap((p) => [
      {
        from: `${a}/_${p}_dense/kernel`,
        to: `${pt}.attention.self.${p}.weight`,
        transforms: reshapeT,
        note: '[hidden, heads, head_dim] reshaped to the weight shape, then transposed (transformers)',
      },
      {
        from: `${a}/_${p}_dense/bias`,
        to: `${pt}.attention.self.${p}.bias`,
        transforms: [{ op: 'reshape', shape: [hidden] }] as const,
      },
    ]),
    ...output,
    ...norm(`${tf}/_attention_layer_norm`, `${pt}.attention.output.LayerNorm`),
    ...dense(`${tf}/_intermediate_dense`, `${pt}.intermediate.dense`),
    ...dense(`${tf}/_output_dense`, `${pt}.output.dense`),
    ...norm(`${tf}/_output_layer_norm`, `${pt}.output.LayerNorm`),
  ];
}

/**
 * Both layouts' rules, the functional one's for `num_hidden_layers` layers (its pooler is the object
 * after them); only one layout is ever present (buildConfig checked its structure).
 */
function rules(config: ModelConfig): readonly Rule[] {
  const p = isMaskedLm(config) ? 'bert.' : '';
  const n = config.num_hidden_layers as number;
  const hidden = config.hidden_size as number;
  const lww = (k: number) => `layer_with_weights-${k}`;
  const embeddings = (word: string, position: string, type: string, norm: string): Rule[] => [
    { from: word, to: `${p}embeddings.word_embeddings.weight` },
    { from: position, to: `${p}embeddings.position_embeddings.weight` },
    { from: type, to: `${p}embeddings.token_type_embeddings.weight` },
    { from: `${norm}/gamma`, to: `${p}embeddings.LayerNorm.weight` },
    { from: `${norm}/beta`, to: `${p}embeddings.LayerNorm.bias` },
  ];
  const pooler = (tf: string): Rule[] => [
    { from: `${tf}/kernel`, to: `${p}pooler.dense.weight`, transforms: TRANSPOSE },
    { from: `${tf}/bias`, to: `${p}pooler.dense.bias` },
  ];
  const out: Rule[] = [
    ...embeddings(`${lww(0)}/embeddings`, `${lww(1)}/embeddings`, `${lww(2)}/embeddings`, lww(3)),
    ...embeddings(
      '_embedding_layer/embeddings',
      '_position_embedding_layer/embeddings',
      '_type_embedding_layer/embeddings',
      '_embedding_norm_layer',
    ),
    {
      from: SHARED_TABLE,
      to: `${p}embeddings.word_embeddings.weight`,
      note: 'the table the head shares',
    },
  ];
  for (let l = 0; l < n; l++) {
    out.push(...layerRules(lww(FIRST_LAYER + l), `${p}encoder.layer.${l}`, hidden));
    out.push(...layerRules(`_transformer_layers/${l}`, `${p}encoder.layer.${l}`, hidden));
  }
  out.push(...pooler(lww(FIRST_LAYER + n)), ...pooler('_pooler_layer'));
  out.push(
    { from: `${MASKED_LM}/output_bias.Sbias`, to: 'cls.predictions.bias' },
    { from: `${MASKED_LM}/dense/kernel`, to: 'cls.predictions.transform.dense.weight', transforms: TRANSPOSE },
    { from: `${MASKED_LM}/dense/bias`, to: 'cls.predictions.transform.dense.bias' },
    { from: `${MASKED_LM}/layer_norm/gamma`, to: 'cls.predictions.transform.LayerNorm.weight' },
    { from: `${MASKED_LM}/layer_norm/beta`, to: 'cls.predictions.transform.LayerNorm.bias' },
  );
  return out;
}

/** BertForMaskedLM has no pooler: the pre-trainer's is left out. */
function configSkip(config: ModelConfig) {
  if (!isMaskedLm(config)) return [];
  const pooler = `layer_with_weights-${FIRST_LAYER + (config.num_hidden_layers as number)}`;
  return [{ pattern: `^(${pooler}|_pooler_layer)/`, reason: `pooler: ${CLASSES.maskedLm} has none` }];
}

/** BertModel's (or BertForMaskedLM's) state dict, transformers >= 4.31 (no position_ids buffer), in order. */
function expectedKeys(config: ModelConfig): readonly ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const V = dim(config, 'vocab_size');
  if (!isMaskedLm(config))
    return [
      ...bertEmbeddingKeys('embeddings', config, H),
      ...layersKeys('encoder', config, bertLayerKeys),
      ...linearKeys('pooler.dense', H, H, { optional: true }),
    ];
  return [
    ...bertEmbeddingKeys('bert.embeddings', config, H),
    ...layersKeys('bert.encoder', config, bertLayerKeys),
    // layers/masked_lm.py initialises the output bias with zeros, as transformers does
    { ...vectorKey('cls.predictions.bias', V), zerosWhenAbsent: true },
    ...linearKeys('cls.predictions.transform.dense', H, H),
    ...normKeys('cls.predictions.transform.LayerNorm', H),
    {
      key: 'cls.predictions.decoder.weight',
      shape: [V.size, H.size],
      aliasOf: 'bert.embeddings.word_embeddings.weight',
    },
    { key: 'cls.predictions.decoder.bias', shape: [V.size], aliasOf: 'cls.predictions.bias' },
  ];
}

export const bertTf2: Architecture = {
  modelType: 'bert',
  objectBased: true,
  summary: `TF2 Model Garden BERT (official/nlp, tf.train.Checkpoint) → ${CLASSES.encoder}, or ${CLASSES.maskedLm} with the pre-trainer's masked-LM head`,
  detect: {
    names: [
      '^(model/|encoder/)?(layer_with_weights-\\d+|_transformer_layers/\\d+)/_attention_layer/_query_dense/kernel/\\.ATTRIBUTES/VARIABLE_VALUE$',
    ],
    sidecars: ['bert_config.json'],
    baseClass: CLASSES.encoder,
    heads: [{ variable: `^${MASKED_LM}/output_bias\\.Sbias$`, modelClass: CLASSES.maskedLm }],
  },
  configFileNames: ['bert_config.json', 'config.json'],
  buildConfig,
  stripPrefixes: ['model/', 'encoder/'],
  renames: [{ from: '/.ATTRIBUTES/VARIABLE_VALUE', to: '' }],
  skip: [
    { pattern: `^${OBJECT_GRAPH_KEY}$`, reason: 'the object graph: metadata, not a weight' },
    {
      // official/projects/token_dropping/encoder.py: layers/routing.py's running MLM loss per token, for routing
      pattern: '^_token_importance_embed/',
      reason: 'token dropping: running token importance (routing state, not a weight)',
    },
  ],
  configSkip,
  rules,
  expectedKeys,
  tokenizerFiles: [{ from: 'vocab.txt', to: 'vocab.txt' }],
  // the Model Garden releases' vocab.txt is BERT's: the same tokenizer_config.json as a TF1 BERT folder's
  tokenizer: wordPieceTokenizer('BertTokenizer'),
};
