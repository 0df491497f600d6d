/**
 * `tokenizer_config.json` and `special_tokens_map.json` as transformers' `save_pretrained` writes them
 * (json.dumps, indent 2, sorted keys, a trailing newline), from an architecture's `tokenizer` and the
 * evidence for casing: --do_lower_case, then a release name saying "uncased"/"cased", then (WordPiece)
 * whether vocab.txt has word pieces that lowercasing would change.
 */
import { pythonJsonDumps } from '../io/python-json.js';
import { type Notice, NoticeCode, notice } from '../mapping/notices.js';
import type { Architecture, ModelConfig, TokenizerSpec } from '../mapping/types.js';

export interface TokenizerEvidence {
  /** `--do_lower_case true|false`. */
  readonly doLowerCase?: boolean;
  /** Names that may say "uncased" or "cased": the checkpoint's folder and file. */
  readonly releaseNames: readonly string[];
  /** Whether a file of that name is beside the checkpoint. */
  readonly hasFile: (name: string) => boolean;
  /** vocab.txt beside the checkpoint (WordPiece casing), read only when needed. */
  readonly vocabText: () => string | undefined;
}

export interface TokenizerConfigFiles {
  readonly files: readonly { readonly name: string; readonly text: string }[];
  /** What the files record and which evidence decided (a `note:` line). */
  readonly note: Notice;
}

const dumps = (value: Record<string, unknown>) => `${pythonJsonDumps(value, 2, true)}\n`;

/** transformers' SpecialTokensMixin.SPECIAL_TOKENS_ATTRIBUTES. */
const SPECIAL_TOKENS_ATTRIBUTES = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
  'additional_special_tokens',
];

/** special_tokens_map.json: the special tokens of `init` set to something, AddedTokens without their type tag. */
function specialTokensMap(init: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(init)) {
    if (!SPECIAL_TOKENS_ATTRIBUTES.includes(key) || value === null) continue;
    if (typeof value === 'object' && !Array.isArray(value)) {
      const { __type: _, ...token } = value as Record<string, unknown>;
      map[key] = token;
    } else map[key] = value;
  }
  return map;
}

/** "uncased" or "cased" in a name as a word of its own (uncased_L-12_H-768_A-12, multi_cased_L-12…). */
function nameSays(names: readonly string[]): { lower: boolean; name: string } | undefined {
  for (const name of names) {
    if (/(^|[^a-z])uncased([^a-z]|$)/i.test(name)) return { lower: true, name };
    if (/(^|[^a-z])cased([^a-z]|$)/i.test(name)) return { lower: false, name };
  }
  return undefined;
}

/** Word pieces (special tokens aside) that lowercasing changes: an uncased vocabulary has none. */
function upperCasePieces(vocab: string): string[] {
  const found: string[] = [];
  for (const line of vocab.split('\n')) {
    const piece = line.replace(/\r$/, '');
    if (/^\[[^\]]*\]$|^<[^>]*>$/.test(piece)) continue;
    if (piece !== piece.toLowerCase()) found.push(piece);
  }
  return found;
}

/** The casing was given (the `doLowerCase` option): a placeholder the notice's wording spells. */
const GIVEN = '{@doLowerCase}';

function decideCasing(
  casing: NonNullable<TokenizerSpec['casing']>,
  evidence: TokenizerEvidence,
): { lower: boolean; why: string } {
  if (evidence.doLowerCase !== undefined) return { lower: evidence.doLowerCase, why: GIVEN };
  const named = nameSays(evidence.releaseNames);
  if (named) return { lower: named.lower, why: `the release name '${named.name}'` };
  if (casing !== 'wordpiece')
    return { lower: casing.sentencepiece, why: "the tokenizer's default; no release name says cased or uncased" };
  const upper = upperCasePieces(evidence.vocabText() ?? '');
  if (upper.length === 0) return { lower: true, why: 'vocab.txt has no upper-case word pieces' };
  const count = upper.length.toLocaleString('en-US');
  return {
    lower: false,
    why: `vocab.txt has ${count} upper-case word piece${upper.length > 1 ? 's' : ''}, e.g. '${upper[0]}'`,
  };
}

function maxLengthOf(spec: TokenizerSpec, config: ModelConfig): { value: number; why: string } | undefined {
  if (spec.maxLength === undefined) return undefined;
  if (typeof spec.maxLength !== 'string') return { value: spec.maxLength.fixed, why: spec.maxLength.why };
  const value = config[spec.maxLength];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
    ? { value, why: spec.maxLength }
    : undefined;
}

/**
 * The two files, when the architecture has a tokenizer and every file it loads is beside the checkpoint
 * (otherwise none: the folder has no tokenizer, and a warning already says so).
 */
export function tokenizerConfigFiles(
  architecture: Architecture,
  config: ModelConfig,
  evidence: TokenizerEvidence,
): TokenizerConfigFiles | undefined {
  const spec = architecture.tokenizer;
  if (spec === undefined) return undefined;
  const sources = architecture.tokenizerFiles ?? [];
  if (!sources.every((f) => (typeof f.from === 'string' ? [f.from] : f.from).some(evidence.hasFile))) return undefined;
  const casing = spec.casing === undefined ? undefined : decideCasing(spec.casing, evidence);
  const maxLength = maxLengthOf(spec, config);
  const init = {
    ...spec.init,
    ...(casing === undefined ? {} : { do_lower_case: casing.lower }),
    ...(maxLength === undefined ? {} : { model_max_length: maxLength.value }),
    tokenizer_class: spec.className,
  };
  const parts = [
    '{tokenizerClass}',
    casing === undefined
      ? undefined
      : `do_lower_case={doLowerCase} (${casing.why === GIVEN ? GIVEN : '{casingEvidence}; {@doLowerCase} true|false overrides'})`,
    maxLength === undefined
      ? 'no model_max_length (the model has no absolute positions)'
      : 'model_max_length={modelMaxLength} ({maxLengthSource})',
    casing === undefined && evidence.doLowerCase !== undefined
      ? '{@doLowerCase} ignored: {tokenizerClass} has no such setting'
      : undefined,
  ].filter((p) => p !== undefined);
  return {
    files: [
      { name: 'tokenizer_config.json', text: dumps(init) },
      { name: 'special_tokens_map.json', text: dumps(specialTokensMap(spec.init)) },
    ],
    note: notice(NoticeCode.TOKENIZER_CONFIG, `tokenizer_config.json: ${parts.join(', ')}`, {
      tokenizerClass: spec.className,
      ...(casing === undefined
        ? {}
        : { doLowerCase: casing.lower, casingEvidence: casing.why === GIVEN ? 'given' : casing.why }),
      ...(maxLength === undefined ? {} : { modelMaxLength: maxLength.value, maxLengthSource: maxLength.why }),
    }),
  };
}

/** An AddedToken as tokenizer_config.json records it. */
export function addedToken(content: string, { lstrip = false, normalized = true } = {}): Record<string, unknown> {
  return { __type: 'AddedToken', content, lstrip, normalized, rstrip: false, single_word: false };
}

const BERT_SPECIAL_TOKENS = {
  cls_token: '[CLS]',
  mask_token: '[MASK]',
  pad_token: '[PAD]',
  sep_token: '[SEP]',
  unk_token: '[UNK]',
};

/** BertTokenizer and its copies (Electra, MobileBert, Lxmert, Funnel): vocab.txt, casing from the evidence. */
export function wordPieceTokenizer(
  className: string,
  {
    special = BERT_SPECIAL_TOKENS as Record<string, string>,
    maxLength = 'max_position_embeddings' as TokenizerSpec['maxLength'],
  } = {},
): TokenizerSpec {
  return {
    className,
    init: {
      ...special,
      clean_up_tokenization_spaces: true,
      do_basic_tokenize: true,
      never_split: null,
      strip_accents: null,
      tokenize_chinese_chars: true,
    },
    maxLength,
    casing: 'wordpiece',
  };
}
