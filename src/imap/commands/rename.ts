// RFC 3501 6.3.5:
//   rename = "RENAME" SP mailbox SP mailbox
// Folders under the old name move with it. Renaming INBOX moves its messages to a new folder and
// leaves INBOX empty (the backend does it). A folder cannot be renamed to INBOX, to itself or under
// itself.
import type { CommandSpec } from '../command.js';
import { accountOf, argumentCount, FOLDER_STATES, mailboxArg, newMailboxArg } from '../folders/command-helpers.js';
import { isSameOrUnder } from '../folders/names.js';

export const command: CommandSpec = {
  name: 'RENAME',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 2)) return;
    const from = mailboxArg(ctx, ctx.command.args[0]);
    if (from === null) return;
    const to = newMailboxArg(ctx, ctx.command.args[1]);
    if (to === null) return;
    if (to === 'INBOX') return ctx.no('INBOX always exists', 'ALREADYEXISTS');
    // Renaming INBOX empties it into the new folder, which may lie under it (INBOX/2024).
    if (from !== 'INBOX' && isSameOrUnder(to, from)) return ctx.no('A folder cannot be renamed to itself or under itself', 'CANNOT');
    await accountOf(ctx).renameFolder(from, to);
    ctx.ok('RENAME completed');
  },
};
