/**
 * The real transformers (4.29.2, slow tokenizers) for Debian's python3, laid out by
 * `../shared/clients/setup-transformers.sh` (TF2TORCH_CLIENTS to look elsewhere) into a cached folder
 * under the system's temporary directory, or taken from TF2TORCH_TRANSFORMERS (a `site` folder already
 * laid out). Absent, tests skip with a visible notice locally and fail under CI=true.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { IN_CI } from './fixtures.js';

const CLIENTS_DIR = resolve(process.env.TF2TORCH_CLIENTS ?? join(process.cwd(), '..', 'shared', 'clients'));
const PYTHON = process.env.TF2TORCH_PYTHON ?? '/usr/bin/python3';

export interface TransformersPython {
  readonly python: string;
  readonly env: NodeJS.ProcessEnv;
}

let cached: { client?: TransformersPython; why: string } | undefined;

function envFor(site: string): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONPATH: site, USE_TF: '0', TRANSFORMERS_OFFLINE: '1', HF_HUB_OFFLINE: '1' };
}

function setUp(): { client?: TransformersPython; why: string } {
  let site = process.env.TF2TORCH_TRANSFORMERS;
  if (site === undefined) {
    const script = join(CLIENTS_DIR, 'setup-transformers.sh');
    if (!existsSync(script)) return { why: `no ${script} (set TF2TORCH_CLIENTS)` };
    const r = spawnSync('bash', [script, join(tmpdir(), 'tf2torch-transformers-4.29.2')], { encoding: 'utf8' });
    if (r.status !== 0) return { why: `${script} failed: ${r.stderr.trim().split('\n').pop()}` };
    site = r.stdout.trim();
  }
  const probe = spawnSync(PYTHON, ['-c', 'import transformers, sentencepiece'], {
    env: envFor(site),
    encoding: 'utf8',
  });
  if (probe.status !== 0) return { why: `transformers does not import from ${site}: ${probe.stderr.trim()}` };
  return { client: { python: PYTHON, env: envFor(site) }, why: '' };
}

/** The real client, or undefined after marking the test skipped (fails in CI). */
export function transformersPython(t: TestContext): TransformersPython | undefined {
  cached ??= setUp();
  if (cached.client) return cached.client;
  if (IN_CI) throw new Error(`${cached.why}; CI=true requires it`);
  console.error(`SKIP: ${cached.why}`);
  t.skip(cached.why);
  return undefined;
}

/** Runs a Python script under the client; throws with its stderr when it fails; returns stdout. */
export function runTransformers(client: TransformersPython, script: string, args: string[] = []): string {
  const r = spawnSync(client.python, ['-c', script, ...args], {
    encoding: 'utf8',
    env: client.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
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
export function loadTokenizer(client: TransformersPython, folder: string, sentence: string): LoadedTokenizer {
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
