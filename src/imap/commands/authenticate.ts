// RFC 3501 6.2.2, RFC 4959 (SASL-IR), RFC 4616 (PLAIN)
//   authenticate  = "AUTHENTICATE" SP auth-type [SP (base64 / "=")] *(CRLF base64)
//   message (PLAIN) = [authzid] UTF8NUL authcid UTF8NUL passwd
// Without an initial response the server sends an empty continuation and reads one line; `*` there
// cancels (BAD). Only PLAIN is offered (the connection is encrypted or on loopback by then).
import type { ConnectionCommandSpec, ConnectionContext } from '../command.js';
import { keyword, utf8Text } from '../wire/arguments.js';
import { logIn, refuseCleartext } from './login-common.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The initial response, `=` for an empty one (RFC 4959 3); undefined when there is none. */
function initialResponse(ctx: ConnectionContext): string | null | undefined {
  const value = ctx.command.args[1];
  if (value === undefined) return undefined;
  if (value.kind !== 'atom' && value.kind !== 'number') return null;
  return value.text;
}

/** A PLAIN message: the user and password, or null when it is not one. */
function readPlain(encoded: string): { username: string; password: string } | null {
  if (encoded !== '=' && !BASE64.test(encoded)) return null;
  const text = utf8Text(Buffer.from(encoded === '=' ? '' : encoded, 'base64'));
  const parts = text?.split('\0');
  if (!parts || parts.length !== 3) return null;
  const [authzid, username, password] = parts as [string, string, string];
  // Acting as another user is not offered: an authzid must name the one logging in.
  if (authzid !== '' && authzid !== username) return null;
  return { username, password };
}

export const authenticate: ConnectionCommandSpec = {
  name: 'AUTHENTICATE',
  states: ['not-authenticated'],
  async run(ctx) {
    const mechanism = keyword(ctx.command.args[0]);
    if (mechanism === null || ctx.command.args.length > 2) return ctx.bad('Expected AUTHENTICATE mechanism [initial-response]');
    if (mechanism !== 'PLAIN') return ctx.no('Unsupported authentication mechanism', 'CANNOT');
    if (refuseCleartext(ctx)) return;
    let response = initialResponse(ctx);
    if (response === null) return ctx.bad('Invalid initial response');
    if (response === undefined) {
      ctx.connection.continuation('');
      const line = await ctx.connection.readLine();
      if (line === null) return ctx.bad('Authentication aborted');
      response = line.toString('latin1').trim();
      if (response === '*') return ctx.bad('Authentication cancelled'); // RFC 3501 6.2.2
    }
    const credentials = readPlain(response);
    if (!credentials) return ctx.bad('Invalid SASL PLAIN response');
    await logIn(ctx, credentials.username, credentials.password);
  },
};
