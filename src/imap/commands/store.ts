// store           = "STORE" SP sequence-set [store-modifiers] SP store-att-flags   ; RFC 3501 9, RFC 7162 7
// store-modifiers = SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"
// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
// flag            = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension
//
// RFC 3501 6.4.6 STORE, 6.4.8 UID STORE; RFC 7162 3.1.3 UNCHANGEDSINCE and the MODIFIED response code.
import type { CommandContext, CommandSpec } from '../command.js';
import { isAtomText } from '../wire/encoder.js';
import { compactSequenceSet } from '../wire/sequence-set.js';
import type { ImapValue } from '../wire/values.js';
import { enableCondstore, messageSet, requireSelected } from '../fetch/message-set.js';
import { formatSequenceSet } from '../wire/sequence-set.js';

export interface StoreRequest {
  readonly mode: 'set' | 'add' | 'remove';
  readonly silent: boolean;
  readonly flags: readonly string[];
  readonly unchangedSince?: number;
}

/** The flags a client may store, by their upper-case spelling (RFC 3501 2.3.2). */
const SYSTEM_FLAGS = new Map(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'].map((flag) => [flag.toUpperCase(), flag]));

/**
 * A flag as the client wrote it, system flags in their canonical case. `\Recent` is the server's to
 * set (RFC 3501 2.3.2) and other `\` names are not flags this server knows: both are refused with BAD,
 * as Dovecot does ("Invalid system flag").
 */
export function readFlag(value: ImapValue): string | { error: string } {
  const text = value.kind === 'atom' && !value.section ? value.text : value.kind === 'number' || value.kind === 'sequence' ? value.text : null;
  if (text === null || !isAtomText(text) || text === '\\*') return { error: 'Invalid flag' };
  if (!text.startsWith('\\')) return text;
  const system = SYSTEM_FLAGS.get(text.toUpperCase());
  return system ?? { error: `Invalid system flag ${text.toUpperCase().slice(0, 40)}` };
}

function readFlags(values: readonly ImapValue[]): string[] | { error: string } {
  const flags: string[] = [];
  for (const value of values) {
    const flag = readFlag(value);
    if (typeof flag !== 'string') return flag;
    if (!flags.some((known) => known.toUpperCase() === flag.toUpperCase())) flags.push(flag);
  }
  return flags;
}

/** The arguments after the sequence set. */
export function parseStore(args: readonly ImapValue[]): StoreRequest | { error: string } {
  let rest = args;
  let unchangedSince: number | undefined;
  const first = rest[0];
  if (first?.kind === 'list') {
    const [name, value] = first.items;
    if (first.items.length !== 2 || name?.kind !== 'atom' || name.text.toUpperCase() !== 'UNCHANGEDSINCE' || value?.kind !== 'number') {
      return { error: 'Invalid STORE modifiers' };
    }
    unchangedSince = value.value;
    rest = rest.slice(1);
  }
  const item = rest[0];
  const match = item?.kind === 'atom' && !item.section ? /^([+-]?)FLAGS(\.SILENT)?$/i.exec(item.text) : null;
  if (!match) return { error: 'Invalid STORE data item' };
  const values = rest.slice(1);
  const only = values[0];
  if (values.length === 0) return { error: 'Missing flags' };
  const flags = readFlags(only?.kind === 'list' && values.length === 1 ? only.items : values);
  if (!Array.isArray(flags)) return flags;
  const mode = match[1] === '+' ? 'add' : match[1] === '-' ? 'remove' : 'set';
  return { mode, silent: match[2] !== undefined, flags, ...(unchangedSince !== undefined ? { unchangedSince } : {}) };
}

async function runStore(ctx: CommandContext, byUid: boolean): Promise<void> {
  const selected = requireSelected(ctx);
  if (!selected) return;
  const args = ctx.command.args;
  const request = parseStore(args.slice(1));
  if ('error' in request) return ctx.bad(request.error);
  const target = messageSet(selected, args[0], byUid);
  if (typeof target === 'string') return ctx.bad(target);
  // EXAMINE: nothing may change (RFC 3501 6.3.2); Dovecot answers OK and changes nothing, and so do we.
  if (selected.readOnly) return ctx.ok('Store ignored with read-only mailbox');
  if (request.unchangedSince !== undefined) enableCondstore(ctx);
  const { modified } = target.uids.length > 0 ? await selected.folder.store(target.uids, request.mode, request.flags, request.unchangedSince) : { modified: [] };
  // RFC 3501 6.4.6: the new flags come back as untagged FETCH unless .SILENT; RFC 7162 3.1.3: under
  // CONDSTORE a silent change still tells its MODSEQ (the session does this).
  await selected.flush(ctx, { expunges: byUid, uid: byUid, silentOwn: request.silent });
  if (modified.length === 0) return ctx.ok('Store completed');
  // RFC 7162 3.1.3: sequence numbers for STORE, UIDs for UID STORE.
  const numbers = byUid ? modified : modified.map((uid) => selected.seqOf(uid)).filter((n): n is number => n !== undefined);
  if (numbers.length === 0) return ctx.ok('Store completed');
  ctx.ok('Conditional store failed', `MODIFIED ${formatSequenceSet(compactSequenceSet(numbers))}`);
}

export const storeCommand: CommandSpec = {
  name: 'STORE',
  states: ['selected'],
  run: (ctx) => runStore(ctx, false),
};

export const uidStoreCommand: CommandSpec = {
  name: 'UID STORE',
  states: ['selected'],
  run: (ctx) => runStore(ctx, true),
};
