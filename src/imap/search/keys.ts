// SEARCH criteria read into a typed tree (RFC 3501 6.4.4, 9 "search-key"; RFC 7162 3.1.5 MODSEQ).
// Pure: evaluate.ts matches the tree against messages.
//
//   search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date / "BODY" SP astring /
//                "CC" SP astring / "DELETED" / "FLAGGED" / "FROM" SP astring / "KEYWORD" SP flag-keyword /
//                "NEW" / "OLD" / "ON" SP date / "RECENT" / "SEEN" / "SINCE" SP date / "SUBJECT" SP astring /
//                "TEXT" SP astring / "TO" SP astring / "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
//                "UNKEYWORD" SP flag-keyword / "UNSEEN" / "DRAFT" / "HEADER" SP header-fld-name SP astring /
//                "LARGER" SP number / "NOT" SP search-key / "OR" SP search-key SP search-key /
//                "SENTBEFORE" SP date / "SENTON" SP date / "SENTSINCE" SP date / "SMALLER" SP number /
//                "UID" SP sequence-set / "UNDRAFT" / sequence-set / "(" search-key *(SP search-key) ")"
//   search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer        ; RFC 7162 7
//   search-modseq-ext  = SP entry-name SP entry-type-req
//   date       = date-text / DQUOTE date-text DQUOTE
//   date-text  = date-day "-" date-month "-" date-year
import { astringBytes, utf8Text } from '../wire/arguments.js';
import type { SequenceSet } from '../wire/sequence-set.js';
import type { ImapValue } from '../wire/values.js';

/** A calendar day as yyyymmdd, so days compare as numbers. */
export type Day = number;

export type SearchKey =
  | { readonly kind: 'all' }
  /** A flag present (`has`) or absent; `\Recent` as the session sees it. */
  | { readonly kind: 'flag'; readonly flag: string; readonly has: boolean }
  | { readonly kind: 'larger' | 'smaller'; readonly size: number }
  /** BEFORE, ON, SINCE on the internal date; SENTBEFORE, SENTON, SENTSINCE on the Date header. */
  | { readonly kind: 'date'; readonly field: 'internal' | 'sent'; readonly op: 'before' | 'on' | 'since'; readonly day: Day }
  /** FROM, TO, CC, BCC, SUBJECT, HEADER: a substring of the decoded field; '' matches any message with it. */
  | { readonly kind: 'header'; readonly field: string; readonly text: string }
  | { readonly kind: 'text'; readonly scope: 'body' | 'text'; readonly text: string }
  | { readonly kind: 'seq'; readonly set: SequenceSet }
  | { readonly kind: 'uid'; readonly set: SequenceSet }
  | { readonly kind: 'modseq'; readonly modseq: number }
  | { readonly kind: 'not'; readonly key: SearchKey }
  | { readonly kind: 'or'; readonly left: SearchKey; readonly right: SearchKey }
  | { readonly kind: 'and'; readonly keys: readonly SearchKey[] };

export type KeysResult = { readonly key: SearchKey } | { readonly error: string };

/** NOT NOT NOT ... is not bounded by list nesting; this bound keeps the evaluator off the stack limit. */
export const MAX_DEPTH = 100;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

const FLAG_KEYS: Record<string, { flag: string; has: boolean }> = {
  ANSWERED: { flag: '\\Answered', has: true },
  DELETED: { flag: '\\Deleted', has: true },
  DRAFT: { flag: '\\Draft', has: true },
  FLAGGED: { flag: '\\Flagged', has: true },
  RECENT: { flag: '\\Recent', has: true },
  SEEN: { flag: '\\Seen', has: true },
  OLD: { flag: '\\Recent', has: false },
  UNANSWERED: { flag: '\\Answered', has: false },
  UNDELETED: { flag: '\\Deleted', has: false },
  UNDRAFT: { flag: '\\Draft', has: false },
  UNFLAGGED: { flag: '\\Flagged', has: false },
  UNSEEN: { flag: '\\Seen', has: false },
};

const ADDRESS_KEYS: Record<string, string> = { BCC: 'Bcc', CC: 'Cc', FROM: 'From', SUBJECT: 'Subject', TO: 'To' };

const DATE_KEYS: Record<string, { field: 'internal' | 'sent'; op: 'before' | 'on' | 'since' }> = {
  BEFORE: { field: 'internal', op: 'before' },
  ON: { field: 'internal', op: 'on' },
  SINCE: { field: 'internal', op: 'since' },
  SENTBEFORE: { field: 'sent', op: 'before' },
  SENTON: { field: 'sent', op: 'on' },
  SENTSINCE: { field: 'sent', op: 'since' },
};

/** `1-Feb-1994` (RFC 3501 9 date-text), atom or quoted, as yyyymmdd; null when it is not one. */
export function parseSearchDate(value: ImapValue | undefined): Day | null {
  if (value?.kind !== 'atom' && value?.kind !== 'string') return null;
  if (value.kind === 'atom' && value.section) return null;
  const text = value.kind === 'atom' ? value.text : value.value.toString('latin1');
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!m) return null;
  const day = Number(m[1]);
  const month = MONTHS.indexOf((m[2] as string).toUpperCase());
  if (month < 0 || day < 1 || day > 31) return null;
  return Number(m[3]) * 10000 + (month + 1) * 100 + day;
}

/**
 * A search string as text. Strings are UTF-8 (CHARSET UTF-8, and US-ASCII is a subset); bytes that are
 * not UTF-8 are read as Latin-1 rather than refused, as a client sending them without CHARSET means
 * them as text all the same.
 */
function searchText(value: ImapValue | undefined): string | null {
  const bytes = astringBytes(value);
  if (bytes === null) return null;
  return utf8Text(bytes) ?? bytes.toString('latin1');
}

/** A flag-keyword (RFC 3501 9: an atom). */
function keywordArg(value: ImapValue | undefined): string | null {
  if (!value || value.kind === 'list' || value.kind === 'string' || value.kind === 'nil') return null;
  if (value.kind === 'atom' && value.section) return null;
  return value.text;
}

/** A syntax error in the criteria, its message safe to send with BAD. */
class SearchSyntaxError extends Error {}

class KeyReader {
  private pos = 0;

  constructor(private readonly values: readonly ImapValue[]) {}

  get done(): boolean {
    return this.pos >= this.values.length;
  }

  next(): ImapValue | undefined {
    const value = this.values[this.pos];
    this.pos += 1;
    return value;
  }

  /** One search-key; throws SearchSyntaxError for BAD. */
  key(depth: number): SearchKey {
    if (depth > MAX_DEPTH) throw new SearchSyntaxError('Search criteria nested too deeply');
    const value = this.next();
    if (value === undefined) throw new SearchSyntaxError('Missing search key');
    if (value.kind === 'list') return this.list(value.items, depth);
    if (value.kind === 'sequence') return { kind: 'seq', set: value.set };
    if (value.kind === 'number') {
      if (value.value < 1 || value.value > 0xffff_ffff || value.text.startsWith('0')) throw new SearchSyntaxError('Invalid message number');
      return { kind: 'seq', set: { ranges: [{ start: value.value, end: value.value }], lastResult: false } };
    }
    if (value.kind !== 'atom' || value.section) throw new SearchSyntaxError('Invalid search key');
    return this.named(value.text.toUpperCase(), depth);
  }

  private list(items: readonly ImapValue[], depth: number): SearchKey {
    if (items.length === 0) throw new SearchSyntaxError('Empty search key list');
    const inner = new KeyReader(items);
    const keys: SearchKey[] = [];
    while (!inner.done) keys.push(inner.key(depth + 1));
    return keys.length === 1 ? (keys[0] as SearchKey) : { kind: 'and', keys };
  }

  private named(name: string, depth: number): SearchKey {
    const flag = FLAG_KEYS[name];
    if (flag) return { kind: 'flag', ...flag };
    const field = ADDRESS_KEYS[name];
    if (field) return { kind: 'header', field, text: this.text() };
    const date = DATE_KEYS[name];
    if (date) {
      const day = parseSearchDate(this.next());
      if (day === null) throw new SearchSyntaxError('Invalid search date');
      return { kind: 'date', ...date, day };
    }
    switch (name) {
      case 'ALL':
        return { kind: 'all' };
      case 'NEW': // RFC 3501 6.4.4: "functionally equivalent to (RECENT UNSEEN)"
        return { kind: 'and', keys: [{ kind: 'flag', flag: '\\Recent', has: true }, { kind: 'flag', flag: '\\Seen', has: false }] };
      case 'KEYWORD':
      case 'UNKEYWORD': {
        const keyword = keywordArg(this.next());
        if (keyword === null) throw new SearchSyntaxError('Invalid keyword');
        return { kind: 'flag', flag: keyword, has: name === 'KEYWORD' };
      }
      case 'HEADER': {
        const fieldName = searchText(this.next());
        if (fieldName === null || !/^[\x21-\x39\x3b-\x7e]+$/.test(fieldName)) throw new SearchSyntaxError('Invalid header field name');
        return { kind: 'header', field: fieldName, text: this.text() };
      }
      case 'BODY':
      case 'TEXT':
        return { kind: 'text', scope: name === 'BODY' ? 'body' : 'text', text: this.text() };
      case 'LARGER':
      case 'SMALLER': {
        const size = this.next();
        if (size?.kind !== 'number') throw new SearchSyntaxError('Invalid search size');
        return { kind: name === 'LARGER' ? 'larger' : 'smaller', size: size.value };
      }
      case 'UID': {
        const set = this.next();
        if (set?.kind === 'sequence') return { kind: 'uid', set: set.set };
        if (set?.kind === 'number' && set.value >= 1 && !set.text.startsWith('0')) return { kind: 'uid', set: { ranges: [{ start: set.value, end: set.value }], lastResult: false } };
        throw new SearchSyntaxError('Invalid UID set');
      }
      case 'NOT':
        return { kind: 'not', key: this.key(depth + 1) };
      case 'OR': {
        const left = this.key(depth + 1);
        return { kind: 'or', left, right: this.key(depth + 1) };
      }
      case 'MODSEQ':
        return this.modseq();
      default:
        throw new SearchSyntaxError(`Unknown search key ${name.slice(0, 40)}`);
    }
  }

  private text(): string {
    const text = searchText(this.next());
    if (text === null) throw new SearchSyntaxError('Missing search string');
    return text;
  }

  /** RFC 7162 3.1.5: the optional entry name and type are read and not used (flags share one MODSEQ). */
  private modseq(): SearchKey {
    let value = this.next();
    if (value?.kind === 'string') {
      const type = this.next();
      const typeName = type?.kind === 'atom' ? type.text.toLowerCase() : '';
      if (!['priv', 'shared', 'all'].includes(typeName)) throw new SearchSyntaxError('Invalid MODSEQ entry type');
      value = this.next();
    }
    if (value?.kind !== 'number') throw new SearchSyntaxError('Invalid MODSEQ value');
    return { kind: 'modseq', modseq: value.value };
  }
}

/** Every search-key of `values` (RFC 3501: several keys are ANDed). */
export function parseSearchKeys(values: readonly ImapValue[]): KeysResult {
  if (values.length === 0) return { error: 'Missing search criteria' };
  const reader = new KeyReader(values);
  try {
    const keys: SearchKey[] = [];
    while (!reader.done) keys.push(reader.key(0));
    return { key: keys.length === 1 ? (keys[0] as SearchKey) : { kind: 'and', keys } };
  } catch (problem) {
    if (problem instanceof SearchSyntaxError) return { error: problem.message };
    throw problem;
  }
}
