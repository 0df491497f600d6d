/**
 * xlm: an original facebookresearch/XLM checkpoint (`mlm_en_2048.pth`: a torch.save'd dict with 'model',
 * 'params', 'dico_word2id', …; legacy or zip container, often CUDA storages) → the files transformers'
 * convert_xlm_checkpoint_to_pytorch writes (REFERENCE D.7):
 * - pytorch_model.bin: chkpt['model'] unchanged, keys prefixed `transformer.` except those containing
 *   `pred_layer`, pickled as a plain dict;
 * - config.json: chkpt['params'] without float tensors and numpy arrays, as `json.dumps(indent=2)`, plus (our
 *   addition) `model_type` and `architectures`, without which AutoConfig cannot read the folder;
 * - vocab.json: chkpt['dico_word2id'] with `</w>` appended to whole words (id > 13) and `@@` removed.
 * The pickle is read as data by the safe unpickler: its custom classes are never instantiated.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import { keyText, NotJsonError, pythonJsonDumps } from '../io/python-json.js';
import { NoticeCode, notice } from '../mapping/notices.js';
import type { Architecture, ConfigInput, ExpectedKey, ModelConfig, Rule } from '../mapping/types.js';

const XLM_CLASS = 'XLMWithLMHeadModel';
/** XLMConfig's default max_position_embeddings, the original's N_MAX_POSITIONS. */
const XLM_CONFIG_POSITIONS = 512;

/** The first ids of an XLM dictionary are special symbols (<s>, </s>, <pad>, <unk>, <special0..9>). */
const LAST_SPECIAL_ID = 13;

/** A tensor handle inside the unpickled object. */
function isTensor(v: unknown): v is { dtype: string; shape: readonly number[] } {
  return v !== null && typeof v === 'object' && 'dtype' in v && 'shape' in v && 'read' in v;
}

interface InertObject {
  __class__: string;
  state?: unknown;
  items?: unknown[];
}

function isInert(v: unknown): v is InertObject {
  return v !== null && typeof v === 'object' && '__class__' in v;
}

/** How many `state` hops lead from a dict subclass instance to its attributes; real files have one. */
const MAX_STATE_HOPS = 100;

/** The key/value pairs of a pickled dict, or of a dict subclass instance (its items, else its attributes). */
function dictEntries(value: unknown): [unknown, unknown][] | undefined {
  let v = value;
  for (let hop = 0; hop <= MAX_STATE_HOPS; hop++) {
    if (v instanceof Map) return [...v.entries()];
    if (!isInert(v)) return undefined;
    if (v.items && v.items.length > 0 && v.items.every((i) => Array.isArray(i) && i.length === 2))
      return v.items as [unknown, unknown][];
    v = v.state;
  }
  return undefined;
}

function field(embedded: unknown, name: string): unknown {
  const entries = dictEntries(embedded);
  if (!entries)
    throw new Tf2TorchError(
      ErrorCode.WRONG_CHECKPOINT_KIND,
      `not an original XLM checkpoint: the file holds no dict (expected 'model', 'params', 'dico_word2id')`,
    );
  const hit = entries.find(([k]) => k === name);
  if (!hit) {
    const keys = entries.map(([k]) => String(k)).join(', ');
    throw new Tf2TorchError(
      ErrorCode.WRONG_CHECKPOINT_KIND,
      `not an original XLM checkpoint: no '${name}' entry (it has: ${keys})`,
    );
  }
  return hit[1];
}

/** json.dumps would refuse these; transformers' converter would crash on them. */
function jsonable(v: unknown): boolean {
  try {
    pythonJsonDumps(v);
    return true;
  } catch (e) {
    if (e instanceof NotJsonError) return false;
    throw e;
  }
}

function buildConfig(input: ConfigInput): ModelConfig {
  const model = dictEntries(field(input.embedded, 'model'));
  if (!model || !input.listing.some((t) => t.name.startsWith('model.'))) {
    const file = input.checkpointPath;
    throw new Tf2TorchError(
      ErrorCode.WRONG_CHECKPOINT_KIND,
      `${file ?? 'the XLM checkpoint'}: its 'model' ${model ? `holds no tensors (${model.length} entries)` : 'is not a dict'}; there are no weights to convert`,
      { file },
    );
  }
  const params = dictEntries(field(input.embedded, 'params'));
  if (!params) throw new Tf2TorchError(ErrorCode.CONFIG, `the XLM checkpoint's 'params' is not a dict`);
  if (input.user !== undefined)
    input.note?.(
      notice(
        NoticeCode.CONFIG_IGNORED,
        "xlm: {@config} {path} is ignored, as transformers-cli ignores it: config.json comes from the checkpoint's params",
        { path: input.userPath ?? '' },
      ),
    );
  // No prototype: a param named `__proto__` or `constructor` is a key like any other.
  const config: ModelConfig = Object.create(null);
  const dropped: string[] = [];
  for (const [k, v] of params) {
    // json.dumps converts int, float, bool and None keys to text and refuses others (a tuple).
    const key = keyText(k);
    // transformers drops torch.FloatTensor and numpy.ndarray values.
    if ((isTensor(v) && v.dtype === 'float32') || (isInert(v) && v.__class__ === 'numpy.ndarray')) continue;
    if (key === undefined || isTensor(v) || !jsonable(v)) {
      dropped.push(key ?? `${Array.isArray(k) ? `(${k.map((x) => keyText(x) ?? '…').join(', ')})` : typeof k} key`);
      continue;
    }
    config[key] = v;
  }
  if (dropped.length > 0)
    input.note?.(`xlm: params left out of config.json (not JSON-serializable): ${dropped.join(', ')}`);
  addLoadingFields(config, input);
  return config;
}

/**
 * What XLMConfig needs beyond the params, added where the params lack it (transformers' converter writes the
 * params alone): `model_type` and `architectures` (else AutoConfig guesses the type from the folder's name), and
 * `max_position_embeddings` when the position table is not XLMConfig's default 512 rows (the original's
 * N_MAX_POSITIONS), else from_pretrained refuses the table's size.
 */
function addLoadingFields(config: ModelConfig, input: ConfigInput): void {
  const added: string[] = [];
  if (config.model_type === undefined) {
    config.model_type = 'xlm';
    config.architectures = [XLM_CLASS];
    added.push(`model_type 'xlm'`, `architectures [${XLM_CLASS}]`);
  }
  const rows = input.listing.find((t) => t.name === 'model.position_embeddings.weight')?.shape[0];
  if (config.max_position_embeddings === undefined && rows !== undefined && rows !== XLM_CONFIG_POSITIONS) {
    config.max_position_embeddings = rows;
    added.push(`max_position_embeddings ${rows} (model.position_embeddings.weight)`);
  }
  if (added.length > 0)
    input.note?.(
      `xlm: config.json adds ${added.join(', ')} to the checkpoint's params (transformers' converter writes the params alone, which AutoConfig reads only from a folder whose name contains 'xlm')`,
    );
}

/**
 * XLMModel's persistent buffer `position_ids` (arange, [1, max_position_embeddings]), which the original never
 * had: written so that XLMWithLMHeadModel, whose ignore list lacks it, loads without "newly initialized" (our
 * addition; transformers' converter copies the original's keys alone).
 */
function passThroughBuffers(config: ModelConfig): ExpectedKey[] {
  const positions =
    typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : XLM_CONFIG_POSITIONS;
  return [
    {
      key: 'transformer.position_ids',
      shape: [1, positions],
      fromConfig: '[1, max_position_embeddings]',
      generate: { kind: 'arange', count: positions },
    },
  ];
}

function vocabText(embedded: unknown): string {
  const words = dictEntries(field(embedded, 'dico_word2id'));
  if (!words) throw new Tf2TorchError(ErrorCode.MALFORMED, `the XLM checkpoint's 'dico_word2id' is not a dict`);
  const vocab = new Map<string, unknown>();
  for (const [s, i] of words) {
    if (typeof s !== 'string')
      throw new Tf2TorchError(ErrorCode.MALFORMED, `dico_word2id: key ${String(s)} is not a string`);
    const whole = !s.includes('@@') && typeof i === 'number' && i > LAST_SPECIAL_ID;
    vocab.set(whole ? `${s}</w>` : s.split('@@').join(''), i);
  }
  try {
    return `${pythonJsonDumps(vocab)}\n`;
  } catch (e) {
    // json.dumps refuses these too (a value nested past its recursion limit): transformers' converter fails.
    if (e instanceof NotJsonError)
      throw new Tf2TorchError(ErrorCode.MALFORMED, `the XLM checkpoint's dico_word2id: ${e.message}`);
    throw e;
  }
}

function rules(): readonly Rule[] {
  return [
    { from: 'model.pred_layer{rest*}', to: 'pred_layer{rest*}', note: 'the LM head keeps its name' },
    { from: 'model.{pre*}pred_layer{rest*}', to: '{pre*}pred_layer{rest*}', note: 'the LM head keeps its name' },
    { from: 'model.{name*}', to: 'transformer.{name*}', note: 'the base model is one level deeper' },
  ];
}

export const xlm: Architecture = {
  modelType: 'xlm',
  summary: "original XLM checkpoint (.pth with 'model', 'params', 'dico_word2id') → XLMWithLMHeadModel keys",
  input: 'pickled-checkpoint',
  detect: { embeddedKeys: ['model', 'params', 'dico_word2id'], baseClass: XLM_CLASS },
  passThroughBuffers,
  buildConfig,
  skip: [{ pattern: '^(?!model\\.)', reason: "not part of chkpt['model'] (parameters, optimizer state)" }],
  rules,
  // transformers copies chkpt['model'] as it is: no fixed key list, shapes and dtypes pass through.
  expectedKeys: () => [],
  configText: (config) => `${pythonJsonDumps(config)}\n`,
  extraFiles: (_config, embedded) => [{ name: 'vocab.json', text: vocabText(embedded) }],
  torchContainer: 'dict',
};
