// RFC 3501 6.3.7:
//   unsubscribe = "UNSUBSCRIBE" SP mailbox
// Unsubscribing a name that is not there is answered OK: the client wants it off the list, and it
// is (RFC 9051 6.3.8 allows either answer; Dovecot answers OK too).
import type { CommandSpec } from '../command.js';
import { ImapBackendError } from '../backend.js';
import { accountOf, argumentCount, FOLDER_STATES, mailboxArg } from '../folders/command-helpers.js';

export const command: CommandSpec = {
  name: 'UNSUBSCRIBE',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 1)) return;
    const name = mailboxArg(ctx, ctx.command.args[0]);
    if (name === null) return;
    try {
      await accountOf(ctx).subscribe(name, false);
    } catch (error) {
      if (!(error instanceof ImapBackendError && error.code === 'NONEXISTENT')) throw error;
    }
    ctx.ok('UNSUBSCRIBE completed');
  },
};
