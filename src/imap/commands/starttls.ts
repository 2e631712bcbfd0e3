// RFC 3501 6.2.1
//   starttls = "STARTTLS"
// TLS starts right after the OK; whatever the client sent after the command and before the handshake
// is thrown away (a plaintext command injection otherwise), and the client asks for CAPABILITY anew.
import type { ConnectionCommandSpec } from '../command.js';

export const starttls: ConnectionCommandSpec = {
  name: 'STARTTLS',
  states: ['not-authenticated'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('STARTTLS takes no arguments');
    if (ctx.session.client.secure) return ctx.bad('TLS is already active');
    ctx.connection.startTls();
    ctx.ok('Begin TLS negotiation now');
  },
};
