// A flood of client misbehaviour must not become a flood of log (issue 6: 20 s of it wrote 2.3 MB, at
// error level with stacks). Refused connections, TLS handshakes broken off and clients leaving in the
// middle of a message are logged at info, without a stack, at most ten lines per address and kind a
// minute, and what was held back is counted in one line.
import t from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision } from '../helpers/appliance.js';
import { brokenHandshake, leaveInData, repeat } from '../helpers/attacks.js';
import { SmtpClient } from '../helpers/smtp.js';

t.setTimeout(180_000);

t.test('a flood of refused connections, broken handshakes and abandoned messages writes a bounded log', async (t) => {
  const app = await startAppliance({ config: { smtp: { maxConnectionsPerClient: 5 } } });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);
  const first = app.logs.length;

  // 200 connections over the per-address limit from one address, each turned away with 421.
  const holding = await Promise.all(Array.from({ length: 5 }, () => SmtpClient.connect(app.ports.smtp, { localAddress: '127.0.0.2' })));
  await repeat(200, 10, async () => {
    const refused = await SmtpClient.connect(app.ports.smtp, { localAddress: '127.0.0.2' }).catch(() => null);
    refused?.destroy();
  });
  // 200 handshakes on 465 broken off from another address, and 50 messages abandoned in DATA from a third.
  await repeat(200, 2, () => brokenHandshake(app.ports.smtps, '127.0.0.3'));
  await repeat(50, 2, () => leaveInData(app.ports.smtp, '127.0.0.4'));
  for (const client of holding) await client.quit();
  // The server has taken in the last of them once it answers the next client.
  const last = await SmtpClient.connect(app.ports.smtp, { localAddress: '127.0.0.5' });
  await last.quit();
  t.equal(await app.stop(), 0, 'at stop, what was held back is counted');

  const flood = app.logs.slice(first).filter((l) => l.msg !== 'admin operation' && !['stopping', 'stopped'].includes(String(l.msg)));
  const bytes = flood.reduce((sum, l) => sum + JSON.stringify(l).length + 1, 0);
  t.ok(flood.length <= 60, `450 misbehaving connections: ${flood.length} lines`);
  t.ok(bytes < 20_000, `${bytes} bytes`);
  t.notOk(flood.some((l) => (l.level as number) >= 50), 'none at error level: all of it is client behaviour');
  t.notOk(flood.some((l) => JSON.stringify(l).includes('"stack"')), 'no stack traces');

  const lines = (kind: string, address?: string) => flood.filter((l) => l.kind === kind && l.msg !== 'log lines suppressed' && (!address || l.remoteAddress === address));
  const suppressed = (kind: string, address?: string) =>
    flood.filter((l) => l.msg === 'log lines suppressed' && l.kind === kind && (!address || l.remoteAddress === address)).reduce((sum, l) => sum + (l.suppressed as number), 0);
  t.equal(lines('refused', '127.0.0.2').length, 10, 'ten refusals logged for the address');
  t.equal(suppressed('refused', '127.0.0.2'), 190, 'and the other 190 counted in one line');
  // A socket reset before the server asked for its peer's address is logged under "unknown".
  t.ok(lines('tls').length >= 10 && lines('tls').length <= 20, `broken handshakes: ten lines per address (${lines('tls').length})`);
  t.ok(lines('tls').length + suppressed('tls') >= 150, `the rest counted (${suppressed('tls')})`);
  for (const kind of ['gone', 'socket']) t.ok(lines(kind, '127.0.0.4').length <= 10, `clients leaving in DATA (${kind}): at most ten lines`);
  t.ok(lines('gone', '127.0.0.4').length >= 1, 'and they are logged');
});
