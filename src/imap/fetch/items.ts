// The data items and modifiers of FETCH, read into a typed request (RFC 3501 6.4.5, 9; RFC 3516 4;
// RFC 7162 3.1.4, 3.2.6). Pure: the command file resolves messages and the renderer writes responses.
//
//   fetch           = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
//                     fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
//   fetch-att       = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
//                     "BODY" ["STRUCTURE"] / "UID" / "BODY" section ["<" number "." nz-number ">"] /
//                     "BODY.PEEK" section ["<" number "." nz-number ">"] /
//                     "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary /
//                     "MODSEQ"
//   fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
//   fetch-modifier  = "CHANGEDSINCE" SP mod-sequence-valzer / "VANISHED"
import type { FetchNeeds, SectionSpec } from '../backend.js';
import type { ResponseValue } from '../wire/encoder.js';
import type { ImapValue } from '../wire/values.js';
import { parseBinarySection, parseBodySection } from './section.js';

export type SimpleItemName = 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE' | 'UID' | 'MODSEQ';

export interface Partial {
  readonly offset: number;
  readonly length: number;
}

export type FetchItem =
  | { readonly kind: 'simple'; readonly name: SimpleItemName }
  /** RFC822, RFC822.HEADER, RFC822.TEXT: sections under their RFC 1730 names (RFC 3501 6.4.5). */
  | { readonly kind: 'rfc822'; readonly name: 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT'; readonly spec: SectionSpec; readonly peek: boolean }
  | { readonly kind: 'section'; readonly spec: SectionSpec; readonly echo: readonly ResponseValue[]; readonly peek: boolean; readonly partial?: Partial }
  | { readonly kind: 'binary'; readonly path: number[]; readonly echo: readonly ResponseValue[]; readonly peek: boolean; readonly partial?: Partial }
  | { readonly kind: 'binarySize'; readonly path: number[]; readonly echo: readonly ResponseValue[] };

export interface FetchRequest {
  readonly items: readonly FetchItem[];
  /** RFC 7162 3.1.4: only messages whose MODSEQ is above it. */
  readonly changedSince?: number;
  /** RFC 7162 3.2.6: report expunged UIDs of the set with VANISHED (EARLIER). */
  readonly vanished: boolean;
  /** Some item sets \Seen when fetched (RFC 3501 6.4.5: BODY[...] without .PEEK, RFC822, RFC822.TEXT, BINARY[...]). */
  readonly setsSeen: boolean;
  readonly needs: FetchNeeds;
}

export type FetchParse = FetchRequest | { readonly error: string };

/** RFC 3501 6.4.5 macros. */
const MACROS: Record<string, readonly SimpleItemName[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const SIMPLE = new Set<string>(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'UID', 'MODSEQ']);

const RFC822: Record<string, { spec: SectionSpec; peek: boolean }> = {
  RFC822: { spec: { path: [] }, peek: false },
  'RFC822.HEADER': { spec: { path: [], text: 'HEADER' }, peek: true },
  'RFC822.TEXT': { spec: { path: [], text: 'TEXT' }, peek: false },
};

/** One fetch-att, or an error text for BAD. */
export function parseFetchAtt(value: ImapValue): FetchItem | string {
  if (value.kind !== 'atom') return 'Invalid fetch attribute';
  const name = value.text.toUpperCase();
  if (!value.section) {
    if (SIMPLE.has(name)) return { kind: 'simple', name: name as SimpleItemName };
    const rfc822 = RFC822[name];
    if (rfc822) return { kind: 'rfc822', name: name as 'RFC822', ...rfc822 };
    return `Unknown fetch attribute: ${name.slice(0, 40)}`;
  }
  const partial = value.partial;
  if (name === 'BODY' || name === 'BODY.PEEK') {
    const section = parseBodySection(value.section);
    if ('error' in section) return section.error;
    return { kind: 'section', spec: section.spec, echo: section.echo, peek: name === 'BODY.PEEK', ...(partial ? { partial } : {}) };
  }
  const section = parseBinarySection(value.section);
  if ('error' in section) return section.error;
  if (name === 'BINARY.SIZE') {
    // RFC 3516 has no partial on BINARY.SIZE; Dovecot ignores one, and so do we.
    return { kind: 'binarySize', path: section.spec.path, echo: section.echo };
  }
  return { kind: 'binary', path: section.spec.path, echo: section.echo, peek: name === 'BINARY.PEEK', ...(partial ? { partial } : {}) };
}

/** The item list of a FETCH: a macro, one fetch-att, or a parenthesised list of them. */
function parseItemList(value: ImapValue | undefined): FetchItem[] | string {
  if (!value) return 'Missing fetch attributes';
  if (value.kind === 'atom' && !value.section) {
    const macro = MACROS[value.text.toUpperCase()];
    if (macro) return macro.map((name) => ({ kind: 'simple', name }));
  }
  const atts = value.kind === 'list' ? value.items : [value];
  if (atts.length === 0) return 'Empty fetch attribute list';
  const items: FetchItem[] = [];
  for (const att of atts) {
    const item = parseFetchAtt(att);
    if (typeof item === 'string') return item;
    items.push(item);
  }
  return items;
}

/** A mod-sequence value (RFC 7162 7: up to 2^63-1; larger than a safe JS number is refused). */
function modseqValue(value: ImapValue | undefined, allowZero: boolean): number | null {
  if (value?.kind !== 'number') return null;
  return value.value > 0 || (allowZero && value.value === 0) ? value.value : null;
}

function parseModifiers(value: ImapValue | undefined): { changedSince?: number; vanished: boolean } | string {
  if (value === undefined) return { vanished: false };
  if (value.kind !== 'list' || value.items.length === 0) return 'Invalid fetch modifiers';
  let changedSince: number | undefined;
  let vanished = false;
  const items = value.items;
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i];
    const name = item?.kind === 'atom' && !item.section ? item.text.toUpperCase() : '';
    if (name === 'CHANGEDSINCE' && changedSince === undefined) {
      // RFC 7162 3.1.4.1: mod-sequence-valzer, so 0 is allowed (every message).
      const modseq = modseqValue(items[i + 1], true);
      if (modseq === null) return 'Invalid CHANGEDSINCE value';
      changedSince = modseq;
      i += 1;
    } else if (name === 'VANISHED' && !vanished) {
      vanished = true;
    } else {
      return 'Unknown fetch modifier';
    }
  }
  return changedSince === undefined ? { vanished } : { changedSince, vanished };
}

/**
 * What the backend must load: the index for structures and sections, the bytes for sections; when
 * ENVELOPE is all the index is wanted for (a client's sync), `envelopeOnly` lets the backend answer
 * from its envelope cache.
 */
function needsOf(items: readonly FetchItem[]): FetchNeeds {
  let envelope = false;
  let structure = false;
  let content = false;
  for (const item of items) {
    if (item.kind !== 'simple') content = true;
    else if (item.name === 'ENVELOPE') envelope = true;
    else if (item.name === 'BODY' || item.name === 'BODYSTRUCTURE') structure = true;
  }
  const index = envelope || structure || content;
  return envelope && !structure && !content ? { index, content, envelopeOnly: true } : { index, content };
}

function setsSeen(item: FetchItem): boolean {
  return (item.kind === 'section' || item.kind === 'binary' || item.kind === 'rfc822') && !item.peek;
}

/** The arguments after the sequence set. */
export function parseFetch(args: readonly ImapValue[]): FetchParse {
  if (args.length > 2) return { error: 'Too many arguments' };
  const items = parseItemList(args[0]);
  if (typeof items === 'string') return { error: items };
  const modifiers = parseModifiers(args[1]);
  if (typeof modifiers === 'string') return { error: modifiers };
  if (modifiers.vanished && modifiers.changedSince === undefined) {
    return { error: 'VANISHED needs CHANGEDSINCE' }; // RFC 7162 3.2.6
  }
  return { items, ...modifiers, setsSeen: items.some(setsSeen), needs: needsOf(items) };
}
