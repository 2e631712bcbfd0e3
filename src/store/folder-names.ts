// Folder names as the store keeps them: levels joined with `/` (the hierarchy separator every client
// is told), UTF-8 text, INBOX always spelled `INBOX` (RFC 3501 5.1: the name is case-insensitive).
import { LetterboxError } from '../core/errors.js';

export const HIERARCHY_SEPARATOR = '/';
export const INBOX = 'INBOX';
const MAX_LEVEL_BYTES = 255;
const MAX_LEVELS = 20;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The folders every user has (RFC 6154 attributes), all subscribed. */
export const DEFAULT_FOLDERS: readonly { name: string; specialUse: string | null }[] = [
  { name: INBOX, specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

/** RFC 6154 2 (and \All, \Flagged, which a client may ask for with CREATE USE, RFC 6154 3). */
export const SPECIAL_USES = new Set(['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash']);

/** The name as stored: its first level `INBOX` when it is INBOX in any case. */
export function canonicalName(name: string): string {
  const cut = name.indexOf(HIERARCHY_SEPARATOR);
  const first = cut < 0 ? name : name.slice(0, cut);
  return first.toUpperCase() === INBOX ? INBOX + name.slice(first.length) : name;
}

/** Refuses (INVALID) a name the store does not keep; returns it canonical. */
export function validFolderName(name: string): string {
  const refuse = (why: string) => new LetterboxError('INVALID', `invalid folder name ${JSON.stringify(name)}: ${why}`);
  if (typeof name !== 'string' || name.length === 0) throw refuse('it is empty');
  if (/[\0\r\n]/.test(name)) throw refuse('it holds NUL, CR or LF');
  if (name.startsWith(HIERARCHY_SEPARATOR) || name.endsWith(HIERARCHY_SEPARATOR)) throw refuse(`it starts or ends with ${HIERARCHY_SEPARATOR}`);
  const levels = name.split(HIERARCHY_SEPARATOR);
  if (levels.some((level) => level.length === 0)) throw refuse('it has an empty level');
  if (levels.length > MAX_LEVELS) throw refuse(`more than ${MAX_LEVELS} levels`);
  if (levels.some((level) => Buffer.byteLength(level) > MAX_LEVEL_BYTES)) throw refuse(`a level longer than ${MAX_LEVEL_BYTES} bytes`);
  if (LONE_SURROGATE.test(name)) throw refuse('it is not valid Unicode');
  return canonicalName(name);
}

/** The names above `name`, outermost first (`a`, `a/b` for `a/b/c`). */
export function superiorNames(name: string): string[] {
  const levels = name.split(HIERARCHY_SEPARATOR);
  return levels.slice(1).map((_, i) => levels.slice(0, i + 1).join(HIERARCHY_SEPARATOR));
}

/** Is `name` below `parent` in the hierarchy? */
export function isInferior(name: string, parent: string): boolean {
  return name.startsWith(parent + HIERARCHY_SEPARATOR);
}
