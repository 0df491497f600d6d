/** The public API of tf2torch, listed explicitly. Everything not exported here is internal. */
export { ErrorCode, Tf2TorchError, isTf2TorchError } from './errors.js';
export {
  DTYPES,
  numElements,
  memoryTensor,
  sameStorageView,
  type DType,
  type DTypeInfo,
  type StorageView,
  type TensorRef,
} from './tensor.js';
export { openTensorSource, OPENERS, type TensorSource, type TensorRole, type OpenOptions } from './formats/open.js';
export {
  openCheckpoint,
  resolveCheckpointPath,
  roleOf,
  TfCheckpoint,
  type ResolvedCheckpoint,
} from './formats/tf-checkpoint/index.js';
export { writeTorchFile, type TorchWriteOptions } from './formats/torch/write.js';
export { openTorchFile, type TorchFile, type TorchOpenOptions } from './formats/torch/read.js';
export { PyFloat } from './formats/torch/py-float.js';
export { writeSafetensorsFile, type SafetensorsWriteOptions } from './formats/safetensors/write.js';
export { openSafetensors, type SafetensorsSource } from './formats/safetensors/read.js';
export { DEFAULT_MAX_SHARD_SIZE, parseShardSize, writeWeights, type WriteWeightsOptions } from './formats/sharding.js';
export {
  convert,
  planConversion,
  type ConvertOptions,
  type ConvertResult,
  type PlannedConversion,
} from './convert/index.js';
export { buildPlan, formatPlan, type Plan, type PlanOutput, type PlanOptions } from './mapping/index.js';
export type { Architecture, ExpectedKey, ModelConfig, Rule, SkipRule, TensorInfo, Transform } from './mapping/types.js';
export { ARCHITECTURES, getArchitecture } from './architectures/index.js';
