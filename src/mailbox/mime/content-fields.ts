// The MIME header fields of RFC 2045 read into what BODYSTRUCTURE carries: Content-Type (5.1) and
// Content-Disposition (RFC 2183) with their parameters, RFC 2231 continuations joined (section 3) and
// charset-encoded values (section 4) kept as written for the wire and decoded, through libmime, for
// people and SEARCH; Content-Transfer-Encoding (6.1); Content-Language (RFC 3282).
import libmime from 'libmime';
import type { Disposition, MimeParameter } from './types.js';

/** A cursor over a structured field value, skipping CFWS (RFC 5322 3.2.2) between items. */
class FieldReader {
  at = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    this.skipSpace();
    return this.at >= this.text.length;
  }

  /** Skips white space and (nested) comments; an unclosed comment runs to the end. */
  skipSpace(): void {
    while (this.at < this.text.length) {
      const c = this.text[this.at];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.at += 1;
      else if (c === '(') this.skipComment();
      else return;
    }
  }

  private skipComment(): void {
    let depth = 0;
    for (; this.at < this.text.length; this.at += 1) {
      const c = this.text[this.at];
      if (c === '\\') this.at += 1;
      else if (c === '(') depth += 1;
      else if (c === ')' && --depth === 0) {
        this.at += 1;
        return;
      }
    }
  }

  /** A token of RFC 2045 5.1 (any CHAR but SPACE, CTLs and tspecials); lenient on 8-bit bytes. */
  token(): string {
    this.skipSpace();
    const match = /^[^\s()<>@,;:\\"/[\]?=]+/.exec(this.text.slice(this.at));
    if (!match) return '';
    this.at += match[0].length;
    return match[0];
  }

  /** A parameter value: a quoted-string (quoted-pairs undone, an unclosed one runs to the end) or a token. */
  value(): string {
    this.skipSpace();
    if (this.text[this.at] !== '"') {
      // Lenient like most readers: an unquoted value runs to `;` or white space (`name=a/b.pdf`).
      const match = /^[^\s;]*/.exec(this.text.slice(this.at));
      const raw = match ? match[0] : '';
      this.at += raw.length;
      return raw;
    }
    let out = '';
    for (this.at += 1; this.at < this.text.length; this.at += 1) {
      const c = this.text[this.at];
      if (c === '"') {
        this.at += 1;
        break;
      }
      if (c === '\\' && this.at + 1 < this.text.length) this.at += 1;
      out += this.text[this.at];
    }
    return out;
  }

  eat(char: string): boolean {
    this.skipSpace();
    if (this.text[this.at] !== char) return false;
    this.at += 1;
    return true;
  }

  /** Moves past the next `;` (or to the end), after a parameter that could not be read. */
  skipPast(char: string): void {
    const next = this.text.indexOf(char, this.at);
    this.at = next < 0 ? this.text.length : next + 1;
  }
}

/** `attribute=value` pairs after the first `;`, names as written, in order. */
function rawParameters(reader: FieldReader): Array<[string, string]> {
  const params: Array<[string, string]> = [];
  while (!reader.done) {
    if (!reader.eat(';')) {
      reader.skipPast(';');
      continue;
    }
    const name = reader.token();
    if (!name || !reader.eat('=')) {
      reader.skipPast(';');
      continue;
    }
    params.push([name, reader.value()]);
  }
  return params;
}

const SECTION = /^(.+?)\*(\d{1,3})(\*?)$/;

/** `%XX` for bytes an RFC 2231 extended value may not carry bare (attribute-char of section 7). */
function percentEncode(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'), (byte) => {
    const c = String.fromCharCode(byte);
    return /[A-Za-z0-9!#$&+.^_`|~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

/**
 * RFC 2231 3: `name*0`, `name*1*` ... joined into one parameter at the place of the first section.
 * When section 0 is extended (`*0*`, section 4) the result is `name*` and plain sections are
 * percent-encoded into it. Sections after a gap are dropped, as RFC 2231 3 lets readers do.
 */
export function joinContinuations(params: Array<[string, string]>): Array<[string, string]> {
  const sections = new Map<string, Array<{ index: number; value: string; extended: boolean }>>();
  for (const [name, value] of params) {
    const match = SECTION.exec(name);
    if (!match) continue;
    const base = (match[1] ?? '').toLowerCase();
    const list = sections.get(base) ?? [];
    list.push({ index: Number(match[2]), value, extended: match[3] === '*' });
    sections.set(base, list);
  }
  const joined: Array<[string, string]> = [];
  const done = new Set<string>();
  for (const [name, value] of params) {
    const match = SECTION.exec(name);
    if (!match) {
      if (!sections.has(name.replace(/\*$/, '').toLowerCase())) joined.push([name, value]);
      continue;
    }
    // Sections match whatever their case (RFC 2045 5.1); the name keeps the first section's spelling.
    const base = (match[1] ?? '').toLowerCase();
    if (done.has(base)) continue;
    done.add(base);
    const written = match[1] ?? '';
    const list = (sections.get(base) ?? []).sort((a, b) => a.index - b.index);
    const extended = list[0]?.index === 0 && list[0].extended;
    let value2 = '';
    for (let i = 0; i < list.length && list[i]?.index === i; i += 1) {
      const section = list[i];
      if (!section) break;
      value2 += extended && !section.extended ? percentEncode(section.value) : section.value;
    }
    joined.push([extended ? `${written}*` : written, value2]);
  }
  return joined;
}

/** Decoded parameter values by name, from libmime (RFC 2231 and, outside it, RFC 2047 encoded words). */
function decodedParameters(header: string): Map<string, string> {
  const decoded = new Map<string, string>();
  try {
    const parsed = libmime.parseHeaderValue(header, { stripComments: true });
    const rfc2231 = new Set(parsed.decodedParams ?? []);
    for (const [name, value] of Object.entries(parsed.params)) {
      decoded.set(name, rfc2231.has(name) ? value : decodeWords(value));
    }
  } catch {
    // A value libmime cannot read keeps its raw form as its decoded form.
  }
  return decoded;
}

/** RFC 2047 encoded words decoded by libmime; the text unchanged if that fails. */
export function decodeWords(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

function parameters(reader: FieldReader, header: string): MimeParameter[] {
  const decoded = decodedParameters(header);
  return joinContinuations(rawParameters(reader)).map(([sentName, value]) => {
    const name = sentName.toLowerCase();
    const base = name.replace(/\*$/, '');
    return { name, sentName, value, decoded: decoded.get(base) ?? (name.endsWith('*') ? value : decodeWords(value)) };
  });
}

export interface ContentType {
  type: string;
  subtype: string;
  params: MimeParameter[];
}

/** RFC 2045 5.1 `type "/" subtype *(";" parameter)`, or null when there is no `type/subtype`. */
export function parseContentType(header: string): ContentType | null {
  const reader = new FieldReader(header);
  const type = reader.token();
  if (!type || !reader.eat('/')) return null;
  const subtype = reader.token();
  if (!subtype) return null;
  return { type, subtype, params: parameters(reader, header) };
}

/** RFC 2183 2 `disposition-type *(";" disposition-parm)`, or null without a type token. */
export function parseDisposition(header: string): Disposition | null {
  const reader = new FieldReader(header);
  const value = reader.token();
  if (!value) return null;
  return { value, params: parameters(reader, header) };
}

/** RFC 2045 6.1 mechanism: the token, case as written, or null when there is none. */
export function parseTransferEncoding(header: string): string | null {
  return new FieldReader(header).token() || null;
}

/** RFC 3282 2 `1#Language-tag`: the tags in order, comments dropped; null when there is none. */
export function parseLanguage(header: string): string[] | null {
  const reader = new FieldReader(header);
  const tags: string[] = [];
  while (!reader.done) {
    const tag = reader.token();
    if (tag) tags.push(tag);
    if (!reader.eat(',')) break;
  }
  return tags.length > 0 ? tags : null;
}
