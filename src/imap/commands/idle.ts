// RFC 2177 3
//   idle = "IDLE" CRLF "DONE"
// `+ idling`, then the selected folder's changes as they happen (expunges included), until the client
// sends DONE. The autologout timer still runs; clients re-issue IDLE within 29 minutes. Every two
// minutes `* OK Still here` keeps NAT routers and firewalls from forgetting the connection (Dovecot's
// imap_idle_notify_interval).
import type { ConnectionCommandSpec, ConnectionContext } from '../command.js';

export const KEEPALIVE_MS = 120_000;

/**
 * Tells the changes one flush at a time, however fast they come. A failure while idling is left for the
 * flush after DONE to meet again and report (it is the connection's to log).
 */
function pusher(ctx: ConnectionContext): { wake(): void; settle(): Promise<void> } {
  let chain = Promise.resolve();
  const flush = async () => {
    await ctx.session.selected?.flush(ctx, { expunges: true });
  };
  return {
    wake: () => void (chain = chain.then(flush).catch(() => undefined)),
    settle: async () => {
      await chain;
      await flush();
    },
  };
}

export const idle: ConnectionCommandSpec = {
  name: 'IDLE',
  states: ['authenticated', 'selected'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('IDLE takes no arguments');
    ctx.connection.continuation('idling');
    const push = pusher(ctx);
    const stop = ctx.connection.watchChanges(() => push.wake());
    const keepalive = setInterval(() => ctx.untaggedStatus('OK', 'Still here'), KEEPALIVE_MS);
    try {
      push.wake();
      const line = await ctx.connection.readLine();
      stop();
      await push.settle();
      if (line === null) return ctx.bad('IDLE aborted');
      if (line.toString('latin1').trim().toUpperCase() !== 'DONE') return ctx.bad('Expected DONE');
      ctx.ok('IDLE terminated');
    } finally {
      clearInterval(keepalive);
      stop();
    }
  },
};
