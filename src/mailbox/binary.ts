// RFC 3516 BINARY: a part's content with its Content-Transfer-Encoding (RFC 2045 6) undone. Both
// decoders are lenient, as mail in the wild needs: base64 skips what is not in its alphabet and keeps
// a short tail's whole bytes; quoted-printable keeps an `=` that starts no valid escape.
import { backendError } from './errors.js';

const BASE64_VALUES = (() => {
  const values = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
  return values;
})();
const EQUALS = 0x3d;

/** RFC 2045 6.8, leniently: characters outside the alphabet are ignored; `=` ends a group early. */
export function decodeBase64(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(input.length / 4) * 3 + 3);
  let length = 0;
  let quad = 0;
  let have = 0;
  const flushPartial = () => {
    // 2 characters hold one byte, 3 hold two; a lone one holds none.
    if (have >= 2) out[length++] = (quad >> (have === 2 ? 4 : 10)) & 0xff;
    if (have === 3) out[length++] = (quad >> 2) & 0xff;
    quad = 0;
    have = 0;
  };
  for (const byte of input) {
    const value = BASE64_VALUES[byte]!;
    if (value < 0) {
      if (byte === EQUALS) flushPartial();
      continue;
    }
    quad = (quad << 6) | value;
    if (++have === 4) {
      out[length++] = (quad >> 16) & 0xff;
      out[length++] = (quad >> 8) & 0xff;
      out[length++] = quad & 0xff;
      quad = 0;
      have = 0;
    }
  }
  flushPartial();
  return out.subarray(0, length);
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/** RFC 2045 6.7: `=XX` escapes, soft line breaks (`=` at a line's end) removed,
 * trailing blanks of each line dropped. */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let length = 0;
  let lineStart = 0;
  while (lineStart < input.length) {
    const lf = input.indexOf(0x0a, lineStart);
    const lineEnd = lf < 0 ? input.length : lf;
    const crlf = lineEnd > lineStart && input[lineEnd - 1] === 0x0d;
    let end = crlf ? lineEnd - 1 : lineEnd;
    // Rule 3: blanks at the end of an encoded line are transport padding.
    while (end > lineStart && (input[end - 1] === 0x20 || input[end - 1] === 0x09)) end--;
    let soft = false;
    for (let at = lineStart; at < end; at++) {
      const byte = input[at]!;
      if (byte !== EQUALS) {
        out[length++] = byte;
        continue;
      }
      if (at === end - 1) {
        soft = true;
        break;
      }
      const high = hexValue(input[at + 1]);
      const low = hexValue(input[at + 2]);
      if (high >= 0 && low >= 0 && at + 2 < end) {
        out[length++] = (high << 4) | low;
        at += 2;
      } else out[length++] = byte;
    }
    // A hard line break stays as it was written (CRLF, or a bare LF in a message stored with them).
    if (lf >= 0 && !soft) {
      if (crlf) out[length++] = 0x0d;
      out[length++] = 0x0a;
    }
    lineStart = lf < 0 ? input.length : lf + 1;
  }
  return out.subarray(0, length);
}

/** The transfer encoding named, normalised; null (absent) is 7bit. */
function encodingName(encoding: string | null): string {
  return (encoding ?? '7bit').trim().toLowerCase();
}

/** True when decoding leaves the bytes as they are, so BINARY.SIZE needs no read. */
export function isIdentityEncoding(encoding: string | null): boolean {
  const name = encodingName(encoding);
  return name === '7bit' || name === '8bit' || name === 'binary';
}

/** Undoes a Content-Transfer-Encoding; UNKNOWN-CTE (RFC 3516 4.3) for one it does not know. */
export function decodeTransfer(encoding: string | null, body: Buffer): Buffer {
  const name = encodingName(encoding);
  if (isIdentityEncoding(encoding)) return body;
  if (name === 'base64') return decodeBase64(body);
  if (name === 'quoted-printable') return decodeQuotedPrintable(body);
  throw backendError('UNKNOWN-CTE', `Unknown Content-Transfer-Encoding ${name.slice(0, 40)}`);
}

/** Like decodeTransfer, but an unknown encoding leaves the bytes as they are (for SEARCH). */
export function decodeTransferLeniently(encoding: string | null, body: Buffer): Buffer {
  try {
    return decodeTransfer(encoding, body);
  } catch {
    return body;
  }
}
