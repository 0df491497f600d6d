/** What the page and its conversion worker say to each other. */
export interface PickedEntry {
  readonly path: string;
  readonly file: File;
}

export type ToWorker =
  | { readonly type: 'plan'; readonly files: readonly PickedEntry[]; readonly checkpoint: string }
  | {
      readonly type: 'convert';
      readonly format: 'safetensors' | 'pytorch';
      /** A File System Access folder to write into; absent: the files come back for download. */
      readonly folder?: FileSystemDirectoryHandle;
    };

export interface PlanRow {
  readonly status: 'converted' | 'tied' | 'generated' | 'skipped' | 'from_pretrained';
  readonly key: string;
  readonly source: string;
  readonly shape: string;
  readonly dtype: string;
}

export type FromWorker =
  | { readonly type: 'planned'; readonly modelType: string; readonly notes: string; readonly rows: readonly PlanRow[] }
  | { readonly type: 'progress'; readonly done: number; readonly total: number }
  | { readonly type: 'done'; readonly files: readonly { name: string; blob?: Blob }[] }
  | { readonly type: 'error'; readonly text: string };
