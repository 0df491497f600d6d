/**
 * What a checkpoint variable is for, from its name alone. Optimizer slots and training bookkeeping are
 * listed (so `inspect` can say how much of a checkpoint they are) but never converted; which names
 * they are is the trainer-state registry's knowledge (formats/trainer-state.ts).
 */
import type { TensorRole } from '../source.js';
import { trainerStateOf } from '../trainer-state.js';

export function roleOf(name: string): TensorRole {
  if (name === '_CHECKPOINTABLE_OBJECT_GRAPH') return 'metadata';
  return trainerStateOf(name)?.kind ?? 'weight';
}
