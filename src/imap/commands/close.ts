// RFC 3501 6.4.2
//   "CLOSE"
// Removes the messages flagged \Deleted when the folder is read-write, without any EXPUNGE response,
// and goes back to the authenticated state.
import type { CommandSpec } from '../command.js';

export const close: CommandSpec = {
  name: 'CLOSE',
  states: ['selected'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('CLOSE takes no arguments');
    const selected = ctx.session.selected;
    if (selected && !selected.readOnly) await selected.folder.expunge();
    ctx.session.deselect();
    ctx.ok('Close completed');
  },
};
