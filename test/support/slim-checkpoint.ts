/**
 * Test checkpoints as tensorflow/models' TF-slim trainer leaves them (research/slim/train_image_classifier.py):
 * every model variable with seeded values; beside each trainable one its optimizer's slots (the default
 * RMSPropOptimizer's `{var}/RMSProp` and `{var}/RMSProp_1`, or MomentumOptimizer's `{var}/Momentum`); with
 * `--moving_average_decay`, an ExponentialMovingAverage shadow `{var}/ExponentialMovingAverage` of every model
 * variable (`slim.get_model_variables()`: the BatchNorm statistics included); and the int64 `global_step`.
 * Slim's layers name their variables `weights`/`biases` (conv2d), `depthwise_weights` (separable_conv2d
 * without pointwise filters) and `BatchNorm/{beta,gamma,moving_mean,moving_variance}` (batch_norm with
 * center and scale, as the MobileNets' arg scopes set them). Plus naive reference loops for the expected
 * state dict: any axis permutation, as numpy's `np.transpose(array, axes)` copies it.
 */
import { DTYPES } from '../../src/tensor.js';
import { seededRandom } from './random.js';
import type { RawTensor } from './reference-transforms.js';
import { type BundleTensor, randomTensorBytes, writeBundle } from './tf-bundle-writer.js';

export interface SlimVariable {
  readonly name: string;
  readonly shape: readonly number[];
  /** Trained by the optimizer (slots beside it); BatchNorm's moving statistics are not. */
  readonly trainable: boolean;
}

/** A slim conv2d (or depthwise separable_conv2d) with its batch_norm, under `scope`. */
export function slimConvLayer(
  scope: string,
  kernel: number,
  inC: number,
  outC: number,
  depthwise = false,
): SlimVariable[] {
  const n = depthwise ? inC : outC;
  return [
    depthwise
      ? { name: `${scope}/depthwise_weights`, shape: [kernel, kernel, inC, 1], trainable: true }
      : { name: `${scope}/weights`, shape: [kernel, kernel, inC, outC], trainable: true },
    { name: `${scope}/BatchNorm/beta`, shape: [n], trainable: true },
    { name: `${scope}/BatchNorm/gamma`, shape: [n], trainable: true },
    { name: `${scope}/BatchNorm/moving_mean`, shape: [n], trainable: false },
    { name: `${scope}/BatchNorm/moving_variance`, shape: [n], trainable: false },
  ];
}

export const OPTIMIZER_SLOTS = { rmsprop: ['RMSProp', 'RMSProp_1'], momentum: ['Momentum'] } as const;

export async function writeSlimCheckpoint(
  prefix: string,
  variables: readonly SlimVariable[],
  { seed = 1, optimizer = 'rmsprop' as keyof typeof OPTIMIZER_SLOTS, movingAverages = true } = {},
): Promise<void> {
  const random = seededRandom(seed);
  const float = (name: string, shape: readonly number[]): BundleTensor => ({
    name,
    dtype: 'float32',
    shape: [...shape],
    bytes: randomTensorBytes(
      'float32',
      shape.reduce((a, b) => a * b, 1),
      random,
    ),
  });
  const step = new Uint8Array(8);
  new DataView(step.buffer).setBigInt64(0, 123456n, true);
  const tensors: BundleTensor[] = [];
  for (const v of variables) {
    tensors.push(float(v.name, v.shape));
    if (movingAverages) tensors.push(float(`${v.name}/ExponentialMovingAverage`, v.shape));
    if (v.trainable) for (const slot of OPTIMIZER_SLOTS[optimizer]) tensors.push(float(`${v.name}/${slot}`, v.shape));
  }
  tensors.push({ name: 'global_step', dtype: 'int64', shape: [], bytes: step });
  await writeBundle(prefix, tensors);
}

/** numpy's `np.transpose(t, axes)`, copied element by element: result index i reads source index i permuted back. */
export function permute(t: RawTensor, axes: readonly number[]): RawTensor {
  const shape = axes.map((a) => t.shape[a] as number);
  const size = DTYPES[t.dtype].itemSize;
  const srcStrides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Uint8Array(t.bytes.length);
  const count = shape.reduce((a, b) => a * b, 1);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < count; flat++) {
    let rest = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = rest % (shape[d] as number);
      rest = Math.floor(rest / (shape[d] as number));
    }
    let from = 0;
    for (let d = 0; d < shape.length; d++) from += (index[d] as number) * (srcStrides[axes[d] as number] as number);
    out.set(t.bytes.subarray(from * size, from * size + size), flat * size);
  }
  return { dtype: t.dtype, shape, bytes: out };
}

/** numpy's `squeeze()`: the same bytes without the size-1 axes. */
export const squeezed = (t: RawTensor): RawTensor => ({ ...t, shape: t.shape.filter((d) => d !== 1) });

/** BatchNorm2d's num_batches_tracked of a freshly built model: int64 0. */
export const ZERO_COUNTER: RawTensor = { dtype: 'int64', shape: [], bytes: new Uint8Array(8) };
