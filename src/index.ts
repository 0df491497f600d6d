/** The public API of tf2torch, listed explicitly. Everything not exported here is internal. */
export { ErrorCode, Tf2TorchError, isTf2TorchError } from './errors.js';
export { DTYPES, numElements, memoryTensor, type DType, type DTypeInfo, type TensorRef } from './tensor.js';
