/**
 * A BERT checkpoint (google-research/bert's names) of hidden size 4 and a feed-forward 2,621,440 wide:
 * its output kernel [2621440, 4] float32 (40 MiB) is a narrow transposed kernel, the intermediate
 * kernel [4, 2621440] its wide twin. Above the size read whole for a transpose, both are produced in
 * bands from strided reads. Values are a cheap pattern of each tensor's word index, written in chunks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { numElements } from '../../src/tensor.js';
import { writeBundleStreaming } from './tf-bundle-writer.js';
import { TINY_BERT_CONFIG, tinyBertShapes } from './tiny-bert.js';

export const NARROW_BERT_CONFIG = { ...TINY_BERT_CONFIG, intermediate_size: 2_621_440 };
export const NARROW_KERNEL = 'bert/encoder/layer_0/output/dense/kernel';
/** Its key in the converted state dict. */
export const NARROW_KERNEL_KEY = 'bert.encoder.layer.0.output.dense.weight';

/** The float32 bit pattern of word `i` of the tensor numbered `seed`. */
export const patternWord = (seed: number, i: number) => (Math.imul(i + 1, 2654435761) ^ (seed * 0x9e3779b9)) >>> 0;

const CHUNK_WORDS = 1 << 20;

function* patternChunks(seed: number, words: number): Generator<Uint8Array> {
  for (let at = 0; at < words; at += CHUNK_WORDS) {
    const chunk = new Uint32Array(Math.min(CHUNK_WORDS, words - at));
    for (let i = 0; i < chunk.length; i++) chunk[i] = patternWord(seed, at + i);
    yield new Uint8Array(chunk.buffer);
  }
}

/** Writes the checkpoint (`bert_model.ckpt`, 90 MB) and its bert_config.json into `dir`; returns the prefix. */
export async function writeNarrowBert(dir: string): Promise<string> {
  const prefix = join(dir, 'bert_model.ckpt');
  const shapes = tinyBertShapes(NARROW_BERT_CONFIG);
  await writeBundleStreaming(
    prefix,
    shapes.map(([name, shape], seed) => ({
      name,
      dtype: 'float32' as const,
      shape,
      byteLength: numElements(shape) * 4,
      chunks: () => patternChunks(seed, numElements(shape)),
    })),
  );
  writeFileSync(join(dir, 'bert_config.json'), JSON.stringify(NARROW_BERT_CONFIG));
  return prefix;
}

/** The seed `writeNarrowBert` gave the tensor `name`. */
export function seedOf(name: string): number {
  return tinyBertShapes(NARROW_BERT_CONFIG).findIndex(([n]) => n === name);
}
