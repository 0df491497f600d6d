/**
 * Trainer state: variables a training run saves beside the weights (optimizer slots, step counters, loss
 * scaling, gradient accumulators, moving averages), recognised from the name alone. One registry, used
 * by `inspect`'s roles and by every conversion plan, which never maps these onto weights: a slot has
 * the shape of its weight (`…/LayerNorm/beta/accum` is a LayerNorm bias's shape), so only the name can
 * tell them apart.
 */

export type TrainerStateKind = 'optimizer' | 'bookkeeping';

export interface TrainerState {
  readonly kind: TrainerStateKind;
  /** Why it is not a weight, as plans print it. */
  readonly reason: string;
}

/** A TF2 slot variable's key: the optimizer's object path, then the slot's name. */
const TF2_SLOT = /\/\.OPTIMIZER_SLOT\/(.+)\/([^/]+)\/\.ATTRIBUTES\/[^/]+$/;

/** TF2 object-based names end with this; the meaningful part is before it. */
const ATTRIBUTE_SUFFIX = /\/\.ATTRIBUTES\/VARIABLE_VALUE$/;

/**
 * Last name segments a TF1 trainer appends to a variable's name (`<var>/<slot>`). tf.train optimizers
 * name slots after the optimizer (`Adam`, `Adam_1`, …); google-research/bert's AdamWeightDecayOptimizer
 * and the LAMB of NVIDIA DeepLearningExamples' BERT (optimization.py) write `adam_m`/`adam_v`;
 * google-research/albert's lamb_optimizer.py `lamb_m`/`lamb_v`. NVIDIA's BERT also writes `accum`
 * (gradient accumulation, num_accumulation_steps > 1) and `shadow` (float32 master copy, manual_fp16).
 */
const SLOT_SEGMENTS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    adam_m: 'Adam first moment',
    adam_v: 'Adam second moment',
    AdamWeightDecayOptimizer: 'Adam first moment',
    AdamWeightDecayOptimizer_1: 'Adam second moment',
    Adam: 'Adam first moment',
    Adam_1: 'Adam second moment',
    lamb_m: 'LAMB first moment',
    lamb_v: 'LAMB second moment',
    LAMB: 'LAMB first moment',
    LAMB_1: 'LAMB second moment',
    Momentum: 'Momentum accumulator',
    RMSProp: 'RMSProp mean square',
    RMSProp_1: 'RMSProp momentum',
    Adagrad: 'Adagrad accumulator',
    AdagradDA: 'AdagradDA gradient accumulator',
    AdagradDA_1: 'AdagradDA squared accumulator',
    ProximalAdagrad: 'ProximalAdagrad accumulator',
    Adadelta: 'Adadelta accumulator',
    Adadelta_1: 'Adadelta update accumulator',
    Ftrl: 'Ftrl accumulator',
    Ftrl_1: 'Ftrl linear accumulator',
    accumulator: 'accumulator',
    AccumulateGrad: 'gradient accumulator',
    accum: 'gradient accumulator',
    shadow: 'float32 master copy of a float16 weight',
    ExponentialMovingAverage: 'exponential moving average',
    // tensor2tensor's AdafactorOptimizer (Pegasus): `m` (with beta1), then `vr`/`vc` (2-D) or `v`, in turn
    Adafactor: 'Adafactor moment estimate',
    Adafactor_1: 'Adafactor moment estimate',
    Adafactor_2: 'Adafactor moment estimate',
  }),
);

/** A second optimizer of the same kind in one graph numbers its slots on: `Adam_2`, `Adam_3`, `Momentum_1`. */
const NUMBERED_SLOT = /^(Adam|LAMB|Momentum|RMSProp|Adagrad|Adadelta|Ftrl|AdamWeightDecayOptimizer)_\d+$/;

/** Adafactor (tensor2tensor, mesh-tf T5) appends `_slot_v`, `_slot_vr`, `_slot_vc`, `_slot_m` to the name. */
const ADAFACTOR_SLOT = /_slot_(v|vr|vc|m)$/;

/**
 * Last segments of training counters and loss-scaling state (at the root or inside a scope). NVIDIA's
 * BERT writes `local_step` and `batch_finite` (gradient accumulation); tf.contrib.mixed_precision's loss
 * scale manager `loss_scale`, `good_steps`, `bad_steps`; Keras' dynamic loss scale `current_loss_scale`.
 */
const BOOKKEEPING_SEGMENTS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    global_step: 'step counter',
    beta1_power: 'Adam beta1 power',
    beta2_power: 'Adam beta2 power',
    save_counter: 'checkpoint save counter',
    local_step: 'gradient accumulation step',
    batch_finite: 'gradient accumulation finiteness flag',
    loss_scale: 'loss scale',
    good_steps: 'loss scale counter',
    bad_steps: 'loss scale counter',
    current_loss_scale: 'loss scale',
  }),
);

/** Whole names that count training progress only at the root (`step` inside a scope could be anything). */
const ROOT_BOOKKEEPING: ReadonlyMap<string, string> = new Map(
  Object.entries({ step: 'step counter', iterations: 'Keras optimizer iteration counter' }),
);

/** What trainer state `name` is, or undefined for anything else (weights, buffers, metadata). */
export function trainerStateOf(name: string): TrainerState | undefined {
  // TF2: `<variable>/.OPTIMIZER_SLOT/<optimizer>/<slot>/.ATTRIBUTES/…`, the graph's slot_variables
  const tf2Slot = TF2_SLOT.exec(name);
  if (tf2Slot)
    return { kind: 'optimizer', reason: `optimizer slot: ${tf2Slot[2]} of ${tf2Slot[1]} (TF2 .OPTIMIZER_SLOT)` };
  if (name.includes('/.OPTIMIZER_SLOT/')) return { kind: 'optimizer', reason: 'optimizer slot (TF2 .OPTIMIZER_SLOT)' };
  const base = name.replace(ATTRIBUTE_SUFFIX, '');
  const segments = base.split('/');
  const last = segments[segments.length - 1] ?? '';
  // TF2 optimizer objects keep their hyperparameters and step counter under `optimizer/…`.
  if (segments[0] === 'optimizer') return { kind: 'bookkeeping', reason: 'training bookkeeping: TF2 optimizer state' };
  if (segments[0] === 'losses_avg')
    return { kind: 'bookkeeping', reason: 'training bookkeeping: running loss average (tensor2tensor)' };
  const slot =
    SLOT_SEGMENTS.get(last) ??
    (NUMBERED_SLOT.test(last) ? `${last.replace(/_\d+$/, '')}, numbered by a second optimizer` : undefined);
  if (slot !== undefined) return { kind: 'optimizer', reason: `optimizer slot: ${slot} (${last})` };
  const adafactor = ADAFACTOR_SLOT.exec(last);
  if (adafactor) return { kind: 'optimizer', reason: `optimizer slot: Adafactor (${adafactor[0]})` };
  // A second Adam in one graph numbers its accumulators: beta1_power_1.
  const counter = BOOKKEEPING_SEGMENTS.get(last.replace(/^(beta[12]_power)_\d+$/, '$1'));
  if (counter !== undefined) return { kind: 'bookkeeping', reason: `training bookkeeping: ${counter} (${last})` };
  const rootCounter = segments.length === 1 ? ROOT_BOOKKEEPING.get(base) : undefined;
  if (rootCounter !== undefined)
    return { kind: 'bookkeeping', reason: `training bookkeeping: ${rootCounter} (${base})` };
  return undefined;
}
