// A tiny reader of IMAP server responses for tests that compare two servers (Letterbox and Dovecot) or
// check what a server said: it frames responses (a line, plus the literals it announces), parses them
// into a value tree where a quoted string and a literal with the same bytes are the same value, and
// normalises what RFC 3501 leaves to the server (atom case, the order of FETCH items).
// It is deliberately separate from src/imap/wire (the thing under test) and lenient: it reads what a
// server sends, it does not judge it.

/** A value of a server response (RFC 3501 4): strings are bytes whatever their form on the wire. */
export type ResponseValue =
  | { kind: 'atom'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'string'; bytes: Buffer; form: 'quoted' | 'literal' | 'literal8' }
  | { kind: 'nil' }
  | { kind: 'list'; items: ResponseValue[] };

/** One response: `* ...`, `+ ...` or `tag ...`. */
export interface ImapResponse {
  /** `*`, `+`, or the command's tag. */
  tag: string;
  /** Status responses (OK, NO, BAD, BYE, PREAUTH), upper case; undefined for data. */
  status?: string;
  /** The response code's name, upper case (`UNKNOWN-CTE`), and its raw text after the name. */
  code?: { name: string; text: string };
  /** The human-readable text of a status or continuation response. */
  text?: string;
  /** Data responses: every value after the tag (`3 FETCH (...)` is number, atom, list). */
  values: ResponseValue[];
  /** The response exactly as received. */
  raw: Buffer;
}

const CRLF = Buffer.from('\r\n');
const LITERAL_AT_END = /(~?)\{(\d+)\+?\}$/;

/** Length of the first complete response in `buffer` (a line and the literals it announces), or 0. */
export function responseLength(buffer: Buffer): number {
  let at = 0;
  for (;;) {
    const eol = buffer.indexOf(CRLF, at);
    if (eol < 0) return 0;
    // Only the tail of a line can announce a literal: look at its last few bytes.
    const tail = buffer.subarray(Math.max(at, eol - 24), eol).toString('latin1');
    const literal = LITERAL_AT_END.exec(tail);
    if (!literal) return eol + 2;
    at = eol + 2 + Number(literal[2]);
    if (at > buffer.length) return 0;
  }
}

class Reader {
  at = 0;
  constructor(readonly bytes: Buffer) {}

  get done(): boolean {
    return this.at >= this.bytes.length || this.peek() === '\r';
  }

  peek(): string {
    return String.fromCharCode(this.bytes[this.at] ?? 0);
  }

  skipSpaces(): void {
    while (this.peek() === ' ') this.at++;
  }

  /** Up to (not including) the first byte in `stops`, or the end of the line. */
  until(stops: string): string {
    const from = this.at;
    while (!this.done && !stops.includes(this.peek())) this.at++;
    return this.bytes.subarray(from, this.at).toString('latin1');
  }

  rest(): string {
    const text = this.until('\r');
    return text;
  }
}

function readQuoted(reader: Reader): ResponseValue {
  reader.at++; // the opening quote
  const bytes: number[] = [];
  while (reader.at < reader.bytes.length) {
    const byte = reader.bytes[reader.at++] as number;
    if (byte === 0x22) break;
    if (byte === 0x5c) bytes.push(reader.bytes[reader.at++] as number);
    else bytes.push(byte);
  }
  return { kind: 'string', bytes: Buffer.from(bytes), form: 'quoted' };
}

function readLiteral(reader: Reader): ResponseValue {
  const from = reader.at;
  const binary = reader.peek() === '~';
  if (binary) reader.at++;
  const close = reader.bytes.indexOf('}', reader.at);
  const count = close < 0 ? '' : reader.bytes.subarray(reader.at + 1, close).toString('latin1').replace(/\+$/, '');
  if (!/^\d+$/.test(count)) {
    // Not a literal (`{x}`): the brace is taken as an atom, so that reading always moves on.
    reader.at = from + 1;
    return { kind: 'atom', text: String.fromCharCode(reader.bytes[from] ?? 0) };
  }
  const size = Number(count);
  const start = close + 3; // past "}\r\n"
  reader.at = Math.min(reader.bytes.length, start + size);
  return { kind: 'string', bytes: Buffer.from(reader.bytes.subarray(start, start + size)), form: binary ? 'literal8' : 'literal' };
}

/** `[...]` after an atom (`BODY[1.MIME]`), kept as text: quoted strings and nested brackets included. */
function readSection(reader: Reader): string {
  const from = reader.at;
  let depth = 0;
  let quoted = false;
  while (reader.at < reader.bytes.length) {
    const char = reader.peek();
    reader.at++;
    if (quoted) {
      if (char === '\\') reader.at++;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === '[') depth++;
    else if (char === ']' && --depth === 0) break;
  }
  return reader.bytes.subarray(from, reader.at).toString('latin1');
}

function readAtom(reader: Reader): ResponseValue {
  let text = reader.until(' ()[]"{\r');
  if (reader.peek() === '[') {
    text += readSection(reader);
    if (reader.peek() === '<') text += reader.until(' ()\r');
  }
  if (/^\d+$/.test(text)) return { kind: 'number', text };
  if (text.toUpperCase() === 'NIL') return { kind: 'nil' };
  return { kind: 'atom', text };
}

function readValue(reader: Reader): ResponseValue {
  const char = reader.peek();
  if (char === '"') return readQuoted(reader);
  if (char === '{' || (char === '~' && reader.bytes[reader.at + 1] === 0x7b)) return readLiteral(reader);
  if (char === '(') {
    reader.at++;
    const items: ResponseValue[] = [];
    for (reader.skipSpaces(); !reader.done && reader.peek() !== ')'; reader.skipSpaces()) items.push(readValue(reader));
    reader.at++; // ')'
    return { kind: 'list', items };
  }
  // A stray ')' or ']' would loop forever: take it as a one-character atom.
  if (char === ')' || char === ']') {
    reader.at++;
    return { kind: 'atom', text: char };
  }
  return readAtom(reader);
}

const STATUS = new Set(['OK', 'NO', 'BAD', 'BYE', 'PREAUTH']);

/** Parses one framed response (as `responseLength` cut it). */
export function parseResponse(raw: Buffer): ImapResponse {
  const reader = new Reader(raw);
  const tag = reader.until(' ');
  reader.skipSpaces();
  if (tag === '+') return { tag, text: reader.rest(), values: [], raw };
  const save = reader.at;
  const word = reader.until(' ').toUpperCase();
  if (STATUS.has(word)) {
    reader.skipSpaces();
    let code: ImapResponse['code'];
    if (reader.peek() === '[') {
      const section = readSection(reader).slice(1, -1);
      const space = section.indexOf(' ');
      code = space < 0 ? { name: section.toUpperCase(), text: '' } : { name: section.slice(0, space).toUpperCase(), text: section.slice(space + 1) };
      reader.skipSpaces();
    }
    return { tag, status: word, code, text: reader.rest(), values: [], raw };
  }
  reader.at = save;
  const values: ResponseValue[] = [];
  for (reader.skipSpaces(); !reader.done; reader.skipSpaces()) values.push(readValue(reader));
  return { tag, values, raw };
}

/** Splits a byte stream into complete responses; what is left over stays in `rest`. */
export function splitResponses(buffer: Buffer): { responses: ImapResponse[]; rest: Buffer } {
  const responses: ImapResponse[] = [];
  let rest = buffer;
  for (let length = responseLength(rest); length > 0; length = responseLength(rest)) {
    responses.push(parseResponse(rest.subarray(0, length)));
    rest = rest.subarray(length);
  }
  return { responses, rest };
}

/** An atom's text with its case and spacing normalised: `body[header.fields (from  to)]` -> `BODY[HEADER.FIELDS (FROM TO)]`. */
function normaliseAtom(text: string): string {
  // Quoted strings inside a section keep their case (there are none in FETCH item names in practice).
  return text.toUpperCase().replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')');
}

/**
 * The value with what a comparison must ignore taken out: atoms in upper case (RFC 3501 9: atoms are
 * case-insensitive), quoted vs literal (RFC 3501 4.3: both are strings), and, for a FETCH list, the
 * order of its items (RFC 3501 7.4.2 sets none), which are sorted by name.
 */
export function normalise(value: ResponseValue, fetchList = false): ResponseValue {
  switch (value.kind) {
    case 'atom':
      return { kind: 'atom', text: normaliseAtom(value.text) };
    case 'string':
      return { kind: 'string', bytes: value.bytes, form: 'quoted' };
    case 'list': {
      const items = value.items.map((item) => normalise(item));
      if (!fetchList) return { kind: 'list', items };
      const pairs: [ResponseValue, ResponseValue][] = [];
      for (let i = 0; i + 1 < items.length; i += 2) pairs.push([items[i] as ResponseValue, items[i + 1] as ResponseValue]);
      pairs.sort(([a], [b]) => showValue(a).localeCompare(showValue(b)));
      return { kind: 'list', items: pairs.flat() };
    }
    default:
      return value;
  }
}

/** The response's values normalised, its FETCH list (`* n FETCH (...)`) with sorted items. */
export function normaliseResponse(response: ImapResponse): ResponseValue[] {
  const isFetch = response.values[1]?.kind === 'atom' && response.values[1].text.toUpperCase() === 'FETCH';
  return response.values.map((value, i) => normalise(value, isFetch && i === 2));
}

/** Readable one-line text of a value: strings as JSON of their latin1 reading, so CR, LF and 8-bit bytes show. */
export function showValue(value: ResponseValue): string {
  switch (value.kind) {
    case 'atom':
    case 'number':
      return value.text;
    case 'nil':
      return 'NIL';
    case 'string':
      return JSON.stringify(value.bytes.toString('latin1'));
    case 'list':
      return `(${value.items.map(showValue).join(' ')})`;
  }
}

/** `showValue` of every value of a response, after the tag. */
export function showResponse(response: ImapResponse): string {
  if (response.status) return `${response.tag} ${response.status}${response.code ? ` [${response.code.name}]` : ''}`;
  return `${response.tag} ${response.values.map(showValue).join(' ')}`;
}

/** The FETCH item `name` (`BODYSTRUCTURE`, `BODY[1.MIME]`; any case) of a `* n FETCH (...)` response. */
export function fetchItem(response: ImapResponse, name: string): ResponseValue | undefined {
  const list = response.values[2];
  if (list?.kind !== 'list') return undefined;
  const wanted = normaliseAtom(name);
  for (let i = 0; i + 1 < list.items.length; i += 2) {
    const key = list.items[i] as ResponseValue;
    if (key.kind === 'atom' && normaliseAtom(key.text) === wanted) return list.items[i + 1];
  }
  return undefined;
}

/**
 * Whether a string in `value` carries a NUL octet without being a literal8: RFC 3501 9 allows none in a
 * quoted string or a literal (CHAR8 is %x01-ff); only BINARY's literal8 may (RFC 3516 4.3).
 */
export function nulOutsideLiteral8(value: ResponseValue): boolean {
  if (value.kind === 'string') return value.form !== 'literal8' && value.bytes.includes(0);
  return value.kind === 'list' && value.items.some(nulOutsideLiteral8);
}
