// The whole SEARCH command line: RFC 4731 RETURN options, RFC 3501 CHARSET, then the criteria.
//
//   search             = "SEARCH" [search-return-opts] SP search-criteria          ; RFC 4466 2.6
//   search-criteria    = [ "CHARSET" SP astring SP ] search-key *(SP search-key)
//   search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
//   search-return-opt  = "MIN" / "MAX" / "ALL" / "COUNT"                           ; RFC 4731 3.1
import { astringText } from '../wire/arguments.js';
import type { ImapValue } from '../wire/values.js';
import { parseSearchKeys, type SearchKey } from './keys.js';

export type ReturnOption = 'MIN' | 'MAX' | 'ALL' | 'COUNT';

export interface SearchRequest {
  /** null for a plain SEARCH (`* SEARCH` answer); the options for ESEARCH (RFC 4731). */
  readonly returns: ReadonlySet<ReturnOption> | null;
  readonly key: SearchKey;
}

/** `bad`: answer BAD with the text; `charset`: NO [BADCHARSET] (RFC 3501 6.4.4). */
export type SearchParse = SearchRequest | { readonly error: 'bad' | 'charset'; readonly text: string };

/** What this server searches in: text is decoded to Unicode, so these two say the same (RFC 3501 6.4.4). */
export const CHARSETS = ['UTF-8', 'US-ASCII'];

const RETURN_OPTIONS = new Set<string>(['MIN', 'MAX', 'ALL', 'COUNT']);

function readReturn(value: ImapValue | undefined): Set<ReturnOption> | string {
  if (value?.kind !== 'list') return 'RETURN needs a list of options';
  const options = new Set<ReturnOption>();
  for (const item of value.items) {
    const name = item.kind === 'atom' && !item.section ? item.text.toUpperCase() : '';
    if (!RETURN_OPTIONS.has(name)) return 'Unknown SEARCH return option';
    options.add(name as ReturnOption);
  }
  // RFC 4731 3.1: "RETURN ()" is "RETURN (ALL)".
  if (options.size === 0) options.add('ALL');
  return options;
}

function isWord(value: ImapValue | undefined, word: string): boolean {
  return value?.kind === 'atom' && !value.section && value.text.toUpperCase() === word;
}

export function parseSearch(args: readonly ImapValue[]): SearchParse {
  let rest = args;
  let returns: Set<ReturnOption> | null = null;
  if (isWord(rest[0], 'RETURN')) {
    const options = readReturn(rest[1]);
    if (typeof options === 'string') return { error: 'bad', text: options };
    returns = options;
    rest = rest.slice(2);
  }
  if (isWord(rest[0], 'CHARSET')) {
    const charset = astringText(rest[1]);
    if (charset === null) return { error: 'bad', text: 'CHARSET needs a name' };
    if (!CHARSETS.includes(charset.toUpperCase())) return { error: 'charset', text: `Unknown charset ${charset.slice(0, 40)}` };
    rest = rest.slice(2);
  }
  const keys = parseSearchKeys(rest);
  if ('error' in keys) return { error: 'bad', text: keys.error };
  return { returns, key: keys.key };
}
