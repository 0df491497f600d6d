/**
 * Bytes ↔ text without Node's Buffer, spelled as Buffer spelled it: UTF-8 decoding keeps a leading BOM
 * and replaces invalid sequences with U+FFFD; Latin-1 maps each byte to one code unit.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';

const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });
const UTF8_STRICT = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

export function utf8Text(bytes: Uint8Array): string {
  return UTF8.decode(bytes);
}

/**
 * The UTF-8 text of a file Python opens as UTF-8 text (configs, gin files, index json), which fails on
 * invalid bytes: refused with E_MALFORMED naming the file, never turned into U+FFFD.
 */
export function strictUtf8Text(bytes: Uint8Array, file: string): string {
  try {
    return UTF8_STRICT.decode(bytes);
  } catch (cause) {
    throw new Tf2TorchError(
      ErrorCode.MALFORMED,
      `${file}: not valid UTF-8 text (Python reads this file as UTF-8 and refuses it too); save it as UTF-8`,
      { file, cause },
    );
  }
}

/** Latin-1 text of bytes (each byte one code unit), as Python's bytes.decode('latin1'). */
export function latin1Text(bytes: Uint8Array): string {
  let text = '';
  for (let at = 0; at < bytes.length; at += 8192) text += String.fromCharCode(...bytes.subarray(at, at + 8192));
  return text;
}

/** Latin-1 bytes of text: the low byte of each code unit (as Node's 'latin1' encoding). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}
