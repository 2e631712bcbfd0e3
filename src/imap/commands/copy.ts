// copy = "COPY" SP sequence-set SP mailbox                              ; RFC 3501 9
// uid  = "UID" SP copy
//
// RFC 3501 6.4.7 COPY and 6.4.8 UID COPY; RFC 4315 3 COPYUID in the tagged OK; TRYCREATE when the
// target is not there (RFC 3501 6.4.7), OVERQUOTA when it would not fit (RFC 9208): both come from the
// backend as ImapBackendError and the connection answers NO [code].
import type { CommandContext, CommandSpec } from '../command.js';
import { compactSequenceSet, formatSequenceSet } from '../wire/sequence-set.js';
import { messageSet, requireSelected } from '../fetch/message-set.js';
import { argumentCount, mailboxArg } from '../folders/command-helpers.js';

/**
 * RFC 4315 3: `COPYUID uidvalidity source-uids dest-uids`, the two sets in corresponding order. Pairs
 * come in ascending source order and the target gives ascending UIDs, so both sets compact in step;
 * when they do not (a backend giving UIDs in another order) the UIDs are listed one by one.
 */
export function copyUidCode(uidValidity: number, pairs: readonly (readonly [number, number])[]): string {
  const sources = pairs.map((pair) => pair[0]);
  const targets = pairs.map((pair) => pair[1]);
  const ascending = (list: number[]) => list.every((n, i) => i === 0 || n > (list[i - 1] as number));
  const format = (list: number[]) => (ascending(sources) && ascending(targets) ? formatSequenceSet(compactSequenceSet(list)) : list.join(','));
  return `COPYUID ${uidValidity} ${format(sources)} ${format(targets)}`;
}

async function runCopy(ctx: CommandContext, byUid: boolean): Promise<void> {
  const selected = requireSelected(ctx);
  if (!selected || !argumentCount(ctx, 2)) return;
  const target = messageSet(selected, ctx.command.args[0], byUid);
  if (typeof target === 'string') return ctx.bad(target);
  const name = mailboxArg(ctx, ctx.command.args[1]);
  if (name === null) return;
  if (target.uids.length === 0) {
    await selected.flush(ctx, { expunges: true, uid: byUid });
    return ctx.ok('No messages found');
  }
  const result = await selected.folder.copy(target.uids, name, false);
  // RFC 3501 6.4.7: COPY may send EXPUNGE (it is not FETCH, STORE or SEARCH).
  await selected.flush(ctx, { expunges: true, uid: byUid });
  if (result.pairs.length === 0) return ctx.ok('No messages found');
  ctx.ok('Copy completed', copyUidCode(result.uidValidity, result.pairs));
}

export const copyCommand: CommandSpec = {
  name: 'COPY',
  states: ['selected'],
  run: (ctx) => runCopy(ctx, false),
};

export const uidCopyCommand: CommandSpec = {
  name: 'UID COPY',
  states: ['selected'],
  run: (ctx) => runCopy(ctx, true),
};
