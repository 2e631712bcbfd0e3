// RFC 3501 6.1.3
//   "LOGOUT"
//   S: * BYE ...   S: tag OK LOGOUT completed   (then the server closes the connection)
import type { ConnectionCommandSpec } from '../command.js';
import { texts } from '../responses.js';

export const logout: ConnectionCommandSpec = {
  name: 'LOGOUT',
  states: ['not-authenticated', 'authenticated', 'selected'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('LOGOUT takes no arguments');
    ctx.session.state = 'logout';
    ctx.connection.bye(texts.logout);
    ctx.ok('Logout completed');
  },
};
