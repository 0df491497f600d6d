/** The mapping layer's public surface: plans from listings, transforms on shapes and bytes. */
export {
  buildPlan,
  normalizeName,
  skipReason,
  type Plan,
  type PlanOutput,
  type PlanOptions,
  type PlanSource,
} from './plan.js';
export { formatPlan } from './format-plan.js';
export { applyTransforms, type DenseTensor } from './apply.js';
export { castBytes } from './cast.js';
export { transformType, describeTransform, FLOAT_DTYPES } from './transforms.js';
export { compilePattern, matchPattern, fillPattern } from './pattern.js';
export type * from './types.js';
