/** The mapping layer's public surface: plans from listings, transforms on shapes. */

export { transformType } from '../kernels/transforms.js';
export { describeTransform, formatPlan } from './format-plan.js';
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
