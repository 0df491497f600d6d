/**
 * The vocabulary of conversions, as plain data. An Architecture (one file per model type under
 * src/architectures/) declares rules; buildPlan() turns a checkpoint listing + config into a Plan;
 * the executor streams the Plan. Nothing here touches tensor bytes.
 */

import type { GeneratedValues } from '../kernels/generated-values.js';
import type { Transform } from '../kernels/transforms.js';
import type { DType, StorageView } from '../tensor.js';
import type { Detection } from './detection-rules.js';
import type { NoteInput } from './notices.js';

export type { GeneratedValues } from '../kernels/generated-values.js';
export type { Transform } from '../kernels/transforms.js';

/** What the planner knows of a checkpoint variable: its listing entry, never its bytes. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Its storage view, for torch inputs: variables with equal views are one tied tensor. */
  readonly view?: StorageView;
}

/**
 * A name rule. `from` is a checkpoint name pattern; `to` a state-dict key pattern. Placeholders:
 * `{name}` matches decimal digits (`layer_{layer}` matches `layer_11` and `block_{block}` matches
 * `block_000`; in `to` the value is printed as a plain integer), `{name*}` matches any non-empty text
 * and is copied verbatim.
 *
 * Splitting: with `split: { axis, as }`, one source tensor gives one output per index along `axis`;
 * the index fills the `{as}` placeholder of `to` and the axis is dropped (a `select` transform).
 */
export interface Rule {
  readonly from: string | readonly string[];
  readonly to: string;
  readonly transforms?: readonly Transform[];
  readonly split?: { readonly axis: number; readonly as: string };
  /** One source copied to `count` keys, the index filling `{as}` (XLNet's tied biases, one per layer). */
  readonly repeat?: { readonly count: number; readonly as: string };
  /** Why this rule exists, when it is not obvious (printed in the plan). */
  readonly note?: string;
  /**
   * A suffix naming the matched variable's shadow (`/ExponentialMovingAverage`): when the checkpoint has
   * `{variable}{suffix}`, that is the source instead (trainer state by its name, a weight here) and the
   * variable is skipped as superseded, as transformers' MobileNetV2 loader takes the moving averages.
   */
  readonly preferShadow?: string;
}

/**
 * A variable the conversion deliberately ignores, and why: what an architecture knows it does not need
 * (trainer state is recognised for every architecture by formats/trainer-state.ts, before these).
 */
export interface SkipRule {
  /** Skip when any `/`-component equals one of these. */
  readonly components?: readonly string[];
  /** Skip when the name matches this regular expression (source text, anchored by the author). */
  readonly pattern?: string;
  readonly reason: string;
}

/** A state-dict key the model class has: its shape given the config, and how it is filled. */
export interface ExpectedKey {
  readonly key: string;
  readonly shape: readonly number[];
  /** The config fields the shape comes from, for error messages ("[vocab_size, hidden_size]"). */
  readonly fromConfig?: string;
  /** Tied weight: the same storage as this other key (written once in safetensors). */
  readonly aliasOf?: string;
  /**
   * With `aliasOf`: one parameter that several modules hold (not re-tied by `tie_weights` on load), so
   * from_pretrained expects every name: safetensors stores a copy under this one too (torch files share the storage).
   */
  readonly copyInSafetensors?: boolean;
  /** Filled without the checkpoint (buffers, identity projections). */
  readonly generate?: GeneratedValues;
  /** dtype of a generated key (default: int64 for `arange`, float32 otherwise). */
  readonly dtype?: DType;
  /*
   * A key a real checkpoint of this type may lack, declared from the original code. Neither flag: every
   * real checkpoint has it, and one without it is refused.
   */
  /** May be absent: left for `from_pretrained` to initialise (reported, never invented). */
  readonly optional?: boolean;
  /**
   * May be absent, and is then written as zeros: the original initialises it with zeros exactly as
   * transformers does (an LM head's bias), so zeros are what an untrained one holds. Reported.
   */
  readonly zerosWhenAbsent?: boolean;
}

export type ModelConfig = Record<string, unknown>;

/** Everything an architecture may use to build its config; the caller does the file I/O. */
export interface ConfigInput {
  /** The user's `--config` JSON, parsed, if given. */
  readonly user?: ModelConfig;
  readonly userPath?: string;
  /** Text of a file beside the checkpoint (`hparams.json`, `operative_config.gin`), if present. */
  readonly sidecar: (fileName: string) => string | undefined;
  /** The checkpoint listing (for deriving dimensions from shapes). */
  readonly listing: readonly TensorInfo[];
  /** Tells the user a fact about the config (fields derived from shapes); the caller prints it. */
  readonly note?: (note: NoteInput) => void;
  /** A pickled training checkpoint's whole object (XLM's dict with 'params', 'dico_word2id'), as inert data. */
  readonly embedded?: unknown;
  /** The checkpoint file, for messages. */
  readonly checkpointPath?: string;
  /** The values of the architecture's own `options`, defaults filled in ('true'/'false' for flags; free values only when given). */
  readonly options?: Readonly<Record<string, string>>;
  /** Text of a file one of those options names (`--id2label FILE`), bounded as sidecars are; refuses a missing one. */
  readonly readFile?: (path: string, what: string) => string;
}

/**
 * A flag of the model types that declare it (their transformers script's flag); the CLI parses declared
 * flags generically. With neither `choices` nor `value`: a boolean flag (`--base_model`).
 */
export interface ArchitectureOption {
  /** snake_case as transformers spells it (`discriminator_or_generator`); the kebab-case spelling works too. */
  readonly name: string;
  /** The accepted values, the default first. */
  readonly choices?: readonly string[];
  /** A free value instead, named so in help (`--finetuning_task_name NAME`); no default. */
  readonly value?: string;
  readonly help: string;
}

/**
 * A tokenizer class as save_pretrained records it. `init`: the keyword arguments its tokenizer_config.json
 * holds, special tokens included (an AddedToken as `{__type: 'AddedToken', content, …}`), without
 * tokenizer_class, model_max_length and do_lower_case, which are decided per conversion.
 */
export interface TokenizerSpec {
  readonly className: string;
  readonly init: Readonly<Record<string, unknown>>;
  /** model_max_length: a config.json field holding the positions, or a fixed number; absent: none written. */
  readonly maxLength?: string | { readonly fixed: number; readonly why: string };
  /**
   * How do_lower_case is decided ('wordpiece': --do_lower_case, the release name, then upper-case pieces in
   * vocab.txt; 'sentencepiece': --do_lower_case, the release name, then this default); absent: no such argument.
   */
  readonly casing?: 'wordpiece' | { readonly sentencepiece: boolean };
}

export interface Architecture {
  /** `--model_type` value, as transformers-cli spells it. */
  readonly modelType: string;
  /** Other spellings `--model_type` accepts (the original project's name: `bigbird` for `big_bird`); say them in `summary`. */
  readonly aliases?: readonly string[];
  /**
   * Reads TF2 object-based checkpoints (tf.train.Checkpoint names): chosen for those, under the same
   * `--model_type` as the type's name-based reader.
   */
  readonly objectBased?: boolean;
  /**
   * A TF2 SavedModel's variables read by their `var.name`s, in `.variables` order (the order matters where
   * names repeat): the names this type maps them under, one per variable, or undefined when they are not
   * this type's. Chosen before detection; the names then go through the rules like any checkpoint's.
   */
  savedModelNames?(names: readonly string[]): readonly string[] | undefined;
  /** How its checkpoints are recognised when `--model_type` is not given (architectures/detect.ts); without it, never guessed. */
  readonly detect?: Detection;
  readonly summary: string;
  /** Config file names looked for beside the checkpoint when `--config` is absent. */
  readonly configFileNames?: readonly string[];
  /** Flags of this model type (`--finetuning_task_name` of bert, albert, xlnet), passed to buildConfig as `input.options`. */
  readonly options?: readonly ArchitectureOption[];
  /** The transformers config (config.json content, with model_type and architectures). */
  buildConfig(input: ConfigInput): ModelConfig;
  /** Leading scopes removed before matching when present (BERT's `module/` of multi-GPU saves). */
  readonly stripPrefixes?: readonly string[];
  /** Substring replacements applied in order to every name before matching (ALBERT's rewrites). */
  readonly renames?: readonly { readonly from: string; readonly to: string }[];
  /** Variables of this model type that are not converted (never trainer state: the registry has it). */
  readonly skip?: readonly SkipRule[];
  /** Skips that depend on the config (variables of a head the chosen model class does not have). */
  configSkip?(config: ModelConfig): readonly SkipRule[];
  rules(config: ModelConfig): readonly Rule[];
  /**
   * The model class's state dict (modern transformers, persistent keys only), in state_dict order.
   * Empty: the checkpoint's keys pass through in its order, and variables that are one tensor in the
   * checkpoint (equal storage views, same transforms) stay one: later keys become aliases.
   */
  expectedKeys(config: ModelConfig): readonly ExpectedKey[];
  /**
   * With keys passing through: the buffers the model class's state dict holds that the checkpoint lacks, each
   * with its generated values, written first (the model's own buffers precede its modules' keys).
   */
  passThroughBuffers?(config: ModelConfig): readonly ExpectedKey[];
  /** Files beside the checkpoint that become tokenizer files in a folder output. */
  readonly tokenizerFiles?: readonly { readonly from: string | readonly string[]; readonly to: string }[];
  /** The tokenizer those files make: tokenizer_config.json and special_tokens_map.json (architectures/tokenizer.ts). */
  readonly tokenizer?: TokenizerSpec;
  /** Default output dtype policy: keep the checkpoint's (most) or cast (T5 → float32). */
  readonly defaultDType?: DType;
  /** Extra files of a folder output (generation_config.json for T5; XLM's vocab.json from `embedded`). */
  extraFiles?(config: ModelConfig, embedded?: unknown): readonly { readonly name: string; readonly text: string }[];
  /**
   * 'pickled-checkpoint': the input is a torch.save'd training checkpoint (XLM's .pth), read with the
   * safe unpickler's 'checkpoint' policy (numpy objects and custom classes as inert data); its object
   * reaches buildConfig and extraFiles as `embedded`. Default: any tensor source.
   */
  readonly input?: 'pickled-checkpoint';
  /** config.json text when transformers writes it otherwise than its config serializer (XLM). */
  configText?(config: ModelConfig): string;
  /** Pickle container of `.bin` outputs: transformers' converters save OrderedDicts, XLM's a plain dict. */
  readonly torchContainer?: 'OrderedDict' | 'dict';
}
