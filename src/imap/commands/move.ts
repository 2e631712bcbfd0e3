// move = "MOVE" SP sequence-set SP mailbox                              ; RFC 6851 6
// uid  = "UID" SP move
//
// RFC 6851 3.3: the server first sends `* OK [COPYUID ...]` (RFC 4315), then EXPUNGE (or VANISHED under
// QRESYNC, RFC 6851 3.4) for each moved message, then the tagged OK.
import type { CommandContext, CommandSpec } from '../command.js';
import { messageSet, requireSelected } from '../fetch/message-set.js';
import { argumentCount, mailboxArg } from '../folders/command-helpers.js';
import { copyUidCode } from './copy.js';

async function runMove(ctx: CommandContext, byUid: boolean): Promise<void> {
  const selected = requireSelected(ctx);
  if (!selected || !argumentCount(ctx, 2)) return;
  const target = messageSet(selected, ctx.command.args[0], byUid);
  if (typeof target === 'string') return ctx.bad(target);
  const name = mailboxArg(ctx, ctx.command.args[1]);
  if (name === null) return;
  // RFC 6851 3.3: MOVE expunges from the source, which a read-only folder does not allow.
  if (selected.readOnly) return ctx.no('Mailbox is read-only', 'READ-ONLY');
  if (target.uids.length > 0) {
    const result = await selected.folder.copy(target.uids, name, true);
    if (result.pairs.length > 0) ctx.untaggedStatus('OK', 'Moved UIDs.', copyUidCode(result.uidValidity, result.pairs));
  }
  await selected.flush(ctx, { expunges: true, uid: byUid });
  ctx.ok(target.uids.length > 0 ? 'Move completed' : 'No messages found');
}

export const moveCommand: CommandSpec = {
  name: 'MOVE',
  states: ['selected'],
  run: (ctx) => runMove(ctx, false),
};

export const uidMoveCommand: CommandSpec = {
  name: 'UID MOVE',
  states: ['selected'],
  run: (ctx) => runMove(ctx, true),
};
