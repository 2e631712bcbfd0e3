// LIST and LSUB patterns (RFC 3501 6.3.8): the reference and the mailbox argument joined into one
// canonical pattern, then matched against full names. `*` matches anything, `%` anything but the
// hierarchy delimiter. INBOX is case-insensitive (RFC 3501 5.1), so the first five characters of a
// name whose first level is INBOX are compared without case: `inbox`, `In%` and `INBOX/*` all reach it.
import { DELIMITER } from './names.js';

/**
 * RFC 3501 6.3.8: the reference names a context the pattern is read in. With this server's single
 * namespace (no prefix), that context is plain concatenation (`archive/` + `%` is `archive/%`), and a
 * pattern that starts with the delimiter is absolute and ignores the reference (RFC 9051 6.3.9 table).
 * A reference without its trailing delimiter is joined as the client wrote it, as Dovecot does.
 */
export function canonicalPattern(reference: string, pattern: string): string {
  if (reference === '' || pattern.startsWith(DELIMITER)) return pattern;
  return reference + pattern;
}

function inboxLength(name: string): number {
  return name === 'INBOX' || name.startsWith(`INBOX${DELIMITER}`) ? 5 : 0;
}

export class ListPattern {
  constructor(readonly pattern: string) {}

  /** Whether the full name `name` matches (every character consumed on both sides). */
  matches(name: string): boolean {
    return wildcardMatch(this.pattern, name, inboxLength(name));
  }

  /** `%` or `*` in the pattern. */
  get hasWildcards(): boolean {
    return /[*%]/.test(this.pattern);
  }
}

/**
 * Glob matching by dynamic programming over (pattern position, name position), so a pattern full of
 * `*` stays linear in each (no backtracking blow-up on a hostile pattern). `foldUpTo`: name positions
 * below it compare case-insensitively (the INBOX level).
 */
export function wildcardMatch(pattern: string, name: string, foldUpTo = 0): boolean {
  // reach[j]: the first i pattern characters can consume the first j name characters.
  let reach = new Array<boolean>(name.length + 1).fill(false);
  reach[0] = true;
  for (let i = 0; i < pattern.length; i += 1) {
    const p = pattern[i] as string;
    const next = new Array<boolean>(name.length + 1).fill(false);
    if (p === '*' || p === '%') {
      let open = false;
      for (let j = 0; j <= name.length; j += 1) {
        if (reach[j]) open = true;
        next[j] = open;
        // `%` cannot run past a delimiter; `*` can.
        if (p === '%' && name[j] === DELIMITER) open = false;
      }
    } else {
      for (let j = 1; j <= name.length; j += 1) {
        if (!reach[j - 1]) continue;
        const c = name[j - 1] as string;
        next[j] = c === p || (j - 1 < foldUpTo && c.toUpperCase() === p.toUpperCase());
      }
    }
    reach = next;
  }
  return reach[name.length] === true;
}
