/**
 * The explicit registry of model types: one line per architecture file, nothing registered by side
 * effect. `--model_type` values are spelled as transformers-cli spells them.
 */
import { ErrorCode } from '../errors.js';
import { AdviceCode, adviceError } from '../mapping/notices.js';
import type { Architecture } from '../mapping/types.js';
import { albert } from './albert.js';
import { bert } from './bert.js';
import { bertTf2 } from './bert-tf2.js';
import { bigBird } from './big-bird.js';
import { bigbirdPegasus } from './bigbird-pegasus.js';
import { canine } from './canine.js';
import { convbert } from './convbert.js';
import { electra } from './electra.js';
import { funnel } from './funnel.js';
import { gpt } from './gpt.js';
import { gptNeo } from './gpt-neo.js';
import { gpt2 } from './gpt2.js';
import { imagegpt } from './imagegpt.js';
import { lxmert } from './lxmert.js';
import { mobilebert } from './mobilebert.js';
import { mobilenetV1 } from './mobilenet-v1.js';
import { mobilenetV2 } from './mobilenet-v2.js';
import { pegasus } from './pegasus.js';
import { rembert } from './rembert.js';
import { roformer } from './roformer.js';
import { t5 } from './t5.js';
import { tapas } from './tapas.js';
import { transfoXl } from './transfo-xl.js';
import { xlm } from './xlm.js';
import { xlnet } from './xlnet.js';

export const ARCHITECTURES: readonly Architecture[] = [
  bert,
  albert,
  gpt2,
  t5,
  xlnet,
  gpt,
  transfoXl,
  xlm,
  mobilebert,
  electra,
  rembert,
  funnel,
  lxmert,
  bertTf2,
  pegasus,
  gptNeo,
  imagegpt,
  canine,
  bigBird,
  bigbirdPegasus,
  tapas,
  roformer,
  convbert,
  mobilenetV1,
  mobilenetV2,
];

/** The `--model_type` values, each once (a type may read both name-based and object-based checkpoints). */
export const MODEL_TYPES: readonly string[] = [...new Set(ARCHITECTURES.map((a) => a.modelType))];

export function getArchitecture(modelType: string): Architecture {
  const found = ARCHITECTURES.find(
    (a) => (a.modelType === modelType || a.aliases?.includes(modelType) === true) && a.objectBased !== true,
  );
  if (found) return found;
  throw adviceError(ErrorCode.USAGE, {
    code: AdviceCode.TYPE_UNKNOWN,
    option: 'modelType',
    choices: MODEL_TYPES,
    template: "unknown {@modelType} '{given}' (known: {known})",
    values: { given: modelType, known: MODEL_TYPES },
  });
}

/** The reader of TF2 object-based checkpoints of `modelType`, if tf2torch has one. */
export function getObjectBasedArchitecture(modelType: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => a.modelType === modelType && a.objectBased === true);
}
