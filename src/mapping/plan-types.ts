/** The Plan, plain data: what buildPlan() produces, --dry-run prints and the executor streams. */
import type { DType } from '../tensor.js';
import type { GeneratedValues, Transform } from './types.js';

export interface PlanSource {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export type PlanOutput =
  | {
      readonly kind: 'tensor';
      readonly key: string;
      readonly sources: readonly PlanSource[];
      readonly transforms: readonly Transform[];
      readonly shape: readonly number[];
      readonly dtype: DType;
      readonly note?: string;
    }
  | {
      readonly kind: 'alias';
      readonly key: string;
      readonly aliasOf: string;
      /** Written again under this name in safetensors (ExpectedKey.copyInSafetensors). */
      readonly copyInSafetensors?: boolean;
      readonly shape: readonly number[];
      readonly dtype: DType;
    }
  | {
      readonly kind: 'generated';
      readonly key: string;
      readonly generator: GeneratedValues;
      readonly shape: readonly number[];
      readonly dtype: DType;
    };

export interface Plan {
  readonly modelType: string;
  /** The model class the keys belong to (config `architectures[0]`), if known. */
  readonly modelClass: string | undefined;
  /** Checkpoint variables considered. */
  readonly variableCount: number;
  /** Every output key in state_dict order. */
  readonly outputs: readonly PlanOutput[];
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  /** Variables no rule maps (only when skipUnknown; otherwise buildPlan fails). */
  readonly unmapped: readonly PlanSource[];
  /** Keys of the model the checkpoint does not provide: left for from_pretrained to initialise. */
  readonly missing: readonly AbsentKey[];
  /** Keys the checkpoint does not provide, written as zeros (the original initialises them so, as transformers does). */
  readonly zeroFilled: readonly AbsentKey[];
  readonly warnings: readonly string[];
  /** Bytes of tensor data written once (aliases share storage). */
  readonly totalBytes: number;
}

export interface AbsentKey {
  readonly key: string;
  readonly shape: readonly number[];
}

export interface PlanOptions {
  /** Unmapped variables become a warning instead of an error. */
  readonly skipUnknown?: boolean;
  /** Output dtype of floating-point tensors; absent: the architecture's default, else the checkpoint's; 'keep': the checkpoint's. */
  readonly dtype?: 'keep' | DType;
}
