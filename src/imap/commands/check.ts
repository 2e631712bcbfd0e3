// RFC 3501 6.4.1
//   command-select = "CHECK" / ...
// Every change is durable when made, so there is nothing to checkpoint; like NOOP, the connection tells
// the folder's changes before the OK.
import type { CommandSpec } from '../command.js';

export const check: CommandSpec = {
  name: 'CHECK',
  states: ['selected'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('CHECK takes no arguments');
    ctx.ok('CHECK completed');
  },
};
