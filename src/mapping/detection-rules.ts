/**
 * How an architecture recognises its own checkpoints, as plain data: the variable names only its
 * original code writes, the files its releases ship beside them, and the heads that choose the model
 * class. `architectures/detect.ts` reads these declarations; nothing here touches bytes.
 */

/** A fine-tuned head: a variable whose presence makes the checkpoint a given model class. */
export interface HeadSignature {
  /** Regular expression source, anchored by the author, matched against names as the architecture normalises them. */
  readonly variable: string;
  readonly modelClass: string;
  /** The axis of the variable's shape that counts the labels (classification heads). */
  readonly labelsAxis?: number;
}

export interface Detection {
  /** Regular expression sources (anchored by the author) matched against raw variable names: any match is evidence. */
  readonly names?: readonly string[];
  /** Regular expression sources that must each match some variable too (names alone would also claim another type's checkpoints). */
  readonly requires?: readonly string[];
  /**
   * Regular expression sources that no variable may match: names the type's original code never writes
   * though a type it shares names with always does (RoFormer: BERT's scopes without `bert/embeddings/position_embeddings`).
   */
  readonly absent?: readonly string[];
  /** Types whose names this type's checkpoints also carry (mobilebert: bert's scopes): when both match, this one. */
  readonly specialises?: readonly string[];
  /** Source formats this type comes in (e.g. 'openai-npy'); a source of that format is this type. */
  readonly formats?: readonly string[];
  /** Entries of a pickled training checkpoint's top-level dict that all must be present (XLM). */
  readonly embeddedKeys?: readonly string[];
  /** Files the original releases ship beside the checkpoint (supporting evidence; break ties between name matches). */
  readonly sidecars?: readonly string[];
  /** The model class without a fine-tuned head. */
  readonly baseClass: string;
  /** Fine-tuned heads, most specific first. */
  readonly heads?: readonly HeadSignature[];
}
