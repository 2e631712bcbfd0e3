// One header block as raw fields (RFC 5322 2.2), for HEADER.FIELDS(.NOT) and SEARCH HEADER: each
// field's bytes as stored (folded lines kept whole) and its name, the empty line that ends the block
// left out.
import { decodeWords } from './mime/content-fields.js';
import { headerText } from './mime/header-fields.js';

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const CRLF = Buffer.from('\r\n');

export interface RawField {
  /** Lower-cased; for a line without a colon, the whole line (it then matches no name a client gives). */
  name: string;
  /** The field's lines, continuation lines and line breaks included. */
  raw: Buffer;
}

/** True for a line that is only a line break: the end of the header block. */
function isBlankLine(block: Buffer, at: number): boolean {
  return block[at] === LF || (block[at] === CR && block[at + 1] === LF);
}

/** The fields of `block` in order, stopping at its empty line. */
export function rawFields(block: Buffer): RawField[] {
  const fields: RawField[] = [];
  let fieldStart = -1;
  let at = 0;
  const close = (end: number) => {
    if (fieldStart < 0) return;
    const raw = block.subarray(fieldStart, end);
    const colon = raw.indexOf(0x3a);
    const name = (colon < 0 ? raw : raw.subarray(0, colon)).toString('latin1').trim().toLowerCase();
    fields.push({ name, raw });
  };
  while (at < block.length) {
    if (isBlankLine(block, at)) break;
    const first = block[at];
    if (first !== SPACE && first !== TAB) {
      close(at);
      fieldStart = at;
    }
    const lf = block.indexOf(LF, at);
    at = lf < 0 ? block.length : lf + 1;
  }
  close(at);
  return fields;
}

/**
 * RFC 3501 6.4.5 HEADER.FIELDS / HEADER.FIELDS.NOT: the fields whose names are (or are not) listed,
 * in message order, then the empty line. A last field without a line break gets one, so that the empty
 * line ends the block.
 */
export function pickFields(block: Buffer, names: readonly string[], exclude: boolean): Buffer {
  const wanted = new Set(names.map((name) => name.toLowerCase()));
  const parts: Buffer[] = [];
  for (const field of rawFields(block)) {
    if (wanted.has(field.name) === exclude) continue;
    parts.push(field.raw);
    if (field.raw.at(-1) !== LF) parts.push(CRLF);
  }
  parts.push(CRLF);
  return Buffer.concat(parts);
}

/** A field's value unfolded (RFC 5322 2.2.3), trimmed, RFC 2047 words decoded. */
export function decodedValue(field: RawField): string {
  const colon = field.raw.indexOf(0x3a);
  if (colon < 0) return '';
  const text = headerText(field.raw.subarray(colon + 1)).replace(/\r?\n(?=[ \t])/g, '').replace(/^[ \t]+|[ \t\r\n]+$/g, '');
  return decodeWords(text);
}

/** Every field of the block as `Name: decoded value` lines, for SEARCH TEXT. */
export function decodedHeaderText(block: Buffer): string {
  return rawFields(block)
    .map((field) => {
      const colon = field.raw.indexOf(0x3a);
      const name = colon < 0 ? '' : field.raw.subarray(0, colon).toString('latin1').trim();
      return `${name}: ${decodedValue(field)}`;
    })
    .join('\n');
}
