/**
 * Gin configs (Mesh TensorFlow / T5 `operative_config.gin`): parsing into plain data, lookups with
 * gin's scoping rules, and the T5Config fields they determine.
 */
export {
  MAX_GIN_BYTES,
  MAX_GIN_DEPTH,
  parseGin,
  type GinBinding,
  type GinConfig,
  type GinDict,
  type GinMacro,
  type GinReference,
  type GinTuple,
  type GinValue,
} from './gin-parser.js';
export { ginBinding, ginParam, readGinFile, resolveGinValue } from './gin-lookup.js';
export { t5ConfigFromGin, type ListedVariable, type T5ConfigFields, type T5Field, type T5GinResult } from './t5-gin.js';
export { parseMeshModelInfo, type MeshVariable } from './mesh-model-info.js';
