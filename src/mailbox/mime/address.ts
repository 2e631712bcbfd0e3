// RFC 5322 3.4 address lists read into RFC 3501's address structures. Written here rather than taken
// from nodemailer's addressparser because ENVELOPE must keep what the header says: addressparser joins
// a bare word to the next address (`bob, c@d` becomes one mailbox) and drops source routes.
import { decodeWords } from './content-fields.js';
import type { Address, MailboxAddress } from './types.js';

/** Host of a mailbox written without `@domain`; RFC 3501 7.4.2 reserves a NIL host for group markers. */
export const MISSING_DOMAIN = 'MISSING_DOMAIN';
/** Mailbox of an address written without a local part (`@host`), or of an empty list item: Dovecot's. */
export const MISSING_MAILBOX = 'MISSING_MAILBOX';

type Token =
  | { kind: 'word'; text: string; quoted: boolean }
  | { kind: 'comment'; text: string }
  | { kind: 'special'; text: string };

const SPECIALS = '<>@,;:.[]';

/** Splits a field into atoms, quoted strings (unquoted), comments, domain literals and specials. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const c = text[at] ?? '';
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') at += 1;
    else if (c === '"') at = delimited(text, at, '"', (s) => tokens.push({ kind: 'word', text: s, quoted: true }));
    else if (c === '(') at = comment(text, at, (s) => tokens.push({ kind: 'comment', text: s }));
    else if (c === '[') at = delimited(text, at, ']', (s) => tokens.push({ kind: 'word', text: `[${s}]`, quoted: false }));
    else if (SPECIALS.includes(c)) {
      tokens.push({ kind: 'special', text: c });
      at += 1;
    } else {
      const match = /^[^\s"()<>@,;:.[\]]+/.exec(text.slice(at));
      const atom = match ? match[0] : c;
      tokens.push({ kind: 'word', text: atom, quoted: false });
      at += atom.length;
    }
  }
  return tokens;
}

/** A quoted string or domain literal from `open`; quoted-pairs undone; unclosed runs to the end. */
function delimited(text: string, open: number, close: string, take: (s: string) => void): number {
  let out = '';
  let at = open + 1;
  for (; at < text.length && text[at] !== close; at += 1) {
    if (text[at] === '\\' && at + 1 < text.length) at += 1;
    out += text[at];
  }
  take(out);
  return at + 1;
}

function comment(text: string, open: number, take: (s: string) => void): number {
  let depth = 0;
  let out = '';
  let at = open;
  for (; at < text.length; at += 1) {
    const c = text[at];
    if (c === '\\' && at + 1 < text.length) {
      at += 1;
      out += text[at];
      continue;
    }
    if (c === '(') depth += 1;
    else if (c === ')') depth -= 1;
    if (depth === 0) break;
    if (!(c === '(' && depth === 1)) out += c;
  }
  take(out.trim());
  return at + 1;
}

/** Words of a phrase joined by one space (RFC 5322 3.2.5); dots in obs-phrase kept. */
function phrase(tokens: Token[]): string | null {
  const words = tokens.filter((t) => t.kind !== 'comment').map((t) => t.text);
  return words.length > 0 ? words.join(' ').replace(/ \. /g, '.') : null;
}

function lastComment(tokens: Token[]): string | null {
  const comments = tokens.filter((t) => t.kind === 'comment' && t.text !== '');
  return comments.at(-1)?.text ?? null;
}

/** `local-part "@" domain` from tokens (comments ignored); no `@` gives MISSING_DOMAIN. */
function addrSpec(tokens: Token[]): { mailbox: string; host: string } {
  const parts = tokens.filter((t) => t.kind !== 'comment');
  const at = parts.findLastIndex((t) => t.kind === 'special' && t.text === '@');
  const join = (list: Token[]) => list.map((t) => t.text).join('');
  if (at < 0) return { mailbox: join(parts) || MISSING_MAILBOX, host: MISSING_DOMAIN };
  return { mailbox: join(parts.slice(0, at)) || MISSING_MAILBOX, host: join(parts.slice(at + 1)) || MISSING_DOMAIN };
}

/**
 * One mailbox (RFC 5322 3.4 name-addr or addr-spec) from its tokens. An item with nothing but comments
 * (or nothing) between two commas is kept as Dovecot keeps it: a MISSING_MAILBOX@MISSING_DOMAIN entry,
 * so a client sees that the list had an item it could not read.
 */
function mailbox(tokens: Token[]): MailboxAddress {
  if (tokens.every((t) => t.kind === 'comment')) {
    return { kind: 'mailbox', name: null, decodedName: null, route: null, mailbox: MISSING_MAILBOX, host: MISSING_DOMAIN };
  }
  const open = tokens.findIndex((t) => t.kind === 'special' && t.text === '<');
  let name: string | null;
  let route: string | null = null;
  let spec: Token[];
  if (open >= 0) {
    const close = tokens.findIndex((t, i) => i > open && t.kind === 'special' && t.text === '>');
    const inside = tokens.slice(open + 1, close < 0 ? tokens.length : close);
    const colon = inside.findIndex((t) => t.kind === 'special' && t.text === ':');
    if (colon >= 0) {
      route = inside.slice(0, colon).map((t) => t.text).join('') || null; // RFC 5322 4.4 obs-route
      spec = inside.slice(colon + 1);
    } else spec = inside;
    // An empty display name (`"" <a@b>`) is no name: NIL, as Dovecot writes it.
    name = phrase(tokens.slice(0, open)) || lastComment(tokens.slice(open + 1));
  } else {
    spec = tokens;
    // `user@host (Name)`: a comment from the addr-spec on names the mailbox; one before it does not
    // (`(Carol) carol@z.org` has no name), as Dovecot reads it.
    name = lastComment(tokens.slice(tokens.findIndex((t) => t.kind !== 'comment')));
  }
  const { mailbox: local, host } = addrSpec(spec);
  return { kind: 'mailbox', name, decodedName: name === null ? null : decodeWords(name), route, mailbox: local, host };
}

/** Tokens up to the next top-level token in `stops` (angle brackets shield their content). */
function until(tokens: Token[], from: number, stops: string): number {
  let inAngle = false;
  for (let i = from; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (t?.kind !== 'special') continue;
    if (t.text === '<') inAngle = true;
    else if (t.text === '>') inAngle = false;
    else if (!inAngle && stops.includes(t.text)) return i;
  }
  return tokens.length;
}

/**
 * RFC 5322 3.4 address-list (lenient: an unclosed group runs to the end). A field with no address at
 * all gives an empty list (NIL); an empty item inside a list gives a MISSING entry (see mailbox()).
 */
export function parseAddressList(text: string): Address[] {
  const tokens = tokenize(text);
  const list: Address[] = [];
  if (tokens.every((t) => t.kind === 'comment')) return list;
  let at = 0;
  while (at < tokens.length) {
    const end = until(tokens, at, ',:;');
    const stop = tokens[end]?.text;
    if (stop === ':') {
      const groupEnd = until(tokens, end + 1, ';');
      const name = phrase(tokens.slice(at, end)) ?? '';
      const members = splitMailboxes(tokens.slice(end + 1, groupEnd));
      list.push({ kind: 'group', name, decodedName: decodeWords(name), members });
      // The comma that separates the group from the next item is no empty item.
      at = groupEnd + 1;
      if (tokens[at]?.kind === 'special' && tokens[at]?.text === ',') at += 1;
      continue;
    }
    list.push(mailbox(tokens.slice(at, end)));
    at = end + 1;
  }
  return list;
}

function splitMailboxes(tokens: Token[]): MailboxAddress[] {
  const members: MailboxAddress[] = [];
  let at = 0;
  while (at < tokens.length) {
    const end = until(tokens, at, ',:');
    const item = tokens.slice(at, end);
    if (!item.every((t) => t.kind === 'comment')) members.push(mailbox(item));
    at = end + 1;
  }
  return members;
}
