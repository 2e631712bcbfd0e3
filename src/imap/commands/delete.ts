// RFC 3501 6.3.4:
//   delete = "DELETE" SP mailbox
// INBOX cannot be deleted. A folder with folders under it is deleted and its children left (RFC 3501
// 6.3.4); its name then lists as \Noselect. Deleting the selected folder closes it first, as Dovecot
// does: the session is back in the authenticated state whatever the answer.
import type { CommandSpec } from '../command.js';
import { accountOf, argumentCount, FOLDER_STATES, mailboxArg } from '../folders/command-helpers.js';
import { closeSelected } from '../folders/open-folder.js';

export const command: CommandSpec = {
  name: 'DELETE',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 1)) return;
    const name = mailboxArg(ctx, ctx.command.args[0]);
    if (name === null) return;
    if (name === 'INBOX') return ctx.no('INBOX cannot be deleted', 'CANNOT');
    const selected = ctx.session.selected;
    if (selected && selected.folder.name === name) closeSelected(ctx);
    await accountOf(ctx).deleteFolder(name);
    ctx.ok('DELETE completed');
  },
};
