/**
 * The public API of tf2torch, listed explicitly. Everything not exported here is internal. This is the
 * Node entry: `convert`/`planConversion` take paths of the file system. The platform-neutral entry points
 * (a checkpoint given as a FileTree, outputs as an OutputTree: browsers, workers) are in `portable.ts`
 * and exported here too.
 */

export {
  type Detected,
  type DetectionInput,
  describeRecognition,
  detectArchitecture,
  type Recognition,
} from './architectures/detect.js';
export { ARCHITECTURES, getArchitecture } from './architectures/index.js';
export { GLUE_TASKS_NUM_LABELS } from './architectures/task-heads.js';
export {
  type ConvertOptions,
  type ConvertResult,
  /** Node: `output` a path (file or folder) or an OutputTree; the portable entry's `convert` takes trees only. */
  convert,
  planConversion,
} from './convert/index.js';
export { openSafetensors, type SafetensorsSource } from './formats/safetensors/read.js';
export { type SafetensorsWriteOptions, writeSafetensorsFile } from './formats/safetensors/write.js';
export { DEFAULT_MAX_SHARD_SIZE, parseShardSize, type WriteWeightsOptions, writeWeights } from './formats/sharding.js';
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
export type { Detection, HeadSignature } from './mapping/detection-rules.js';
export type { Architecture, ExpectedKey, ModelConfig, Rule, SkipRule, TensorInfo, Transform } from './mapping/types.js';
export * from './portable.js';
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
