/** The mapping layer's public surface: plans from listings, transforms on shapes and bytes. */

export { applyTransforms, type DenseTensor } from '../kernels/apply.js';
export { castBytes } from '../kernels/cast.js';
export { describeTransform, transformType } from '../kernels/transforms.js';
export { formatPlan } from './format-plan.js';
export { compilePattern, fillPattern, matchPattern } from './pattern.js';
export {
  type AbsentKey,
  buildPlan,
  normalizeName,
  type Plan,
  type PlanOptions,
  type PlanOutput,
  type PlanSource,
  skipReason,
} from './plan.js';
export type * from './types.js';
