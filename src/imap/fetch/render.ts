// One message's FETCH response items (RFC 3501 7.4.2), in the order the client asked for them, with
// UID first for UID FETCH and FLAGS when fetching set \Seen (RFC 3501 6.4.5, as Dovecot orders them).
import type { MessageView } from '../backend.js';
import { atom, list, literal8, num, str, type ResponseValue } from '../wire/encoder.js';
import type { FetchItem, Partial, SimpleItemName } from './items.js';
import { structureValue } from './structure.js';
import { structureText } from './structure-text.js';

/** What the session knows of the message, as the client should see it. */
export interface FetchMessageState {
  readonly flags: readonly string[];
  readonly modseq: number;
}

export interface RenderOptions {
  /** UID FETCH: UID in every response (RFC 3501 6.4.8). */
  readonly withUid: boolean;
  /** CHANGEDSINCE: MODSEQ in every response (RFC 7162 3.1.4.1). */
  readonly withModseq: boolean;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * RFC 3501 9 date-time, `"01-Jul-2003 10:52:37 +0200"`, in the server's zone as Dovecot writes it (the
 * contract gives an instant, not the zone it arrived with); SEARCH BEFORE/ON/SINCE use the same days.
 */
export function formatInternalDate(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  const day = `${two(date.getDate())}-${MONTHS[date.getMonth()]}-${String(date.getFullYear()).padStart(4, '0')}`;
  const time = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  return `${day} ${time} ${zone}`;
}

/** RFC 3501 6.4.5: `<offset.length>` cuts the content; past the end it is empty. */
function cut(content: Buffer, partial: Partial | undefined): Buffer {
  if (!partial) return content;
  return content.subarray(Math.min(partial.offset, content.length), Math.min(partial.offset + partial.length, content.length));
}

function flagList(flags: readonly string[]): ResponseValue {
  return list(flags.map((flag) => atom(flag)));
}

/** The items answered from what the view holds without reading the message (no promise per item). */
function simpleValues(view: MessageView, name: SimpleItemName, state: FetchMessageState): ResponseValue[] {
  switch (name) {
    case 'FLAGS':
      return [atom('FLAGS'), flagList(state.flags)];
    case 'UID':
      return [atom('UID'), num(view.uid)];
    case 'INTERNALDATE':
      return [atom('INTERNALDATE'), str(formatInternalDate(view.internalDate))];
    case 'RFC822.SIZE':
      return [atom('RFC822.SIZE'), num(view.size)];
    case 'ENVELOPE':
      return [atom('ENVELOPE'), structureValue(view.envelope())];
    case 'BODY':
      return [atom('BODY'), structureValue(view.bodyStructure(false))];
    case 'BODYSTRUCTURE':
      return [atom('BODYSTRUCTURE'), structureValue(view.bodyStructure(true))];
    case 'MODSEQ':
      return [atom('MODSEQ'), list([num(state.modseq)])];
  }
}

/** The items that read message content. */
async function contentValues(view: MessageView, item: Exclude<FetchItem, { kind: 'simple' }>): Promise<ResponseValue[]> {
  switch (item.kind) {
    case 'rfc822':
      return [atom(item.name), str(withoutNul(await view.section(item.spec)))];
    case 'section': {
      const content = cut(await view.section(item.spec), item.partial);
      return [atom('BODY', item.echo, item.partial?.offset), str(withoutNul(content))];
    }
    case 'binary': {
      // RFC 3516 4.2: content holding NUL goes in a literal8; anything else may go as a string.
      const content = cut(await view.binary(item.path), item.partial);
      return [atom('BINARY', item.echo, item.partial?.offset), content.includes(0) ? literal8(content) : str(content)];
    }
    case 'binarySize':
      return [atom('BINARY.SIZE', item.echo), num(await view.binarySize(item.path))];
  }
}

/**
 * RFC 3501 9: a literal is CHAR8, which excludes NUL; only BINARY's literal8 may carry it (RFC 3516 4.3).
 * A stored NUL is sent as 0x80, as Dovecot does: same length, so sizes and partials stay right.
 */
function withoutNul(content: Buffer): Buffer {
  if (!content.includes(0)) return content;
  const copy = Buffer.from(content);
  for (let at = copy.indexOf(0); at !== -1; at = copy.indexOf(0, at + 1)) copy[at] = 0x80;
  return copy;
}

/** A stable key per item, so that `(FLAGS FLAGS)` answers FLAGS once. */
function itemKey(item: FetchItem): string {
  switch (item.kind) {
    case 'simple':
    case 'rfc822':
      return item.name;
    case 'section':
      return `BODY${JSON.stringify(item.spec)}${item.partial ? `${item.partial.offset}.${item.partial.length}` : ''}`;
    case 'binary':
      return `BINARY${item.path.join('.')}${item.partial ? `${item.partial.offset}.${item.partial.length}` : ''}`;
    case 'binarySize':
      return `BINARY.SIZE${item.path.join('.')}`;
  }
}

/**
 * The items to answer, in order, without repeats (`(FLAGS FLAGS)` answers FLAGS once): UID first for UID
 * FETCH, FLAGS first when the fetch has just set \Seen, MODSEQ last under CHANGEDSINCE. Made once per
 * command, not per message.
 */
export function planItems(items: readonly FetchItem[], options: RenderOptions & { seenNow: boolean }): FetchItem[] {
  const has = (name: string) => items.some((item) => item.kind === 'simple' && item.name === name);
  const lead: FetchItem[] = [];
  if (options.withUid && !has('UID')) lead.push({ kind: 'simple', name: 'UID' });
  if (options.seenNow && !has('FLAGS')) lead.push({ kind: 'simple', name: 'FLAGS' });
  const trail: FetchItem[] = options.withModseq && !has('MODSEQ') ? [{ kind: 'simple', name: 'MODSEQ' }] : [];
  const seen = new Set<string>();
  return [...lead, ...items, ...trail].filter((item) => {
    const key = itemKey(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether the planned items read message content (and so renderFetch must be awaited). */
export function readsContent(planned: readonly FetchItem[]): boolean {
  return planned.some((item) => item.kind !== 'simple');
}

/** The list that follows `n FETCH` when no item reads content (the common, large fetches). */
export function renderSimple(view: MessageView, planned: readonly FetchItem[], state: FetchMessageState): ResponseValue {
  const out: ResponseValue[] = [];
  for (const item of planned) if (item.kind === 'simple') out.push(...simpleValues(view, item.name, state));
  return list(out);
}

/** What the fast path needs of the connection: CommandContext's optional encode() and keepEncoded(). */
export interface FetchEncoding {
  encode(values: readonly ResponseValue[]): Buffer;
  keepEncoded(key: string, make: () => Buffer): Buffer;
}

const SP = Buffer.from(' ', 'latin1');
const CLOSE = Buffer.from(')', 'latin1');

/** `ENVELOPE (...)`, the same bytes as encode(simpleValues(view, 'ENVELOPE')). */
function envelopeBytes(view: MessageView, encoding: FetchEncoding): Buffer {
  const other = (value: string | number) => encoding.encode([typeof value === 'string' ? str(value) : num(value)]).toString('latin1');
  return Buffer.from(`ENVELOPE ${structureText(view.envelope(), other)}`, 'latin1');
}

/**
 * `n FETCH (...)` for simple items as encoded parts, the same bytes renderSimple() would give; the
 * ENVELOPE of a message with an id is encoded once and kept (a stored message never changes).
 */
export function encodeSimple(seqNumber: number, view: MessageView, planned: readonly FetchItem[], state: FetchMessageState, encoding: FetchEncoding): Buffer[] {
  const parts: Buffer[] = [Buffer.from(`${seqNumber} FETCH (`, 'latin1')];
  const messageId = view.messageId;
  let first = true;
  for (const item of planned) {
    if (item.kind !== 'simple') continue;
    const values = item.name === 'ENVELOPE' && messageId !== undefined ? null : simpleValues(view, item.name, state);
    if (values?.length === 0) continue;
    if (!first) parts.push(SP);
    first = false;
    parts.push(values ? encoding.encode(values) : encoding.keepEncoded(`ENVELOPE ${messageId}`, () => envelopeBytes(view, encoding)));
  }
  parts.push(CLOSE);
  return parts;
}

/** The list that follows `n FETCH`, for items planned by planItems(). */
export async function renderFetch(view: MessageView, planned: readonly FetchItem[], state: FetchMessageState): Promise<ResponseValue> {
  const out: ResponseValue[] = [];
  for (const item of planned) out.push(...(item.kind === 'simple' ? simpleValues(view, item.name, state) : await contentValues(view, item)));
  return list(out);
}
