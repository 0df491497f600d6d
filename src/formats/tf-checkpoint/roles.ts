/**
 * What a checkpoint variable is for, from its name alone. Optimizer slots and training bookkeeping are
 * listed (so `inspect` can say how much of a checkpoint they are) but never converted.
 */
import type { TensorRole } from '../source.js';

/** TF2 object-based names end with this; the meaningful part is before it. */
const ATTRIBUTE_SUFFIX = /\/\.ATTRIBUTES\/VARIABLE_VALUE$/;

/** Last path segments that are optimizer slots in TF1 graphs (Adam, AdamWeightDecay, LAMB, Momentum, …). */
const SLOT_SEGMENTS = new Set([
  'adam_m',
  'adam_v',
  'Adam',
  'Adam_1',
  'Momentum',
  'RMSProp',
  'RMSProp_1',
  'Adagrad',
  'Adadelta',
  'Adadelta_1',
  'Ftrl',
  'Ftrl_1',
  'lamb_m',
  'lamb_v',
  'LAMB',
  'LAMB_1',
  'accumulator',
  'AccumulateGrad',
]);

/** Adafactor (tensor2tensor, mesh-tf T5) appends `_slot_v`, `_slot_vr`, `_slot_vc`, `_slot_m` to the variable name. */
const ADAFACTOR_SLOT = /_slot_(v|vr|vc|m)$/;

/** Scalars that count training progress. */
const BOOKKEEPING = new Set(['global_step', 'beta1_power', 'beta2_power', 'save_counter', 'step', 'iterations']);

export function roleOf(name: string): TensorRole {
  if (name === '_CHECKPOINTABLE_OBJECT_GRAPH') return 'metadata';
  if (name.includes('/.OPTIMIZER_SLOT/')) return 'optimizer';
  const base = name.replace(ATTRIBUTE_SUFFIX, '');
  const segments = base.split('/');
  const last = segments[segments.length - 1] ?? '';
  // TF2 optimizer objects keep their hyperparameters and step counter under `optimizer/…`.
  if (segments[0] === 'optimizer') return 'bookkeeping';
  if (BOOKKEEPING.has(base)) return 'bookkeeping';
  if (base.startsWith('losses_avg/')) return 'bookkeeping'; // tensor2tensor's running loss averages
  if (SLOT_SEGMENTS.has(last) || ADAFACTOR_SLOT.test(last)) return 'optimizer';
  return 'weight';
}
