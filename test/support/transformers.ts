/**
 * The real Hugging Face client: transformers 4.29.2 and huggingface_hub 0.14.1 for /usr/bin/python3, as
 * `../shared/clients/setup-transformers.sh DEST` lays them out (no `safetensors` package: safetensors weights
 * are loaded with `state_dict=`). Found through TF2TORCH_TRANSFORMERS (the PYTHONPATH `.ci/run` exports), else
 * set up once into a cache folder when the script is there. Tests call `transformersPython(t)`; without it
 * they skip with a visible notice locally and fail under CI=true.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { IN_CI } from './fixtures.js';

const SETUP_SCRIPT = resolve(process.cwd(), '..', 'shared', 'clients', 'setup-transformers.sh');
const CACHE_DIR = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tf2torch-transformers');
const PYTHON = '/usr/bin/python3';

export interface TransformersClient {
  readonly python: string;
  /** The PYTHONPATH holding `transformers` and `huggingface_hub`. */
  readonly path: string;
}

let cached: { client?: TransformersClient; why: string } | undefined;

/** The environment of every run: offline, no TensorFlow probing, the laid-out sources first. */
export function transformersEnv(client: TransformersClient): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: client.path,
    USE_TF: '0',
    USE_FLAX: '0',
    TRANSFORMERS_OFFLINE: '1',
    HF_HUB_OFFLINE: '1',
    HF_HUB_DISABLE_TELEMETRY: '1',
  };
}

function works(client: TransformersClient): boolean {
  const r = spawnSync(client.python, ['-c', 'import transformers, huggingface_hub, torch'], {
    env: transformersEnv(client),
    encoding: 'utf8',
  });
  return r.status === 0;
}

function find(): { client?: TransformersClient; why: string } {
  const given = process.env.TF2TORCH_TRANSFORMERS;
  if (given) {
    const client = { python: PYTHON, path: given };
    return works(client)
      ? { client, why: '' }
      : { why: `TF2TORCH_TRANSFORMERS=${given}: ${PYTHON} cannot import transformers, huggingface_hub, torch there` };
  }
  if (!existsSync(SETUP_SCRIPT))
    return { why: `no real transformers: set TF2TORCH_TRANSFORMERS, or provide ${SETUP_SCRIPT}` };
  const r = spawnSync(SETUP_SCRIPT, [CACHE_DIR], { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || path === '')
    return { why: `${SETUP_SCRIPT} ${CACHE_DIR} failed (${r.status}): ${r.stderr.slice(-400)}` };
  const client = { python: PYTHON, path };
  return works(client) ? { client, why: '' } : { why: `${path}: transformers does not import` };
}

/** The real transformers, or undefined after marking the test skipped (fails in CI). */
export function transformersPython(t: TestContext): TransformersClient | undefined {
  cached ??= find();
  if (cached.client) return cached.client;
  if (IN_CI) throw new Error(`${cached.why}; CI=true requires it`);
  console.error(`SKIP: ${cached.why}`);
  t.skip(cached.why);
  return undefined;
}

/** Runs a Python script with the real transformers; throws with its stderr when it fails; returns stdout. */
export function runTransformers(client: TransformersClient, script: string, args: string[] = []): string {
  const r = spawnSync(client.python, ['-c', script, ...args], {
    env: transformersEnv(client),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`python (transformers) failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

export interface LoadedTokenizer {
  class: string;
  lower: boolean | null;
  max: number | null;
  special: Record<string, unknown>;
  decoded: string;
  unk: boolean;
}

/** AutoTokenizer (slow) on `folder`: its class, casing, model_max_length (null: unset), special tokens, `sentence` encoded and decoded. */
export function loadTokenizer(client: TransformersClient, folder: string, sentence: string): LoadedTokenizer {
  const script = `
import json, sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1], use_fast=False)  # no tokenizers package here
ids = tok.encode(sys.argv[2])
print(json.dumps({
    'class': type(tok).__name__,
    'lower': getattr(tok, 'do_lower_case', None),
    'max': tok.model_max_length if tok.model_max_length < 10**29 else None,
    'special': {k: [getattr(x, 'content', x) for x in v] if isinstance(v, list) else getattr(v, 'content', v)
                for k, v in tok.special_tokens_map_extended.items()},
    'decoded': tok.decode(ids, skip_special_tokens=True),
    'unk': tok.unk_token_id in ids,
}))
`;
  return JSON.parse(runTransformers(client, script, [folder, sentence])) as LoadedTokenizer;
}

/** A vocab.txt of `size` pieces: BERT's special tokens, then tok5, tok6, … (no upper case: uncased). */
export const tinyWordPieceVocab = (size: number): string =>
  Array.from({ length: size }, (_, i) => ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'][i] ?? `tok${i}`).join('\n');

/** A converted folder's WordPiece tokenizer (tinyWordPieceVocab) as AutoTokenizer loads it. */
export function assertWordPieceTokenizer(t: TestContext, folder: string, className: string): void {
  const client = transformersPython(t);
  if (!client) return;
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  const got = loadTokenizer(client, folder, 'tok5 tok6');
  assert.deepEqual(
    { class: got.class, lower: got.lower, max: got.max, decoded: got.decoded, cls: got.special.cls_token },
    { class: className, lower: true, max: config.max_position_embeddings, decoded: 'tok5 tok6', cls: '[CLS]' },
  );
}

/** A SentencePiece model trained by the real sentencepiece, with every type's special tokens as symbols. */
export function trainSentencePiece(client: TransformersClient, dir: string): string {
  runTransformers(
    client,
    `
import sys, sentencepiece as spm
lines = ['The quick brown fox jumps over the lazy dog.', 'Hello world, this is a test sentence.',
         'Some more words here, and numbers 1 2 3.'] * 50
open(sys.argv[1] + '/corpus.txt', 'w').write('\\n'.join(lines))
spm.SentencePieceTrainer.train(input=sys.argv[1] + '/corpus.txt', model_prefix=sys.argv[1] + '/sp', vocab_size=120,
  hard_vocab_limit=False, model_type='unigram', pad_id=0, unk_id=1, bos_id=2, eos_id=3, minloglevel=2,
  user_defined_symbols=['[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]', '<cls>', '<sep>', '<mask>', '<eod>', '<eop>'])
`,
    [dir],
  );
  return join(dir, 'sp.model');
}
