// Turns the pieces of one client command into a typed tree. The byte framer (command-parser.ts) cuts
// the stream into line segments and literals; a command is one segment, or several joined by literals:
//   a1 LOGIN {4}CRLF fred "secret"CRLF   ->   segment `a1 LOGIN {4}`, literal `fred`, segment ` "secret"`.
// Open lists and sections live on an explicit stack, so a literal may sit anywhere in a nested list and
// no input can recurse the parser. Grammar: RFC 3501 9 (with RFC 9051 9 where it is more liberal).
import { parseSequenceSet } from './sequence-set.js';
import type { ImapCommand, ImapValue } from './values.js';

const SP = 0x20;
const DQUOTE = 0x22;
const LPAREN = 0x28;
const RPAREN = 0x29;
const PLUS = 0x2b;
const DOT = 0x2e;
const LT = 0x3c;
const GT = 0x3e;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const TILDE = 0x7e;

/** Atoms after which `[` opens a section (RFC 3501 6.4.5 fetch-att, RFC 3516 4.2 BINARY). */
const SECTION_OPENERS = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

/** Deeper nesting than any real command needs; it keeps handlers that walk the tree off the stack limit. */
export const MAX_NESTING = 64;

/** Partial lengths and offsets are 32-bit numbers (RFC 3501 9 "number", "nz-number"). */
const MAX_NUMBER32 = 0xffff_ffff;

export type SegmentResult =
  | { readonly status: 'complete'; readonly command: ImapCommand }
  | { readonly status: 'literal'; readonly size: number; readonly nonSync: boolean }
  | { readonly status: 'error'; readonly message: string };

interface Frame {
  readonly kind: 'list' | 'section';
  readonly items: ImapValue[];
  /** The atom that opened a section, as sent (`BODY.PEEK`). */
  readonly opener: string;
}

/** Thrown inside the builder only, and always caught by `segment()`. */
class SyntaxFault {
  constructor(readonly message: string) {}
}

/** RFC 3501 9 ATOM-CHAR: CHAR except atom-specials `(){ SP CTL % * " \ ]`. */
function isAtomChar(b: number): boolean {
  return b > 0x20 && b < 0x7f && b !== LPAREN && b !== RPAREN && b !== LBRACE && b !== 0x25 && b !== 0x2a && b !== DQUOTE && b !== BACKSLASH && b !== RBRACKET;
}

/** RFC 3501 9 tag: 1*<any ASTRING-CHAR except "+">, where ASTRING-CHAR = ATOM-CHAR / resp-specials. */
function isTagChar(b: number): boolean {
  return (isAtomChar(b) || b === RBRACKET) && b !== PLUS;
}

/** A bare token's reading: number (RFC 3501 4.2), NIL (4.5), sequence set (9, RFC 5182), else atom (4.1). */
function classify(text: string): ImapValue {
  if (/^[0-9]+$/.test(text)) {
    const value = Number(text);
    if (Number.isSafeInteger(value)) return { kind: 'number', text, value };
    return { kind: 'atom', text };
  }
  if (text.length === 3 && text.toUpperCase() === 'NIL') return { kind: 'nil', text };
  if (/^[0-9:*,$]+$/.test(text)) {
    const set = parseSequenceSet(text);
    if (set) return { kind: 'sequence', text, set };
  }
  return { kind: 'atom', text };
}

export class CommandBuilder {
  tag: string | null = null;
  name: string | null = null;
  private readonly root: ImapValue[] = [];
  private readonly frames: Frame[] = [];
  /** The last thing read was a value: what follows must be SP, a closing bracket or the end. */
  private afterValue = false;
  private literalForm: 'literal' | 'literal8' = 'literal';
  private line: Buffer = Buffer.alloc(0);
  private pos = 0;

  /** Reads one line segment (without its CRLF): the command is complete, waits for a literal, or is bad. */
  segment(line: Buffer): SegmentResult {
    this.line = line;
    this.pos = 0;
    try {
      if (this.tag === null) this.readTagAndName();
      while (this.pos < line.length) {
        const literal = this.readItem();
        if (literal) return literal;
      }
      return this.finish();
    } catch (fault) {
      if (fault instanceof SyntaxFault) return { status: 'error', message: fault.message };
      throw fault;
    }
  }

  /** The literal announced by the last segment has arrived in full. */
  literal(data: Buffer): void {
    this.add({ kind: 'string', value: data, form: this.literalForm });
  }

  /** RFC 3501 2.2.1, 9: `tag SP command`; the command name is an atom, compared case-insensitively. */
  private readTagAndName(): void {
    const line = this.line;
    while (this.pos < line.length && isTagChar(line[this.pos] ?? 0)) this.pos += 1;
    if (this.pos === 0) throw new SyntaxFault('Missing or invalid tag');
    this.tag = line.toString('latin1', 0, this.pos);
    if (line[this.pos] !== SP) throw new SyntaxFault('Missing command');
    const start = (this.pos += 1);
    while (this.pos < line.length && isAtomChar(line[this.pos] ?? 0)) this.pos += 1;
    if (this.pos === start) throw new SyntaxFault('Missing or invalid command name');
    this.name = line.toString('latin1', start, this.pos).toUpperCase();
    if (this.pos < line.length) {
      if (line[this.pos] !== SP) throw new SyntaxFault('Invalid command name');
      this.pos += 1;
    }
  }

  /** Reads one item; returns a literal request when the segment ends with a literal's announcement. */
  private readItem(): SegmentResult | null {
    const b = this.line[this.pos] ?? 0;
    const top = this.frames.at(-1);
    if (b === SP) {
      // One SP between arguments (RFC 3501 9); a single trailing SP is tolerated, as go-imap does.
      if (!this.afterValue) throw new SyntaxFault('Unexpected space');
      this.afterValue = false;
      this.pos += 1;
    } else if (b === RPAREN) {
      if (top?.kind !== 'list') throw new SyntaxFault('Unexpected ")"');
      this.closeList();
    } else if (b === RBRACKET && top?.kind === 'section') {
      this.closeSection();
    } else if (this.afterValue && b !== LPAREN) {
      throw new SyntaxFault('Expected a space between arguments');
    } else if (b === LPAREN) {
      this.open({ kind: 'list', items: [], opener: '' });
      this.pos += 1;
    } else if (b === DQUOTE) {
      this.add(this.readQuoted());
    } else if (b === LBRACE || (b === TILDE && this.line[this.pos + 1] === LBRACE)) {
      return this.readLiteralAnnouncement();
    } else {
      const value = this.readBare();
      if (value) this.add(value);
    }
    return null;
  }

  private add(value: ImapValue): void {
    (this.frames.at(-1)?.items ?? this.root).push(value);
    this.afterValue = true;
  }

  private open(frame: Frame): void {
    if (this.frames.length >= MAX_NESTING) throw new SyntaxFault('Lists nested too deeply');
    this.frames.push(frame);
    this.afterValue = false;
  }

  private closeList(): void {
    const frame = this.frames.pop();
    this.pos += 1;
    this.add({ kind: 'list', items: frame?.items ?? [] });
  }

  /** `]` then an optional `<offset.length>` (RFC 3501 9 fetch-att). */
  private closeSection(): void {
    const frame = this.frames.pop();
    this.pos += 1;
    const section = frame?.items ?? [];
    const text = frame?.opener ?? '';
    if (this.line[this.pos] !== LT) {
      this.add({ kind: 'atom', text, section });
      return;
    }
    this.pos += 1;
    const offset = this.readNumber32();
    if (this.line[this.pos] !== DOT) throw new SyntaxFault('Invalid partial: expected <offset.length>');
    this.pos += 1;
    const length = this.readNumber32();
    if (this.line[this.pos] !== GT || length === 0) throw new SyntaxFault('Invalid partial: expected <offset.length>');
    this.pos += 1;
    this.add({ kind: 'atom', text, section, partial: { offset, length } });
  }

  private readNumber32(): number {
    const start = this.pos;
    while (this.pos < this.line.length && this.isDigit(this.line[this.pos])) this.pos += 1;
    const digits = this.line.toString('latin1', start, this.pos);
    const value = Number(digits);
    if (digits.length === 0 || digits.length > 10 || value > MAX_NUMBER32) throw new SyntaxFault('Invalid number');
    return value;
  }

  private isDigit(b: number | undefined): boolean {
    return b !== undefined && b >= 0x30 && b <= 0x39;
  }

  /**
   * RFC 3501 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; `\` escapes only `"` and `\`. 8-bit bytes are kept
   * (UTF-8 is allowed in quoted strings by RFC 9051 9 and RFC 6855 3); NUL, CR and LF are not.
   */
  private readQuoted(): ImapValue {
    const line = this.line;
    const bytes: number[] = [];
    this.pos += 1;
    for (;;) {
      if (this.pos >= line.length) throw new SyntaxFault('Unterminated quoted string');
      const b = line[this.pos] ?? 0;
      if (b === DQUOTE) break;
      if (b === 0 || b === 0x0d || b === 0x0a) throw new SyntaxFault('Invalid character in quoted string');
      if (b === BACKSLASH) {
        const escaped = line[this.pos + 1];
        if (escaped !== DQUOTE && escaped !== BACKSLASH) throw new SyntaxFault('Invalid escape in quoted string');
        bytes.push(escaped);
        this.pos += 2;
      } else {
        bytes.push(b);
        this.pos += 1;
      }
    }
    this.pos += 1;
    return { kind: 'string', value: Buffer.from(bytes), form: 'quoted' };
  }

  /**
   * `{n}` (RFC 3501 4.3), `{n+}` (RFC 7888 3), `~{n}` and `~{n+}` (RFC 3516 literal8): it must end the line,
   * whose CRLF is followed by the n octets.
   */
  private readLiteralAnnouncement(): SegmentResult {
    const line = this.line;
    this.literalForm = line[this.pos] === TILDE ? 'literal8' : 'literal';
    this.pos += this.literalForm === 'literal8' ? 2 : 1;
    const start = this.pos;
    while (this.pos < line.length && this.isDigit(line[this.pos])) this.pos += 1;
    const digits = line.toString('latin1', start, this.pos);
    const nonSync = line[this.pos] === PLUS;
    if (nonSync) this.pos += 1;
    if (digits.length === 0 || line[this.pos] !== RBRACE) throw new SyntaxFault('Invalid literal');
    if (this.pos + 1 !== line.length) throw new SyntaxFault('A literal must end the line');
    this.pos += 1;
    // Sizes beyond exact JS numbers are beyond every limit anyway.
    const size = digits.length > 15 ? Number.POSITIVE_INFINITY : Number(digits);
    return { status: 'literal', size, nonSync };
  }

  /**
   * A bare token: ATOM-CHARs, plus `%` and `*` (LIST patterns, RFC 3501 6.3.8; `*` in sequence sets),
   * `]` (astrings, RFC 3501 9 ASTRING-CHAR) and one leading `\` (flags, RFC 3501 2.3.2). Returns null
   * when the token opened a section instead.
   */
  private readBare(): ImapValue | null {
    const line = this.line;
    const start = this.pos;
    const inSection = this.frames.at(-1)?.kind === 'section';
    for (; this.pos < line.length; this.pos += 1) {
      const b = line[this.pos] ?? 0;
      if (b === SP || b === LPAREN || b === RPAREN || b === DQUOTE || b === LBRACE) break;
      if (b === RBRACKET && inSection) break;
      if (b === LBRACKET) {
        const opener = line.toString('latin1', start, this.pos);
        if (SECTION_OPENERS.has(opener.toUpperCase())) {
          this.pos += 1;
          this.open({ kind: 'section', items: [], opener });
          return null;
        }
      }
      if (b === BACKSLASH && this.pos !== start) throw new SyntaxFault('Invalid character in atom');
      if (b <= SP || b >= 0x7f) throw new SyntaxFault('Invalid character in atom');
    }
    const text = line.toString('latin1', start, this.pos);
    if (text.length === 0 || text === '\\') throw new SyntaxFault('Invalid atom');
    return classify(text);
  }

  private finish(): SegmentResult {
    const open = this.frames.at(-1);
    if (open) throw new SyntaxFault(open.kind === 'list' ? 'Unclosed "("' : 'Unclosed "["');
    let name = this.name ?? '';
    let args: readonly ImapValue[] = this.root;
    const first = args[0];
    // RFC 3501 6.4.8: UID prefixes COPY, FETCH, STORE, SEARCH (and MOVE, EXPUNGE from extensions).
    if (name === 'UID' && first?.kind === 'atom' && !first.section) {
      name = `UID ${first.text.toUpperCase()}`;
      args = args.slice(1);
    }
    return { status: 'complete', command: { tag: this.tag ?? '', name, args } };
  }
}
