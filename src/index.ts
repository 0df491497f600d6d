/** The public API of tf2torch, listed explicitly. Everything not exported here is internal. */
export { ErrorCode, Tf2TorchError, isTf2TorchError } from './errors.js';
export { DTYPES, numElements, memoryTensor, type DType, type DTypeInfo, type TensorRef } from './tensor.js';
export { openCheckpoint, resolveCheckpointPath, roleOf, TfCheckpoint, type ResolvedCheckpoint } from './formats/tf-checkpoint/index.js';
export { convert, planConversion, type ConvertOptions, type ConvertResult, type PlannedConversion } from './convert/index.js';
export { buildPlan, formatPlan, type Plan, type PlanOutput, type PlanOptions } from './mapping/index.js';
export type { Architecture, ExpectedKey, ModelConfig, Rule, SkipRule, TensorInfo, Transform } from './mapping/types.js';
export { ARCHITECTURES, getArchitecture } from './architectures/index.js';
