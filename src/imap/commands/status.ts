// RFC 3501 6.3.10 (RFC 7162 3.1.7 HIGHESTMODSEQ, RFC 8438 SIZE, RFC 7889 APPENDLIMIT):
//   status     = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
//   status-att = "MESSAGES" / "RECENT" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "HIGHESTMODSEQ" /
//                "SIZE" / "APPENDLIMIT"
// The selected folder may be asked too (RFC 3501 only says it SHOULD NOT be); the backend answers
// for the folder as stored.
import type { CommandSpec } from '../command.js';
import { listArg } from '../wire/arguments.js';
import { accountOf, argumentCount, FOLDER_STATES, mailboxArg } from '../folders/command-helpers.js';
import { enablesCondstore, readStatusItems, statusResponse } from '../folders/status-items.js';

export const command: CommandSpec = {
  name: 'STATUS',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 2)) return;
    const [mailbox, itemList] = ctx.command.args;
    const requested = listArg(itemList);
    const items = requested === null ? null : readStatusItems(requested);
    if (items === null) return ctx.bad('STATUS: a list of MESSAGES, RECENT, UIDNEXT, UIDVALIDITY, UNSEEN, HIGHESTMODSEQ, SIZE or APPENDLIMIT expected');
    const name = mailboxArg(ctx, mailbox);
    if (name === null) return;
    const status = await accountOf(ctx).status(name);
    if (enablesCondstore(items)) ctx.session.enabled.add('CONDSTORE');
    ctx.untagged(statusResponse(name, items, status, ctx.session));
    ctx.ok('STATUS completed');
  },
};
