/**
 * The explicit registry of model types: one line per architecture file, nothing registered by side
 * effect. `--model_type` values are spelled as transformers-cli spells them.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { Architecture } from '../mapping/types.js';
import { albert } from './albert.js';
import { bert } from './bert.js';
import { electra } from './electra.js';
import { funnel } from './funnel.js';
import { gpt } from './gpt.js';
import { gpt2 } from './gpt2.js';
import { lxmert } from './lxmert.js';
import { mobilebert } from './mobilebert.js';
import { rembert } from './rembert.js';
import { t5 } from './t5.js';
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
];

export function getArchitecture(modelType: string): Architecture {
  const found = ARCHITECTURES.find((a) => a.modelType === modelType);
  if (found) return found;
  const known = ARCHITECTURES.map((a) => a.modelType).join(', ');
  throw new Tf2TorchError(ErrorCode.USAGE, `unknown --model_type '${modelType}' (known: ${known})`);
}
