// Matching SEARCH criteria against messages, cheapest first. A key is answered from what the session
// already holds (flags, UIDs, sequence numbers, MODSEQ) when it can be; only the messages that this
// leaves undecided are read from the backend, and only as deeply as the remaining keys need: sizes and
// dates, then the index (ENVELOPE for the sent date), then headers, then body text.
import type { FetchNeeds, MessageView } from '../backend.js';
import type { Day, SearchKey } from './keys.js';

/** What a message costs to test a key against, in increasing order. */
export const Cost = { State: 0, Metadata: 1, Index: 2, Header: 3, Body: 4 } as const;
export type Cost = (typeof Cost)[keyof typeof Cost];

/** What the session knows of one message. */
export interface MessageState {
  readonly uid: number;
  readonly seq: number;
  /** As the client sees them, `\Recent` included. */
  readonly flags: readonly string[];
  readonly modseq: number;
}

/** Sequence-set and UID keys resolved by the session beforehand (they depend on `*`). */
export interface ResolvedSets {
  /** The UIDs each `seq` or `uid` key names, by key. */
  readonly members: ReadonlyMap<SearchKey, ReadonlySet<number>>;
}

export function costOf(key: SearchKey): Cost {
  switch (key.kind) {
    case 'all':
    case 'flag':
    case 'seq':
    case 'uid':
    case 'modseq':
      return Cost.State;
    case 'larger':
    case 'smaller':
      return Cost.Metadata;
    case 'date':
      return key.field === 'internal' ? Cost.Metadata : Cost.Index;
    case 'header':
      return Cost.Header;
    case 'text':
      return Cost.Body;
    case 'not':
      return costOf(key.key);
    case 'or':
      return Math.max(costOf(key.left), costOf(key.right)) as Cost;
    case 'and':
      return Math.max(Cost.State, ...key.keys.map(costOf)) as Cost;
  }
}

/** What the backend must load for the keys that need a message read. */
export function needsOf(key: SearchKey): FetchNeeds {
  const cost = costOf(key);
  // The sent-date keys read only the ENVELOPE's date and sentDate(): the backend's envelope cache serves.
  if (cost === Cost.Index) return { index: true, content: false, envelopeOnly: true };
  return { index: cost >= Cost.Index, content: cost >= Cost.Header };
}

/** Every `seq` and `uid` key of the tree, for the session to resolve. */
export function setKeys(key: SearchKey, out: SearchKey[] = []): SearchKey[] {
  if (key.kind === 'seq' || key.kind === 'uid') out.push(key);
  else if (key.kind === 'not') setKeys(key.key, out);
  else if (key.kind === 'or') setKeys(key.right, setKeys(key.left, out));
  else if (key.kind === 'and') for (const k of key.keys) setKeys(k, out);
  return out;
}

function hasFlag(flags: readonly string[], flag: string): boolean {
  const wanted = flag.toUpperCase();
  return flags.some((f) => f.toUpperCase() === wanted);
}

/**
 * The key answered from the session's state alone: true, false, or undefined when the message must be
 * read. Three-valued logic: an AND is false as soon as one key is, an OR true as soon as one is.
 */
export function quickMatch(key: SearchKey, message: MessageState, sets: ResolvedSets): boolean | undefined {
  switch (key.kind) {
    case 'all':
      return true;
    case 'flag':
      return hasFlag(message.flags, key.flag) === key.has;
    case 'seq':
    case 'uid':
      return sets.members.get(key)?.has(message.uid) ?? false;
    case 'modseq':
      return message.modseq >= key.modseq; // RFC 7162 3.1.5: "equal to or greater than"
    case 'not': {
      const inner = quickMatch(key.key, message, sets);
      return inner === undefined ? undefined : !inner;
    }
    case 'or': {
      const left = quickMatch(key.left, message, sets);
      if (left === true) return true;
      const right = quickMatch(key.right, message, sets);
      if (right === true) return true;
      return left === false && right === false ? false : undefined;
    }
    case 'and': {
      let unknown = false;
      for (const k of key.keys) {
        const result = quickMatch(k, message, sets);
        if (result === false) return false;
        if (result === undefined) unknown = true;
      }
      return unknown ? undefined : true;
    }
    default:
      return undefined;
  }
}

/** The local calendar day of an instant (the server's zone, as INTERNALDATE is written). */
export function localDay(date: Date): Day {
  return date.getFullYear() * 10000 + (date.getMonth() + 1) * 100 + date.getDate();
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/**
 * RFC 3501 6.4.4 SENTBEFORE/SENTON/SENTSINCE: the Date header's day "disregarding time and timezone",
 * so the day as the sender wrote it (`Tue, 1 Jul 2003 23:52:37 +0200` is 1 July); the backend's parsed
 * date (in UTC) when the text cannot be read.
 */
export function sentDay(dateHeader: string | null, fallback: Date | null): Day | null {
  const m = dateHeader ? /(?:^|[\s,])(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})\b/.exec(dateHeader) : null;
  const month = m ? MONTHS.indexOf((m[2] as string).toUpperCase()) : -1;
  if (m && month >= 0) {
    let year = Number(m[3]);
    // RFC 5322 4.3 obsolete two- and three-digit years.
    if ((m[3] as string).length === 2) year += year < 50 ? 2000 : 1900;
    else if ((m[3] as string).length === 3) year += 1900;
    return year * 10000 + (month + 1) * 100 + Number(m[1]);
  }
  if (!fallback) return null;
  return fallback.getUTCFullYear() * 10000 + (fallback.getUTCMonth() + 1) * 100 + fallback.getUTCDate();
}

function compareDay(day: Day | null, op: 'before' | 'on' | 'since', wanted: Day): boolean {
  if (day === null) return false;
  return op === 'before' ? day < wanted : op === 'on' ? day === wanted : day >= wanted;
}

/** Case-insensitive comparison of decoded text (RFC 3501 6.4.4; Unicode case folding as far as JS goes). */
export function foldText(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** The Date field of an ENVELOPE (RFC 3501 7.4.2: its first item). */
function envelopeDate(view: MessageView): string | null {
  const envelope = view.envelope();
  const date = Array.isArray(envelope) ? envelope[0] : null;
  return typeof date === 'string' ? date : null;
}

/** Keys in the order to try them: cheap ones first, so the costly ones run on fewer messages. */
function byCost(keys: readonly SearchKey[]): SearchKey[] {
  return [...keys].sort((a, b) => costOf(a) - costOf(b));
}

/** The key against a message read from the backend. */
export async function fullMatch(key: SearchKey, message: MessageState, view: MessageView, sets: ResolvedSets): Promise<boolean> {
  switch (key.kind) {
    case 'larger':
      return view.size > key.size;
    case 'smaller':
      return view.size < key.size;
    case 'date':
      if (key.field === 'internal') return compareDay(localDay(view.internalDate), key.op, key.day);
      return compareDay(sentDay(envelopeDate(view), view.sentDate()), key.op, key.day);
    case 'header': {
      const values = await view.headerValues(key.field);
      // RFC 3501 6.4.4 HEADER: an empty string matches every message that has the field.
      if (key.text === '') return values.length > 0;
      const wanted = foldText(key.text);
      return values.some((value) => foldText(value).includes(wanted));
    }
    case 'text':
      return foldText(await view.searchText(key.scope)).includes(foldText(key.text));
    case 'not':
      return !(await fullMatch(key.key, message, view, sets));
    case 'or':
      for (const k of byCost([key.left, key.right])) if (await fullMatch(k, message, view, sets)) return true;
      return false;
    case 'and':
      for (const k of byCost(key.keys)) if (!(await fullMatch(k, message, view, sets))) return false;
      return true;
    default:
      return quickMatch(key, message, sets) === true;
  }
}
