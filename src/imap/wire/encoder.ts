// The server's side of the wire: response values (RFC 3501 4) written as bytes. A string becomes an
// atom, a quoted string or a literal by what it holds, so a handler never decides quoting itself.
// Values come from the server's own code, so a value that cannot be written (an atom with a space,
// a negative number) is a bug, and throws.
import { formatSequenceSet, type SequenceSet } from './sequence-set.js';

export type ResponseValue =
  | { readonly kind: 'atom'; readonly text: string; readonly section?: readonly ResponseValue[]; readonly origin?: number }
  | { readonly kind: 'number'; readonly value: number | bigint }
  | { readonly kind: 'string'; readonly value: string | Buffer; readonly as: 'string' | 'astring' | 'literal8' }
  | { readonly kind: 'nil' }
  | { readonly kind: 'list'; readonly items: readonly ResponseValue[] }
  | { readonly kind: 'sequence'; readonly set: SequenceSet };

export const NIL: ResponseValue = { kind: 'nil' };

/**
 * An atom as written: `FLAGS`, `\Seen`, `\*`, `RFC822.SIZE`; with a section and origin it is a FETCH
 * item name such as `BODY[HEADER.FIELDS (From)]<0>` (RFC 3501 7.4.2).
 */
export function atom(text: string, section?: readonly ResponseValue[], origin?: number): ResponseValue {
  return { kind: 'atom', text, ...(section ? { section } : {}), ...(origin !== undefined ? { origin } : {}) };
}

export function num(value: number | bigint): ResponseValue {
  return { kind: 'number', value };
}

/** RFC 3501 9 "string": quoted or literal. UTF-8 text is sent as UTF-8 bytes. */
export function str(value: string | Buffer): ResponseValue {
  return { kind: 'string', value, as: 'string' };
}

/** RFC 3501 9 "astring": an atom when it can be one, else as `str`. */
export function astr(value: string | Buffer): ResponseValue {
  return { kind: 'string', value, as: 'astring' };
}

/** RFC 3501 9 "nstring": NIL for null. */
export function nstr(value: string | Buffer | null): ResponseValue {
  return value === null ? NIL : str(value);
}

/** Always `~{n}` (RFC 3516 literal8, its formal syntax), for BINARY[] content that may hold NUL. */
export function literal8(value: Buffer): ResponseValue {
  return { kind: 'string', value, as: 'literal8' };
}

export function list(items: readonly ResponseValue[]): ResponseValue {
  return { kind: 'list', items };
}

export function seq(set: SequenceSet): ResponseValue {
  return { kind: 'sequence', set };
}

export interface EncoderOptions {
  /** Longer strings are sent as literals. Default 1024. */
  readonly quotedMax?: number;
  /** UTF-8 may be sent in quoted strings: after ENABLE UTF8=ACCEPT (RFC 6855 3) or in IMAP4rev2 (RFC 9051 4.3). */
  readonly utf8?: boolean;
}

const CRLF = Buffer.from('\r\n', 'latin1');
const SP = Buffer.from(' ', 'latin1');

/** RFC 3501 9 ATOM-CHAR: CHAR except `(){ SP CTL % * " \ ]`. */
function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && !'(){%*"\\]'.includes(String.fromCharCode(c));
}

/** An atom, or a flag (`\` atom, RFC 3501 9 flag-extension) or `\*` (flag-perm). */
export function isAtomText(text: string): boolean {
  if (text === '\\*') return true;
  const body = text.startsWith('\\') ? text.slice(1) : text;
  if (body.length === 0) return false;
  for (let i = 0; i < body.length; i += 1) if (!isAtomChar(body.charCodeAt(i))) return false;
  return true;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Buffer): boolean {
  try {
    utf8Strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export class ResponseEncoder {
  private readonly quotedMax: number;
  private readonly utf8: boolean;

  constructor(options: EncoderOptions = {}) {
    this.quotedMax = options.quotedMax ?? 1024;
    this.utf8 = options.utf8 ?? false;
  }

  /** `values` separated by SP, no line end. */
  encode(values: readonly ResponseValue[]): Buffer {
    const parts: Buffer[] = [];
    this.writeAll(values, parts);
    return Buffer.concat(parts);
  }

  /** A whole response line: `head SP values CRLF`, e.g. head `* 12 FETCH` and one list. */
  response(head: string, values: readonly ResponseValue[]): Buffer {
    const parts: Buffer[] = [Buffer.from(head, 'latin1')];
    if (values.length > 0) parts.push(SP);
    this.writeAll(values, parts);
    parts.push(CRLF);
    return Buffer.concat(parts);
  }

  /**
   * A status response (RFC 3501 7.1): `tag OK [CODE] text`. The text is the server's own; CR and LF
   * are replaced so it can never end the line early.
   */
  status(tag: string, status: 'OK' | 'NO' | 'BAD' | 'PREAUTH' | 'BYE', text: string, code?: string): Buffer {
    const safe = (s: string) => s.replace(/[\r\n]+/g, ' ');
    const bracket = code ? `[${safe(code)}] ` : '';
    return Buffer.from(`${tag} ${status} ${bracket}${safe(text) || status}\r\n`, 'utf8');
  }

  private writeAll(values: readonly ResponseValue[], parts: Buffer[]): void {
    values.forEach((value, index) => {
      if (index > 0) parts.push(SP);
      this.write(value, parts);
    });
  }

  private write(value: ResponseValue, parts: Buffer[]): void {
    switch (value.kind) {
      case 'nil':
        parts.push(Buffer.from('NIL', 'latin1'));
        return;
      case 'number':
        parts.push(Buffer.from(this.number(value.value), 'latin1'));
        return;
      case 'sequence':
        if (value.set.ranges.length === 0 && !value.set.lastResult) throw new TypeError('empty sequence set');
        parts.push(Buffer.from(formatSequenceSet(value.set), 'latin1'));
        return;
      case 'list':
        parts.push(Buffer.from('(', 'latin1'));
        this.writeAll(value.items, parts);
        parts.push(Buffer.from(')', 'latin1'));
        return;
      case 'atom':
        this.writeAtom(value, parts);
        return;
      case 'string':
        this.writeString(typeof value.value === 'string' ? Buffer.from(value.value, 'utf8') : value.value, value.as, parts);
        return;
    }
  }

  /** RFC 3501 4.2: unsigned; 64-bit values (mod-sequences, RFC 7162 7) as bigint. */
  private number(value: number | bigint): string {
    if (typeof value === 'bigint' ? value < 0n : !Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`not an IMAP number: ${value}`);
    }
    return String(value);
  }

  private writeAtom(value: Extract<ResponseValue, { kind: 'atom' }>, parts: Buffer[]): void {
    if (!isAtomText(value.text)) throw new TypeError(`not an IMAP atom: ${JSON.stringify(value.text)}`);
    parts.push(Buffer.from(value.text, 'latin1'));
    if (value.section) {
      parts.push(Buffer.from('[', 'latin1'));
      this.writeAll(value.section, parts);
      parts.push(Buffer.from(']', 'latin1'));
    }
    if (value.origin !== undefined) parts.push(Buffer.from(`<${this.number(value.origin)}>`, 'latin1'));
  }

  /** Atom (astring only), quoted, or literal, by content (RFC 3501 4.1, 4.3; RFC 3516 literal8). */
  private writeString(bytes: Buffer, as: 'string' | 'astring' | 'literal8', parts: Buffer[]): void {
    if (as === 'literal8') {
      parts.push(Buffer.from(`~{${bytes.length}}\r\n`, 'latin1'), bytes);
    } else if (as === 'astring' && this.canBeAtom(bytes)) {
      parts.push(bytes);
    } else if (this.canBeQuoted(bytes)) {
      parts.push(this.quoted(bytes));
    } else {
      parts.push(Buffer.from(`{${bytes.length}}\r\n`, 'latin1'), bytes);
    }
  }

  /** Not `NIL` in any case: as an atom it would read as NIL, not as the string (RFC 3501 4.5). */
  private canBeAtom(bytes: Buffer): boolean {
    if (bytes.length === 0 || bytes.length > this.quotedMax) return false;
    if (bytes.length === 3 && bytes.toString('latin1').toUpperCase() === 'NIL') return false;
    for (const b of bytes) if (!isAtomChar(b)) return false;
    return true;
  }

  /** RFC 3501 9 QUOTED-CHAR: 7-bit without CR, LF and NUL (controls go in literals too); UTF-8 when enabled. */
  private canBeQuoted(bytes: Buffer): boolean {
    if (bytes.length > this.quotedMax) return false;
    let eightBit = false;
    for (const b of bytes) {
      if (b >= 0x80) eightBit = true;
      else if (b < 0x20 || b === 0x7f) return false;
    }
    return !eightBit || (this.utf8 && isUtf8(bytes));
  }

  /** `"` and `\` are escaped with `\` (RFC 3501 9 quoted-specials). */
  private quoted(bytes: Buffer): Buffer {
    const out: number[] = [0x22];
    for (const b of bytes) {
      if (b === 0x22 || b === 0x5c) out.push(0x5c);
      out.push(b);
    }
    out.push(0x22);
    return Buffer.from(out);
  }
}
