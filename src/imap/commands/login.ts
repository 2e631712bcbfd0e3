// RFC 3501 6.2.3
//   login = "LOGIN" SP userid SP password
//   userid = astring ; password = astring
import type { ConnectionCommandSpec } from '../command.js';
import { astringText } from '../wire/arguments.js';
import { logIn, refuseCleartext } from './login-common.js';

export const login: ConnectionCommandSpec = {
  name: 'LOGIN',
  states: ['not-authenticated'],
  async run(ctx) {
    const [user, pass, extra] = ctx.command.args;
    const username = astringText(user);
    const password = astringText(pass);
    if (username === null || password === null || extra !== undefined) return ctx.bad('Expected LOGIN user password');
    if (refuseCleartext(ctx)) return;
    await logIn(ctx, username, password);
  },
};
