// RFC 3501 6.3.6:
//   subscribe = "SUBSCRIBE" SP mailbox
// Adds the name to the subscription list (the backend refuses a folder that is not there: RFC 3501
// lets a server do so, and LSUB then never lists a name that cannot be selected).
import type { CommandSpec } from '../command.js';
import { accountOf, argumentCount, FOLDER_STATES, mailboxArg } from '../folders/command-helpers.js';

export const command: CommandSpec = {
  name: 'SUBSCRIBE',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 1)) return;
    const name = mailboxArg(ctx, ctx.command.args[0]);
    if (name === null) return;
    await accountOf(ctx).subscribe(name, true);
    ctx.ok('SUBSCRIBE completed');
  },
};
