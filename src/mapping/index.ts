/** The mapping layer's public surface: plans from listings, transforms on shapes and bytes. */

export { applyTransforms, type DenseTensor } from './apply.js';
export { castBytes } from './cast.js';
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
export { describeTransform, transformType } from './transforms.js';
export type * from './types.js';
