/**
 * torch.save files built byte by byte from pickle opcodes (Python's Lib/pickletools.py), for inputs no
 * real PyTorch writes: an XLM checkpoint whose `params` pickle the test gives, huge text ints.
 */
import { open } from 'node:fs/promises';
import { OP } from '../../src/formats/torch/pickle-opcodes.js';
import { ZipWriter } from '../../src/formats/torch/zip-writer.js';

/** A torch.save-shaped zip (`archive/data.pkl`, `archive/data/0`, …) holding these records, in order. */
export async function writeTorchZip(path: string, records: [string, Uint8Array][]): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const sink = {
      write: async (bytes: Uint8Array, position: number) => {
        await handle.write(bytes, 0, bytes.byteLength, position);
      },
    };
    const zip = new ZipWriter(sink, { path });
    for (const [name, bytes] of records) await zip.addBytes(`archive/${name}`, bytes);
    await zip.finish();
  } finally {
    await handle.close();
  }
}

const latin1 = (text: string) => [...Buffer.from(text, 'latin1')];
/** SHORT_BINUNICODE of an ASCII string. */
export const pickleString = (text: string): number[] => [OP.SHORT_BINUNICODE, text.length, ...latin1(text)];
/** BININT1 of a small int. */
export const pickleInt = (n: number): number[] => [OP.BININT1, n];
/** GLOBAL module.name. */
export const pickleGlobal = (module: string, name: string): number[] => [OP.GLOBAL, ...latin1(`${module}\n${name}\n`)];
/** A dict of the given (key, value) opcode pairs: EMPTY_DICT MARK … SETITEMS. */
export const pickleDict = (entries: [number[], number[]][]): number[] =>
  entries.length === 0 ? [OP.EMPTY_DICT] : [OP.EMPTY_DICT, OP.MARK, ...entries.flat(2), OP.SETITEMS];

/** A float32 tensor [rows, cols] over storage record `key` (_rebuild_tensor_v2 of a persistent storage). */
function pickleTensor(key: string, rows: number, cols: number): number[] {
  return [
    ...pickleGlobal('torch._utils', '_rebuild_tensor_v2'),
    OP.MARK,
    ...[OP.MARK, ...pickleString('storage'), ...pickleGlobal('torch', 'FloatStorage'), ...pickleString(key)],
    ...[...pickleString('cpu'), ...pickleInt(rows * cols), OP.TUPLE, OP.BINPERSID],
    ...pickleInt(0),
    ...[...pickleInt(rows), ...pickleInt(cols), OP.TUPLE2, ...pickleInt(cols), ...pickleInt(1), OP.TUPLE2],
    OP.NEWFALSE,
    ...[...pickleGlobal('collections', 'OrderedDict'), OP.EMPTY_TUPLE, OP.REDUCE],
    OP.TUPLE,
    OP.REDUCE,
  ];
}

/** The 14 special symbols of an XLM dictionary, then two words. */
const XLM_WORDS = [
  '<s>',
  '</s>',
  '<pad>',
  '<unk>',
  ...Array.from({ length: 10 }, (_, i) => `<special${i}>`),
  'the',
  'a@@',
];

/**
 * An original XLM checkpoint (`{'model': {'embeddings.weight': [16, 2]}, 'params': …, 'dico_word2id': …}`)
 * whose `params` are the opcodes given (they push one dict); `lastWordId`, when given, pushes the last
 * word's id instead of its index.
 */
export async function writeXlmCheckpoint(path: string, params: number[], lastWordId?: number[]): Promise<void> {
  const [rows, cols] = [XLM_WORDS.length, 2];
  const pickle = Uint8Array.from([
    OP.PROTO,
    2,
    ...pickleDict([
      [pickleString('model'), pickleDict([[pickleString('embeddings.weight'), pickleTensor('0', rows, cols)]])],
      [pickleString('params'), params],
      [
        pickleString('dico_word2id'),
        pickleDict(
          XLM_WORDS.map((w, i) => [
            pickleString(w),
            i === XLM_WORDS.length - 1 && lastWordId ? lastWordId : pickleInt(i),
          ]),
        ),
      ],
    ]),
    OP.STOP,
  ]);
  const weights = new Float32Array(rows * cols).map((_, i) => i / 4);
  await writeTorchZip(path, [
    ['data.pkl', pickle],
    ['data/0', new Uint8Array(weights.buffer)],
  ]);
}
