// The arguments of LIST (RFC 3501 6.3.8, RFC 5258 3 LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819
// LIST-STATUS), read into one request:
//   list            = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
//   list-select-opts = "(" [list-select-option *(SP list-select-option)] ")"
//   list-select-option = "SUBSCRIBED" / "REMOTE" / "RECURSIVEMATCH" / "SPECIAL-USE"
//   mbox-or-pat     = list-mailbox / patterns
//   patterns        = "(" list-mailbox *(SP list-mailbox) ")"
//   list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
//   return-option   = "SUBSCRIBED" / "CHILDREN" / "SPECIAL-USE" / "STATUS" SP "(" status-att ... ")"
import type { Session } from '../command.js';
import { astringBytes, keyword, listArg } from '../wire/arguments.js';
import type { ImapValue } from '../wire/values.js';
import { DELIMITER, wireToName } from './names.js';
import { canonicalPattern, ListPattern } from './list-pattern.js';
import { readStatusItems, type StatusItem } from './status-items.js';

export interface ListRequest {
  /** Any RFC 5258 syntax was used: non-existent names are then \NonExistent, not \Noselect. */
  readonly extended: boolean;
  readonly selectSubscribed: boolean;
  readonly selectSpecialUse: boolean;
  readonly recursiveMatch: boolean;
  readonly returnSubscribed: boolean;
  /** RETURN (CHILDREN); the basic syntax always gives children too (as Dovecot does). */
  readonly returnChildren: boolean;
  /** RETURN (SPECIAL-USE) or the SPECIAL-USE selection; the basic syntax always gives them (as Dovecot does). */
  readonly returnSpecialUse: boolean;
  readonly returnStatus: readonly StatusItem[] | null;
  /** Canonical patterns (reference joined); empty patterns left out. */
  readonly patterns: readonly ListPattern[];
  /**
   * RFC 3501 6.3.8: only an empty pattern was given; the answer is the delimiter and the root of the
   * reference: the reference up to its first delimiter (`Archive/` for `Archive/2024`), else "".
   */
  readonly delimiterRoot: string | null;
}

interface ReturnOptions {
  subscribed: boolean;
  children: boolean;
  specialUse: boolean;
  status: StatusItem[] | null;
}

/** RFC 3501 9 list-mailbox: list-chars (`*` and `%` included, whatever the parser read them as) or a string. */
function listMailboxBytes(value: ImapValue | undefined): Buffer | null {
  if (value?.kind === 'sequence' || value?.kind === 'number') return Buffer.from(value.text, 'latin1');
  return astringBytes(value);
}

function readSelectOptions(items: readonly ImapValue[]): Set<string> | string {
  const options = new Set<string>();
  for (const item of items) {
    const option = keyword(item);
    if (option === null || !['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'].includes(option)) return 'LIST: unknown selection option';
    options.add(option);
  }
  // RFC 5258 3.1: RECURSIVEMATCH alone (or with REMOTE only) is an error.
  if (options.has('RECURSIVEMATCH') && !options.has('SUBSCRIBED') && !options.has('SPECIAL-USE')) return 'LIST: RECURSIVEMATCH needs another selection option';
  return options;
}

function readReturnOptions(items: readonly ImapValue[]): ReturnOptions | string {
  const options: ReturnOptions = { subscribed: false, children: false, specialUse: false, status: null };
  for (let i = 0; i < items.length; i += 1) {
    const option = keyword(items[i]);
    if (option === 'SUBSCRIBED') options.subscribed = true;
    else if (option === 'CHILDREN') options.children = true;
    else if (option === 'SPECIAL-USE') options.specialUse = true;
    else if (option === 'STATUS') {
      const list = listArg(items[i + 1]);
      options.status = list === null ? null : readStatusItems(list);
      if (options.status === null) return 'LIST: RETURN STATUS takes a list of status items';
      i += 1;
    } else return 'LIST: unknown return option';
  }
  return options;
}

function readPatterns(value: ImapValue | undefined, reference: string, session: Session): { patterns: string[]; listed: boolean } | string {
  const listed = value?.kind === 'list';
  const values = listed ? value.items : [value];
  if (values.length === 0) return 'LIST: empty pattern list';
  const patterns: string[] = [];
  for (const item of values) {
    const bytes = listMailboxBytes(item);
    if (bytes === null) return 'LIST: mailbox pattern expected';
    const reading = wireToName(bytes, session);
    if ('error' in reading) {
      if (reading.error === 'bad') return `LIST: ${reading.text}`;
      continue; // a pattern no name can match (bad modified UTF-7)
    }
    patterns.push(reading.name === '' ? '' : canonicalPattern(reference, reading.name));
  }
  return { patterns, listed };
}

/** The request, or a text for BAD. */
export function readListRequest(args: readonly ImapValue[], session: Session): ListRequest | string {
  let i = 0;
  let select = new Set<string>();
  if (args[0]?.kind === 'list') {
    const options = readSelectOptions(args[0].items);
    if (typeof options === 'string') return options;
    select = options;
    i = 1;
  }
  const referenceBytes = astringBytes(args[i]);
  if (referenceBytes === null) return 'LIST: reference name expected';
  const reference = wireToName(referenceBytes, session);
  if ('error' in reference) return `LIST: ${reference.text}`;
  const read = readPatterns(args[i + 1], reference.name, session);
  if (typeof read === 'string') return read;
  let returns: ReturnOptions = { subscribed: false, children: false, specialUse: false, status: null };
  if (args.length > i + 2) {
    if (keyword(args[i + 2]) !== 'RETURN' || args.length !== i + 4) return 'LIST: RETURN (options) expected';
    const items = listArg(args[i + 3]);
    if (items === null) return 'LIST: RETURN takes a list';
    const options = readReturnOptions(items);
    if (typeof options === 'string') return options;
    returns = options;
  }
  const nonEmpty = read.patterns.filter((p) => p !== '');
  const extended = i === 1 || read.listed || args.length > i + 2;
  const cut = reference.name.indexOf(DELIMITER);
  return {
    extended,
    selectSubscribed: select.has('SUBSCRIBED'),
    selectSpecialUse: select.has('SPECIAL-USE'),
    recursiveMatch: select.has('RECURSIVEMATCH'),
    returnSubscribed: returns.subscribed,
    returnChildren: !extended || returns.children,
    returnSpecialUse: !extended || returns.specialUse || select.has('SPECIAL-USE'),
    returnStatus: returns.status,
    patterns: nonEmpty.map((p) => new ListPattern(p)),
    delimiterRoot: nonEmpty.length === 0 && read.patterns.length > 0 && !read.listed ? reference.name.slice(0, cut + 1) : null,
  };
}
