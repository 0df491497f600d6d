/**
 * The heads of google-research/bert's fine-tuning scripts, for the types whose scripts follow them
 * (BERT, ALBERT): which class a checkpoint's head chooses, its rules, keys and skips, and the
 * `--finetuning_task_name` flag that must agree with it.
 */
import type { HeadSignature } from '../mapping/detection-rules.js';
import type { ArchitectureOption, ConfigInput, ExpectedKey, ModelConfig, Rule, SkipRule } from '../mapping/types.js';
import { outputLayer } from './bert-family.js';
import { dim, linearKeys, TWO } from './building-blocks.js';
import {
  type ChosenHead,
  chooseHead,
  FINETUNING_TASK,
  findHeads,
  finetuningTaskOption,
  numLabelsOf,
} from './task-heads.js';

/**
 * A type whose fine-tuning scripts follow google-research/bert's: run_classifier.py (ALBERT's
 * classifier_utils.py) creates `output_weights` [num_labels, hidden] and `output_bias` at the root,
 * run_squad.py (ALBERT's squad_utils.py, v1 model) `cls/squad/output_weights` [2, hidden] and
 * `cls/squad/output_bias`, both with tf.get_variable. The head a checkpoint holds chooses the class.
 */
export interface FineTunedHeads {
  /** The class of a checkpoint without a fine-tuned head (…ForPreTraining). */
  readonly base: string;
  readonly sequenceClassification: string;
  readonly questionAnswering: string;
  /** The scripts creating the heads, as the plan's notes name them. */
  readonly scripts: { readonly classifier: string; readonly squad: string };
  /** Patterns (on names as the type matches them) of what the fine-tuned classes lack: pre-training heads, pooler. */
  readonly preTrainingHeads: string;
  readonly pooler: string;
  /** The encoder class, named in the reason the pooler is skipped. */
  readonly encoder: string;
}

/** `--finetuning_task_name` as these types declare it: the task is checked against the head. */
export const FINETUNING_TASK_OPTION: ArchitectureOption = finetuningTaskOption(
  'the task of a fine-tuned checkpoint: sets finetuning_task and the label maps, and must agree with its head (mnli: 3 labels, squad: the question-answering head), which chooses the class',
);

/** The first of the config's `architectures`: the class the conversion makes. */
export const modelClassOf = (config: ModelConfig): string => (config.architectures as string[])[0] as string;

/** The head variables that choose the class (`detect.heads`, and `chooseFineTunedHead`). */
export const fineTunedHeadSignatures = (h: FineTunedHeads): HeadSignature[] => [
  { variable: '^output_weights$', modelClass: h.sequenceClassification, labelsAxis: 0 },
  { variable: '^cls/squad/output_weights$', modelClass: h.questionAnswering },
];

/** Rules of both heads (stored [out, in]: no transpose); the one the checkpoint holds is converted. */
export const fineTunedHeadRules = (h: FineTunedHeads): Rule[] => [
  ...outputLayer('', 'classifier', `${h.scripts.classifier} head, stored [num_labels, hidden]`),
  ...outputLayer('cls/squad', 'qa_outputs', `${h.scripts.squad} head, stored [2, hidden]`),
];

/**
 * The class the checkpoint's head chooses, checked against `--finetuning_task_name` (heads.ts), with
 * the config fields it brings; `normalize` gives names as the type matches them (prefixes, renames).
 */
export function chooseFineTunedHead(
  input: ConfigInput,
  h: FineTunedHeads,
  normalize: (name: string) => string,
): ChosenHead {
  return chooseHead({
    found: findHeads(input.listing, fineTunedHeadSignatures(h), normalize),
    task: input.options?.[FINETUNING_TASK],
    baseClass: h.base,
    note: input.note,
  });
}

/** Variables the chosen class has no place for: a fine-tuned class has no pre-training heads, QA no pooler. */
export function fineTunedSkips(config: ModelConfig, h: FineTunedHeads): SkipRule[] {
  const head = modelClassOf(config);
  if (head === h.base) return [];
  const out: SkipRule[] = [{ pattern: h.preTrainingHeads, reason: `pre-training head: ${head} has none` }];
  if (head === h.questionAnswering)
    out.push({
      pattern: h.pooler,
      reason: `pooler: ${head} has none (transformers builds its ${h.encoder} with add_pooling_layer=False)`,
    });
  return out;
}

/**
 * The keys after the encoder, in state_dict order: sequence classification has the pooler (`pooler`,
 * hidden → hidden) then `classifier`; question answering only `qa_outputs`; the base class `preTraining()`.
 */
export function fineTunedHeadKeys(
  config: ModelConfig,
  h: FineTunedHeads,
  pooler: string,
  preTraining: () => readonly ExpectedKey[],
): readonly ExpectedKey[] {
  const H = dim(config, 'hidden_size');
  const head = modelClassOf(config);
  if (head === h.sequenceClassification)
    return [
      ...linearKeys(pooler, H, H),
      ...linearKeys('classifier', { size: numLabelsOf(config), field: 'num_labels' }, H),
    ];
  if (head === h.questionAnswering) return linearKeys('qa_outputs', TWO, H);
  return preTraining();
}
