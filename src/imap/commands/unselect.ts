// RFC 3691 2
//   command-select =/ "UNSELECT"
// Like CLOSE, but nothing is expunged.
import type { CommandSpec } from '../command.js';

export const unselect: CommandSpec = {
  name: 'UNSELECT',
  states: ['selected'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('UNSELECT takes no arguments');
    ctx.session.deselect();
    ctx.ok('Unselect completed');
  },
};
