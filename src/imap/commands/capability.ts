// RFC 3501 6.1.1
//   capability = "CAPABILITY"
//   response: "* CAPABILITY" *(SP capability-name)
import type { CommandSpec } from '../command.js';
import { atom } from '../wire/encoder.js';

export const capability: CommandSpec = {
  name: 'CAPABILITY',
  states: ['not-authenticated', 'authenticated', 'selected'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('CAPABILITY takes no arguments');
    ctx.untagged([atom('CAPABILITY'), ...ctx.session.capabilities().map((name) => atom(name))]);
    ctx.ok('Capability completed');
  },
};
