// Mailbox names between the wire and the backend. The backend speaks UTF-8 names with `/` between
// levels; the wire carries modified UTF-7 (RFC 3501 5.1.3), or UTF-8 once the client has sent ENABLE
// UTF8=ACCEPT (RFC 6855 3). INBOX is case-insensitive (RFC 3501 5.1), so its first level is always
// handed to the backend spelled `INBOX`.
import type { Session } from '../command.js';
import { astringBytes, utf8Text } from '../wire/arguments.js';
import { astr, type ResponseValue } from '../wire/encoder.js';
import { decodeMailboxName, encodeMailboxName } from '../wire/mailbox-name.js';
import type { ImapValue } from '../wire/values.js';

/** The hierarchy delimiter (RFC 3501 5.1.1); one namespace, personal, with no prefix. */
export const DELIMITER = '/';

/** Longest name the server takes, in UTF-16 code units (Dovecot allows about as much). */
export const MAX_NAME_LENGTH = 512;

/** A name read from the wire, or why it could not be: `bad` is a syntax error, `invalid` a name that cannot be. */
export type NameReading = { readonly name: string } | { readonly error: 'bad' | 'invalid'; readonly text: string };

/** INBOX as its first level spelled `INBOX`, whatever the case the client used (RFC 3501 5.1). */
export function normalizeInbox(name: string): string {
  const first = name.split(DELIMITER, 1)[0] ?? '';
  return first.toUpperCase() === 'INBOX' && first !== 'INBOX' ? `INBOX${name.slice(first.length)}` : name;
}

function hasEightBit(bytes: Buffer): boolean {
  for (const b of bytes) if (b >= 0x80) return true;
  return false;
}

/**
 * Wire bytes as a UTF-8 name. After ENABLE UTF8=ACCEPT the bytes are UTF-8 (RFC 6855 3). Before it,
 * 7-bit names are modified UTF-7; 8-bit names are taken as UTF-8 when they are valid UTF-8, since
 * some clients send them so without asking (being liberal costs nothing: `&` keeps its meaning).
 */
export function wireToName(bytes: Buffer, session: Session): NameReading {
  if (session.enabled.has('UTF8=ACCEPT') || hasEightBit(bytes)) {
    const text = utf8Text(bytes);
    return text === null ? { error: 'bad', text: 'Mailbox name is not valid UTF-8' } : { name: text };
  }
  const decoded = decodeMailboxName(bytes.toString('latin1'));
  return decoded === null ? { error: 'invalid', text: 'Mailbox name is not valid modified UTF-7' } : { name: decoded };
}

/** A `mailbox` argument (RFC 3501 9: astring, INBOX case-insensitive). */
export function readMailbox(value: ImapValue | undefined, session: Session): NameReading {
  const bytes = astringBytes(value);
  if (bytes === null) return { error: 'bad', text: 'Mailbox name expected' };
  const reading = wireToName(bytes, session);
  return 'name' in reading ? { name: normalizeInbox(reading.name) } : reading;
}

/** A name as the client is to read it: modified UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT (RFC 6855 3). */
export function nameToWire(name: string, session: Session): string {
  return session.enabled.has('UTF8=ACCEPT') ? name : encodeMailboxName(name);
}

export function mailboxValue(name: string, session: Session): ResponseValue {
  return astr(nameToWire(name, session));
}

function hasControlCharacter(name: string): boolean {
  for (let i = 0; i < name.length; i += 1) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/**
 * Why `name` cannot be given to a new folder (CREATE, RENAME's target), or null when it can: no empty
 * level, no control characters (RFC 6855 3 forbids them in UTF-8 names; RFC 5198 2 line and paragraph
 * separators too), and no LIST wildcards, which no pattern could then match exactly (RFC 3501 6.3.8).
 */
export function newNameProblem(name: string): string | null {
  if (name.length === 0) return 'Mailbox name is empty';
  if (name.length > MAX_NAME_LENGTH) return 'Mailbox name is too long';
  if (name.split(DELIMITER).some((level) => level.length === 0)) return 'Mailbox name has an empty level';
  if (hasControlCharacter(name)) return 'Mailbox name holds a control character';
  if (/[*%]/.test(name)) return 'Mailbox name holds a LIST wildcard (* or %)';
  return null;
}

/** True when `name` is `ancestor` or lies under it. */
export function isSameOrUnder(name: string, ancestor: string): boolean {
  return name === ancestor || name.startsWith(ancestor + DELIMITER);
}
