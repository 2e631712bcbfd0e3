// ENVELOPE and BODYSTRUCTURE trees encoded straight to text: the bytes ResponseEncoder gives for
// structureValue(value), without its small buffer per token (some sixty per ENVELOPE, which made the
// garbage collector the largest cost of a client's first sync). Printable ASCII strings up to PLAIN_MAX
// characters are quoted here (RFC 3501 4.3, quoted-specials escaped); any other string is handed to
// the connection's encoder, which picks quoted or literal by its rules (UTF8=ACCEPT, its quotedMax).
import type { StructureValue } from '../backend.js';

/** Below the quotedMax of every encoder a connection uses (1024): such strings are always quoted. */
export const PLAIN_MAX = 256;

function plain(text: string): boolean {
  if (text.length > PLAIN_MAX) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/**
 * The encoding as a latin1 string (one character per byte). `other` encodes what is not plain (a
 * string as the encoder would, or a number that is not a safe unsigned integer, which it refuses).
 */
export function structureText(value: StructureValue, other: (value: string | number) => string): string {
  if (value === null) return 'NIL';
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? String(value) : other(value);
  if (typeof value === 'string') {
    if (!plain(value)) return other(value);
    return `"${value.includes('"') || value.includes('\\') ? value.replace(/["\\]/g, '\\$&') : value}"`;
  }
  let out = '(';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ' ';
    out += structureText(value[i]!, other);
  }
  return `${out})`;
}
