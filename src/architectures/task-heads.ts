/**
 * Fine-tuned heads, shared by the architectures that have them (bert, albert, xlnet): the one table of
 * GLUE task → label count, the label maps transformers writes, which head a checkpoint holds (declared
 * in each architecture's `detect.heads`), and `--finetuning_task_name` checked against that head.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { HeadSignature } from '../mapping/detection-rules.js';
import { type NoteInput, NoticeCode, notice } from '../mapping/notices.js';
import type { ArchitectureOption, ModelConfig, TensorInfo } from '../mapping/types.js';
import { shapeText } from './building-blocks.js';

/** transformers-cli's `--finetuning_task_name`, declared by the types whose heads `chooseHead` checks. */
export const FINETUNING_TASK = 'finetuning_task_name';
const FLAG = `--${FINETUNING_TASK}`;

/** The declaration of `--finetuning_task_name NAME`; `help` says what it does for the declaring type. */
export const finetuningTaskOption = (help: string): ArchitectureOption => ({
  name: FINETUNING_TASK,
  value: 'NAME',
  help,
});

/**
 * transformers' GLUE_TASKS_NUM_LABELS (convert_xlnet_original_tf_checkpoint_to_pytorch.py). No prototype:
 * a task the user names (`constructor`, `__proto__`) finds only the tasks listed here.
 */
export const GLUE_TASKS_NUM_LABELS: Readonly<Record<string, number>> = Object.assign(Object.create(null), {
  cola: 2,
  mnli: 3,
  mrpc: 2,
  'sst-2': 2,
  'sts-b': 1,
  qqp: 2,
  qnli: 2,
  rte: 2,
  wnli: 2,
});

/** A head found in a checkpoint listing. */
export interface FoundHead {
  readonly modelClass: string;
  /** The variable that identified it, as the checkpoint names it, and its shape. */
  readonly variable: string;
  readonly shape: readonly number[];
  /** Classification heads: the label count read off the shape. */
  readonly numLabels?: number;
  /** The signature's first capture group (xlnet: the task scope of `classification_{task}`). */
  readonly scope?: string;
}

/** Every head of `heads` present in the listing (names normalised as the architecture matches them). */
export function findHeads(
  listing: readonly TensorInfo[],
  heads: readonly HeadSignature[],
  normalize: (name: string) => string = (n) => n,
): FoundHead[] {
  const out: FoundHead[] = [];
  for (const head of heads) {
    const pattern = new RegExp(head.variable);
    for (const t of listing) {
      const m = pattern.exec(normalize(t.name));
      if (!m) continue;
      const labels = head.labelsAxis === undefined ? undefined : t.shape[head.labelsAxis];
      out.push({
        modelClass: head.modelClass,
        variable: t.name,
        shape: t.shape,
        ...(labels === undefined ? {} : { numLabels: labels }),
        ...(m[1] === undefined ? {} : { scope: m[1] }),
      });
    }
  }
  return out;
}

/** id2label/label2id as the `num_labels` setter makes them (keys of id2label are strings in JSON). */
export function labelMaps(n: number): ModelConfig {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    id2label[String(i)] = `LABEL_${i}`;
    label2id[`LABEL_${i}`] = i;
  }
  // PretrainedConfig's default is 2 labels; to_json_string leaves out values equal to the default.
  return n === 2 ? {} : { id2label, label2id };
}

/** The label count a config declares (id2label; transformers' default is 2). */
export function numLabelsOf(config: ModelConfig): number {
  return Object.keys((config.id2label as object | undefined) ?? { 0: 0, 1: 1 }).length;
}

export interface HeadChoice {
  /** Heads found in the checkpoint (findHeads). */
  readonly found: readonly FoundHead[];
  /** `--finetuning_task_name`, as given. */
  readonly task: string | undefined;
  /** The class without a head (BertForPreTraining, XLNetLMHeadModel). */
  readonly baseClass: string;
  /**
   * Classes a task chooses when the checkpoint has no head (xlnet, as transformers' converter does);
   * without it a task on a headless checkpoint is reported as ignored.
   */
  readonly byTask?: { readonly sequence: string; readonly questionAnswering: string };
  readonly note?: (note: NoteInput) => void;
}

/** The model class and the config fields it brings (finetuning_task, label maps). */
export interface ChosenHead {
  readonly modelClass: string;
  readonly fields: ModelConfig;
  /** The head found in the checkpoint, if the class comes from one. */
  readonly head?: FoundHead;
}

/**
 * The head to convert. A head named after its task (xlnet's `classification_{task}`) must be the task's
 * when one is given; several heads need the task to pick one.
 */
function selectHead(found: readonly FoundHead[], task: string): FoundHead | undefined {
  const list = found.map((h) => `${h.variable} ${shapeText(h.shape)}`).join(', ');
  const scopes = found.flatMap((h) => (h.scope === undefined ? [] : [h.scope.toLowerCase()]));
  if (task !== '' && scopes.length > 0) {
    const chosen = found.filter((h) => h.scope?.toLowerCase() === task);
    if (chosen.length === 1) return chosen[0];
    throw new Tf2TorchError(
      ErrorCode.CONFIG,
      `${FLAG} ${task} has no head in the checkpoint: its head${found.length === 1 ? ' is' : 's are'} ${list}, for task ${scopes.join(', ')}; give that task, or leave the flag out`,
    );
  }
  if (found.length <= 1) return found[0];
  throw new Tf2TorchError(
    ErrorCode.CONFIG,
    `the checkpoint has ${found.length} fine-tuned heads (${list}): choose one with ${FLAG}${scopes.length > 0 ? ` (${scopes.join(', ')})` : ''}`,
  );
}

/**
 * The class is the checkpoint's head; `--finetuning_task_name` sets finetuning_task and must agree with
 * the head's kind and label count ("mnli" has 3 labels: a 2-row head is refused, naming both).
 */
export function chooseHead(choice: HeadChoice): ChosenHead {
  const task = (choice.task ?? '').toLowerCase();
  const glue = Object.hasOwn(GLUE_TASKS_NUM_LABELS, task) ? GLUE_TASKS_NUM_LABELS[task] : undefined;
  const squad = task.includes('squad');
  const withTask: ModelConfig = task === '' ? {} : { finetuning_task: task };
  const head = selectHead(choice.found, task);
  if (head) {
    const what = `the checkpoint's head ${head.variable} ${shapeText(head.shape)} (${head.modelClass}`;
    if (head.numLabels !== undefined) {
      if (squad || (glue !== undefined && glue !== head.numLabels)) {
        const wants = squad ? 'question answering' : `${glue} label${glue === 1 ? '' : 's'}`;
        throw new Tf2TorchError(
          ErrorCode.CONFIG,
          `${FLAG} ${task} means ${wants}, but ${what}, ${head.numLabels} label${head.numLabels === 1 ? '' : 's'}) disagrees: give the task this checkpoint was trained on, or leave the flag out`,
        );
      }
      return { modelClass: head.modelClass, fields: { ...withTask, ...labelMaps(head.numLabels) }, head };
    }
    if (glue !== undefined) {
      throw new Tf2TorchError(
        ErrorCode.CONFIG,
        `${FLAG} ${task} is a classification task (${glue} label${glue === 1 ? '' : 's'}), but ${what}) answers questions: give the task this checkpoint was trained on, or leave the flag out`,
      );
    }
    return { modelClass: head.modelClass, fields: withTask, head };
  }
  if (task !== '' && choice.byTask) {
    if (glue !== undefined) return { modelClass: choice.byTask.sequence, fields: { ...withTask, ...labelMaps(glue) } };
    if (squad) return { modelClass: choice.byTask.questionAnswering, fields: withTask };
    choice.note?.(
      notice(
        NoticeCode.TASK_UNKNOWN,
        `{@${FINETUNING_TASK}} {task} is neither a GLUE task ({glueTasks}) nor contains 'squad': converted as {baseClass}, as transformers does`,
        { task, glueTasks: Object.keys(GLUE_TASKS_NUM_LABELS).join(', '), baseClass: choice.baseClass },
      ),
    );
  } else if (task !== '') {
    choice.note?.(
      notice(
        NoticeCode.TASK_IGNORED,
        `{@${FINETUNING_TASK}} {task} is ignored: the checkpoint has no fine-tuned head, so it converts as {baseClass}`,
        { task, baseClass: choice.baseClass },
      ),
    );
  }
  return { modelClass: choice.baseClass, fields: {} };
}
