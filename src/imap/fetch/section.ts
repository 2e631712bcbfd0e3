// Body sections of FETCH (RFC 3501 6.4.5, 9) and BINARY (RFC 3516 4.2), read from the section items the
// wire parser collected between `[` and `]`, into the backend's SectionSpec and the name the response
// echoes (RFC 3501 7.4.2: "BODY[<section>]<<origin octet>>").
//
//   section         = "[" [section-spec] "]"
//   section-spec    = section-msgtext / (section-part ["." section-text])
//   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
//   section-part    = nz-number *("." nz-number)
//   section-text    = section-msgtext / "MIME"
//   header-list     = "(" header-fld-name *(SP header-fld-name) ")"
//   section-binary  = "[" [section-part] "]"                          (RFC 3516)
import type { SectionSpec } from '../backend.js';
import { astr, atom, isAtomText, list, str, type ResponseValue } from '../wire/encoder.js';
import type { ImapValue } from '../wire/values.js';

export interface ParsedSection {
  readonly spec: SectionSpec;
  /** What goes between the brackets of the response item name. */
  readonly echo: readonly ResponseValue[];
}

export type SectionResult = ParsedSection | { readonly error: string };

/** A field name as the client may send it (an astring); field-name chars of RFC 5322 3.6.8. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** `1.2.3` into [1, 2, 3] and the rest (`HEADER.FIELDS`); null when a number is malformed. */
function splitPart(text: string): { path: number[]; rest: string } | null {
  const pieces = text.split('.');
  const path: number[] = [];
  let index = 0;
  for (; index < pieces.length; index += 1) {
    const piece = pieces[index] ?? '';
    if (!/^[0-9]+$/.test(piece)) break;
    // Dovecot answers an empty string for part 0 rather than BAD; so do we (the backend finds no part).
    if (piece.length > 10) return null;
    path.push(Number(piece));
  }
  const rest = pieces.slice(index).join('.');
  if (rest === '' && index < pieces.length) return null; // `1.` or `1..2`
  if (index < pieces.length && pieces.slice(index).some((p) => p === '')) return null;
  return { path, rest: rest.toUpperCase() };
}

function tokenText(value: ImapValue | undefined): string | null {
  if (!value) return null;
  if (value.kind === 'atom' && !value.section) return value.text;
  if (value.kind === 'number') return value.text;
  return null;
}

/**
 * Field names, upper-cased for the echo as Dovecot does, and sent back in the form they came in
 * (atom or string): `BODY[HEADER.FIELDS (FROM "TO")]`.
 */
function readFields(value: ImapValue | undefined): { names: string[]; echo: ResponseValue } | null {
  if (value?.kind !== 'list' || value.items.length === 0) return null;
  const names: string[] = [];
  const echo: ResponseValue[] = [];
  for (const item of value.items) {
    let name: string;
    if (item.kind === 'string') name = item.value.toString('latin1');
    else if (item.kind === 'atom' && !item.section) name = item.text;
    else if (item.kind === 'number' || item.kind === 'sequence' || item.kind === 'nil') name = item.text;
    else return null;
    if (!FIELD_NAME.test(name)) return null;
    names.push(name);
    const upper = name.toUpperCase();
    echo.push(item.kind === 'string' || !isAtomText(upper) ? str(upper) : astr(upper));
  }
  return { names, echo: list(echo) };
}

/** A BODY[...] section (RFC 3501 6.4.5). */
export function parseBodySection(items: readonly ImapValue[]): SectionResult {
  if (items.length === 0) return { spec: { path: [] }, echo: [] };
  const text = tokenText(items[0]);
  if (text === null) return { error: 'Invalid BODY[..] section' };
  const split = splitPart(text);
  if (!split) return { error: 'Invalid BODY[..] section' };
  const { path, rest } = split;
  const label = atom(path.length > 0 ? [path.join('.'), rest].filter(Boolean).join('.') : rest);
  switch (rest) {
    case '':
      return items.length === 1 ? { spec: { path }, echo: [label] } : { error: 'Invalid BODY[..] section' };
    case 'HEADER':
    case 'TEXT':
      return items.length === 1 ? { spec: { path, text: rest }, echo: [label] } : { error: 'Invalid BODY[..] section' };
    case 'MIME':
      // RFC 3501 6.4.5: MIME names the header of a part, so it needs a part number.
      if (path.length === 0 || items.length !== 1) return { error: 'Invalid BODY[..] section' };
      return { spec: { path, text: 'MIME' }, echo: [label] };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      const fields = readFields(items[1]);
      if (!fields || items.length !== 2) return { error: 'Invalid BODY[..] section' };
      return { spec: { path, text: rest, fields: fields.names }, echo: [label, fields.echo] };
    }
    default:
      return { error: 'Invalid BODY[..] section' };
  }
}

/** A BINARY[...] section: a part number only (RFC 3516 4.2 section-binary). */
export function parseBinarySection(items: readonly ImapValue[]): SectionResult {
  if (items.length === 0) return { spec: { path: [] }, echo: [] };
  const text = tokenText(items[0]);
  const split = text === null ? null : splitPart(text);
  if (!split || split.rest !== '' || items.length !== 1) return { error: 'Invalid BINARY[..] section' };
  return { spec: { path: split.path }, echo: [atom(split.path.join('.'))] };
}
