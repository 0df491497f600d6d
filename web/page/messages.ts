/** What the page, its conversion worker and the download service worker say to each other. */
import type { NoticeValue } from '../../src/portable.js';

export interface PickedEntry {
  readonly path: string;
  readonly file: File;
}

/** What the CLI's flags say, as the page's controls set them. */
export interface PlanChoices {
  readonly modelType?: string;
  /** A config file given apart from the checkpoint (the `--config` control). */
  readonly config?: File;
  readonly modelOptions: Readonly<Record<string, string>>;
  readonly dtype?: string;
  readonly skipUnknown: boolean;
}

export type OutputFormat = 'safetensors' | 'pytorch' | 'both';

export type ToWorker =
  | {
      readonly type: 'plan';
      /** One per pick: every answer carries it, so answers to an earlier pick are told apart. */
      readonly pick: number;
      readonly files: readonly PickedEntry[];
      readonly checkpoint: string;
      readonly choices: PlanChoices;
    }
  | {
      readonly type: 'convert';
      readonly pick: number;
      readonly format: OutputFormat;
      /** Where the files go: a File System Access folder, or a zip streamed through `port`. */
      readonly folder?: FileSystemDirectoryHandle;
      readonly port?: MessagePort;
      /** The zip's top folder. */
      readonly name: string;
    }
  | { readonly type: 'cancel'; readonly pick: number };

export interface PlanRow {
  readonly key: string;
  readonly source: string;
  readonly shape: string;
  readonly dtype: string;
}

/** The plan in groups: converted, tied, generated, skipped by kind, left to from_pretrained. */
export interface PlanGroup {
  readonly title: string;
  readonly rows: readonly PlanRow[];
}

/**
 * A note, warning or error: as data (its template and values, which the page words with its controls),
 * or, for plain text, as the library words it (the page rewords its flags: wording.ts).
 */
export interface Note {
  readonly text: string;
  readonly template?: string;
  readonly values?: Readonly<Record<string, NoticeValue>>;
}

export type FromWorker =
  | {
      readonly type: 'planned';
      readonly pick: number;
      readonly modelType: string;
      readonly modelClass: string;
      /** The types detection could not tell apart, or the detected one. */
      readonly header: string;
      readonly notes: readonly Note[];
      readonly warnings: readonly Note[];
      readonly groups: readonly PlanGroup[];
      readonly totalBytes: number;
    }
  | { readonly type: 'progress'; readonly pick: number; readonly done: number; readonly total: number }
  | {
      readonly type: 'done';
      readonly pick: number;
      readonly files: readonly string[];
      readonly warnings: readonly Note[];
    }
  | { readonly type: 'cancelled'; readonly pick: number }
  | {
      readonly type: 'error';
      readonly pick: number;
      readonly code?: string;
      readonly text: string;
      readonly template?: string;
      readonly values?: Readonly<Record<string, NoticeValue>>;
      /** For an ambiguous or unrecognised type: the types to offer (the error's advice). */
      readonly candidates?: readonly string[];
    };

/** Worker → service worker, on a download's port; the service worker answers `pulled` per chunk. */
export type ToDownload = { readonly chunk: Uint8Array } | { readonly end: true } | { readonly error: string };
export type FromDownload = { readonly pulled: number } | { readonly cancelled: true };
