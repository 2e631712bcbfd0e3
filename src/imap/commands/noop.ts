// RFC 3501 6.1.2
//   command-any = "CAPABILITY" / "LOGOUT" / "NOOP"
// Nothing to do: the connection tells the selected folder's changes, expunges included, before the OK.
import type { CommandSpec } from '../command.js';

export const noop: CommandSpec = {
  name: 'NOOP',
  states: ['not-authenticated', 'authenticated', 'selected'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('NOOP takes no arguments');
    ctx.ok('NOOP completed');
  },
};
