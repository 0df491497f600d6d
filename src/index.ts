/** The public API of tf2torch, listed explicitly. Everything not exported here is internal. */

export {
  type Detected,
  type DetectionInput,
  describeRecognition,
  detectArchitecture,
  type Recognition,
} from './architectures/detect.js';
export { GLUE_TASKS_NUM_LABELS } from './architectures/heads.js';
export { ARCHITECTURES, getArchitecture } from './architectures/index.js';
export {
  type ConvertOptions,
  type ConvertResult,
  convert,
  openAsIs,
  type PlannedConversion,
  planConversion,
} from './convert/index.js';
export { ErrorCode, isTf2TorchError, Tf2TorchError } from './errors.js';
export { OPENERS, openTensorSource } from './formats/open.js';
export { openSafetensors, type SafetensorsSource } from './formats/safetensors/read.js';
export { type SafetensorsWriteOptions, writeSafetensorsFile } from './formats/safetensors/write.js';
export { DEFAULT_MAX_SHARD_SIZE, parseShardSize, type WriteWeightsOptions, writeWeights } from './formats/sharding.js';
export type { OpenOptions, TensorRole, TensorSource, TensorSourceOpener } from './formats/source.js';
export {
  openTfCheckpoint,
  type ResolvedCheckpoint,
  resolveCheckpointPath,
  roleOf,
  TfCheckpoint,
} from './formats/tf-checkpoint/index.js';
export { openTorchFile, type TorchFile, type TorchOpenOptions } from './formats/torch/read.js';
export { type TorchWriteOptions, writeTorchFile } from './formats/torch/write.js';
export { PyFloat } from './io/py-float.js';
export type { Detection, HeadSignature } from './mapping/detection.js';
export { buildPlan, formatPlan, type Plan, type PlanOptions, type PlanOutput } from './mapping/index.js';
export type { Architecture, ExpectedKey, ModelConfig, Rule, SkipRule, TensorInfo, Transform } from './mapping/types.js';
export {
  DTYPES,
  type DType,
  type DTypeInfo,
  memoryTensor,
  numElements,
  type StorageView,
  sameStorageView,
  type TensorRef,
} from './tensor.js';
