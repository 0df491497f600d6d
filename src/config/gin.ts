/**
 * Gin configs (Mesh TensorFlow / T5 `operative_config.gin`): parsing into plain data, lookups with
 * gin's scoping rules, and the T5Config fields they determine.
 */

export { ginBinding, ginParam, readGinFile, resolveGinValue } from './gin-lookup.js';
export {
  type GinBinding,
  type GinConfig,
  type GinDict,
  type GinMacro,
  type GinReference,
  type GinTuple,
  type GinValue,
  MAX_GIN_BYTES,
  MAX_GIN_DEPTH,
  parseGin,
} from './gin-parser.js';
export { type MeshVariable, parseMeshModelInfo } from './mesh-model-info.js';
export { type ListedVariable, type T5ConfigFields, type T5Field, type T5GinResult, t5ConfigFromGin } from './t5-gin.js';
