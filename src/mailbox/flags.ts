// Flags as IMAP names them (RFC 3501 2.3.2): the five system flags that may be stored, spelled the
// RFC's way whatever case the client used, and keywords, which are atoms compared without regard to
// case and kept as first spelled in the folder (as Dovecot does), so `$junk` and `$Junk` are one.
import { backendError } from './errors.js';

const SYSTEM_FLAGS = new Map(['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'].map((flag) => [flag.toLowerCase(), flag]));

/** RFC 3501 9 atom-char: any CHAR except atom-specials ( ) { SP CTL % * " \ ] . */
// eslint-disable-next-line no-control-regex
const NOT_ATOM = /[\u0000-\u0020\u007f-\uffff(){%*"\\\]]/;

/** The spelling of each keyword in one folder: the first one seen. */
export class KeywordSpelling {
  private readonly spelled = new Map<string, string>();

  /** Records the spellings in a flag list as read from the store (first one wins). */
  learn(flags: readonly string[]): void {
    for (const flag of flags) {
      if (flag.startsWith('\\')) continue;
      const key = flag.toLowerCase();
      if (!this.spelled.has(key)) this.spelled.set(key, flag);
    }
  }

  spell(keyword: string): string {
    return this.spelled.get(keyword.toLowerCase()) ?? keyword;
  }

  /** Keywords in use in the folder, for FLAGS and PERMANENTFLAGS (RFC 3501 7.2.6). */
  list(): string[] {
    return [...this.spelled.values()];
  }
}

/**
 * Flags a client asked to store or append, checked and spelled: `\Recent` and unknown system flags are
 * refused (RFC 3501 2.3.2: \Recent is the server's), keywords must be atoms. Duplicates drop out.
 */
export function clientFlags(flags: readonly string[], keywords?: KeywordSpelling): string[] {
  const out = new Map<string, string>();
  for (const flag of flags) {
    if (flag.startsWith('\\')) {
      const system = SYSTEM_FLAGS.get(flag.toLowerCase());
      if (!system) throw backendError('CANNOT', flag.toLowerCase() === '\\recent' ? '\\Recent cannot be set by a client' : `Unknown system flag ${flag.slice(0, 40)}`);
      out.set(system.toLowerCase(), system);
    } else {
      if (flag.length === 0 || flag.length > 200 || NOT_ATOM.test(flag)) throw backendError('CANNOT', 'A keyword must be an atom');
      if (!out.has(flag.toLowerCase())) out.set(flag.toLowerCase(), keywords ? keywords.spell(flag) : flag);
    }
  }
  return [...out.values()];
}

/** The flag list an entry gets from STORE FLAGS / +FLAGS / -FLAGS (RFC 3501 6.4.6), compared case-insensitively. */
export function applyFlags(current: readonly string[], mode: 'set' | 'add' | 'remove', flags: readonly string[]): string[] {
  if (mode === 'set') return [...flags];
  const given = new Set(flags.map((flag) => flag.toLowerCase()));
  if (mode === 'remove') return current.filter((flag) => !given.has(flag.toLowerCase()));
  const have = new Set(current.map((flag) => flag.toLowerCase()));
  return [...current, ...flags.filter((flag) => !have.has(flag.toLowerCase()))];
}

/** Same flags, whatever the order and case. */
export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const left = new Set(a.map((flag) => flag.toLowerCase()));
  return b.every((flag) => left.has(flag.toLowerCase()));
}
