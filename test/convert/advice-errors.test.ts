/**
 * Errors that a conversion option resolves (an ambiguous or unknown type, a config that is a folder, a
 * config a type needs) carry their advice as data: a stable code, the option, the choices, a template.
 * The command line prints them as before (flags); the library's spelling names its options instead.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getArchitecture, MODEL_TYPES } from '../../src/architectures/index.js';
import {
  AdviceCode,
  COMMAND_LINE_SPELLING,
  type ErrorAdvice,
  isTf2TorchError,
  LIBRARY_SPELLING,
  planConversion,
  renderNotice,
} from '../../src/index.js';
import type { ConfigInput } from '../../src/mapping/types.js';
import { runCli } from '../support/cli.js';
import { seededRandom } from '../support/random.js';
import { tempDir } from '../support/temp.js';
import { writeBundle } from '../support/tf-bundle-writer.js';
import { float32Tensor, TINY_BERT_CONFIG, tinyBertWeights } from '../support/tiny-bert.js';

/** The advice of the error `run` fails with; its message is the command line's wording of it. */
async function adviceOf(run: Promise<unknown>): Promise<{ advice: ErrorAdvice; message: string }> {
  try {
    await run;
  } catch (error) {
    assert.ok(isTf2TorchError(error), String(error));
    assert.ok(error.advice, `no advice on: ${error.message}`);
    assert.equal(renderNotice(error.advice, COMMAND_LINE_SPELLING), error.message);
    const library = renderNotice(error.advice, LIBRARY_SPELLING);
    assert.doesNotMatch(library, /--[a-z]/, library);
    return { advice: error.advice, message: error.message };
  }
  throw new Error('expected an error');
}

test('an ambiguous type: the candidates as data; the command line words it as before, the library by its option', async (t) => {
  const dir = tempDir(t, 'advice');
  // BERT's names next to an ELECTRA layer: either could be meant
  const extra = 'electra/encoder/layer_0/extra/kernel';
  await writeBundle(join(dir, 'model.ckpt'), [...tinyBertWeights(7), float32Tensor(extra, [4, 4], seededRandom(8))]);
  const { advice, message } = await adviceOf(planConversion({ checkpoint: join(dir, 'model.ckpt') }));
  assert.equal(advice.code, AdviceCode.TYPE_AMBIGUOUS);
  assert.equal(advice.option, 'modelType');
  assert.deepEqual(advice.choices, ['bert', 'electra']);
  assert.match(
    message,
    /the model type is ambiguous; it could be bert \(.*\) or electra \(.*\): choose with --model_type bert\|electra$/,
  );
  assert.match(renderNotice(advice, LIBRARY_SPELLING), /: choose with option modelType 'bert' or 'electra'$/);
  const cli = runCli([
    'convert',
    '--tf_checkpoint',
    join(dir, 'model.ckpt'),
    '--pytorch_dump_output',
    join(dir, 'out'),
  ]);
  assert.equal(cli.stderr, `error[E_USAGE]: ${message}\n`);

  // the type given is not what the names say: the detected types offered
  const mismatch = await adviceOf(planConversion({ checkpoint: join(dir, 'model.ckpt'), modelType: 'gpt2' }));
  assert.equal(mismatch.advice.code, AdviceCode.TYPE_MISMATCH);
  assert.deepEqual(mismatch.advice.choices, ['bert', 'electra']);
  assert.match(mismatch.message, /: --model_type gpt2, but these variables look like bert .* or electra .*, not gpt2$/);
});

test('an unknown type, a config folder, a config a type needs: the option and the choices as data', async (t) => {
  const dir = tempDir(t, 'advice');
  mkdirSync(join(dir, 'ck'));
  mkdirSync(join(dir, 'configs'));
  await writeBundle(join(dir, 'ck', 'bert_model.ckpt'), tinyBertWeights(3));
  writeFileSync(join(dir, 'configs', 'bert_config.json'), JSON.stringify(TINY_BERT_CONFIG));
  const checkpoint = join(dir, 'ck', 'bert_model.ckpt');

  const unknown = await adviceOf(planConversion({ checkpoint, modelType: 'roberta' }));
  assert.equal(unknown.advice.code, AdviceCode.TYPE_UNKNOWN);
  assert.deepEqual(unknown.advice.choices, MODEL_TYPES);
  assert.equal(unknown.message, `unknown --model_type 'roberta' (known: ${MODEL_TYPES.join(', ')})`);
  assert.equal(
    renderNotice(unknown.advice, LIBRARY_SPELLING),
    `unknown option modelType 'roberta' (known: ${MODEL_TYPES.join(', ')})`,
  );

  const folder = await adviceOf(planConversion({ checkpoint, modelType: 'bert', config: join(dir, 'configs') }));
  assert.equal(folder.advice.code, AdviceCode.CONFIG_IS_FOLDER);
  assert.equal(folder.advice.option, 'config');
  const file = join(dir, 'configs', 'bert_config.json');
  assert.equal(
    folder.message,
    `--config ${join(dir, 'configs')} is a folder: give the file itself, e.g. --config ${file}`,
  );
  assert.equal(
    renderNotice(folder.advice, LIBRARY_SPELLING),
    `option config '${join(dir, 'configs')}' is a folder: give the file itself, e.g. option config '${file}'`,
  );

  // xlnet's config is never derived: without one, its type's config step asks for it
  const xlnet = getArchitecture('xlnet');
  const needed = await adviceOf(
    (async () => xlnet.buildConfig({ listing: [], note: () => {} } as unknown as ConfigInput))(),
  );
  assert.equal(needed.advice.code, AdviceCode.CONFIG_NEEDED);
  assert.equal(needed.advice.option, 'config');
  assert.equal(needed.message, 'xlnet needs --config (the xlnet_config.json released with the checkpoint)');
});
