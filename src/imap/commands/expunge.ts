// expunge     = "EXPUNGE"                                               ; RFC 3501 9
// uid-expunge = "UID" SP "EXPUNGE" SP sequence-set                      ; RFC 4315 4
//
// RFC 3501 6.4.3 EXPUNGE: every message flagged \Deleted goes, and the client is told with EXPUNGE
// responses (VANISHED under QRESYNC, RFC 7162 3.2.10) before the tagged OK. RFC 4315 2.1 UID EXPUNGE:
// only those of the UID set.
import type { CommandContext, CommandSpec } from '../command.js';
import { messageSet, requireSelected } from '../fetch/message-set.js';

async function runExpunge(ctx: CommandContext, byUid: boolean): Promise<void> {
  const selected = requireSelected(ctx);
  if (!selected) return;
  const args = ctx.command.args;
  if (args.length !== (byUid ? 1 : 0)) return ctx.bad(byUid ? 'UID EXPUNGE takes one UID set' : 'EXPUNGE takes no arguments');
  let uids: number[] | undefined;
  if (byUid) {
    const target = messageSet(selected, args[0], true);
    if (typeof target === 'string') return ctx.bad(target);
    uids = target.uids;
  }
  // EXAMINE: nothing is removed (RFC 3501 6.3.2); as Dovecot, the command still succeeds and tells
  // the expunges of other sessions.
  if (!selected.readOnly && (uids === undefined || uids.length > 0)) await selected.folder.expunge(uids);
  // The expunged messages come back as changes and are told here (with other sessions' expunges).
  await selected.flush(ctx, { expunges: true, uid: byUid });
  ctx.ok('Expunge completed');
}

export const expungeCommand: CommandSpec = {
  name: 'EXPUNGE',
  states: ['selected'],
  run: (ctx) => runExpunge(ctx, false),
};

export const uidExpungeCommand: CommandSpec = {
  name: 'UID EXPUNGE',
  states: ['selected'],
  run: (ctx) => runExpunge(ctx, true),
};
