// "Outbound port 25 seems blocked": after direct connections fail at connect level for three different
// domains in a row, mail goes straight to the smarthost; a probe every probeIntervalSeconds tries the
// direct path first, and a server answering there clears the state. The clock is the test's.
import t from 'tap';
import type { RelaySettings } from '../../src/core/types.js';
import { createDeliveryAgent } from '../../src/delivery/index.js';
import { capturedLog, deliveryDeps, deliverySettings } from '../helpers/delivery.js';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { outbound } from '../helpers/messages.js';
import { freePort } from '../helpers/ports.js';
import { startPostfix } from '../helpers/postfix.js';
import { startSmtpSink } from '../helpers/remote-mta.js';

const DEAD_MX = '127.0.0.6'; // refuses every connection, as a blocked port 25 would
const LIVE_MX = '127.0.0.7';
const SMARTHOST = '127.0.0.9';
const PASSWORD = 'Blocked-Port-Pass-42';

/** down1..down3.test point at the dead MX, up.test at the live one, smarthost.test at the smarthost. */
const ZONE: DnsZone = {
  mx: [
    ...['down1', 'down2', 'down3'].map((name) => ({ domain: `${name}.test`, host: 'mx.down.test', preference: 10 })),
    { domain: 'up.test', host: 'mx.up.test', preference: 10 },
  ],
  hosts: [
    { name: 'mx.down.test', addresses: [DEAD_MX] },
    { name: 'mx.up.test', addresses: [LIVE_MX] },
    { name: 'smarthost.test', addresses: [SMARTHOST] },
  ],
};

t.test('three unreachable domains in a row: straight to the smarthost until a probe gets through', async (t) => {
  const dns = await startDnsmasq(t, ZONE);
  const mxPort = await freePort(LIVE_MX);
  const mx = await startSmtpSink(t, { host: LIVE_MX, port: mxPort });
  const smarthost = await startPostfix(t, { host: SMARTHOST, hostname: 'smarthost.test', smarthost: { user: 'box@smarthost.test', password: PASSWORD, tls: 'starttls' } });
  if (!dns || !mx || !smarthost) return;

  let clock = Date.parse('2026-11-26T10:00:00Z');
  const captured = capturedLog();
  const relay: RelaySettings = { host: 'smarthost.test', port: smarthost.port, tls: 'starttls', user: 'box@smarthost.test', password: PASSWORD, mode: 'fallback' };
  const settings = deliverySettings(dns.server, mxPort, { relayCa: smarthost.certificate, blockedAfterDomains: 3, probeIntervalSeconds: 60 });
  const agent = createDeliveryAgent(settings, deliveryDeps(captured.log, { relay, now: () => clock }).deps);
  const send = async (domain: string) => {
    const message = outbound({ recipients: [`carol@${domain}`] });
    return (await agent.deliver(domain, [message])).get(message.queueId)?.[0];
  };

  t.match(await send('down1.test'), { status: 'delivered', via: 'smarthost' }, 'fallback: the smarthost took it');
  t.equal(agent.outboundBlocked, false, 'one domain says nothing');
  t.match(await send('down1.test'), { via: 'smarthost' });
  t.equal(agent.outboundBlocked, false, 'the same domain again counts once');
  await send('down2.test');
  t.equal(agent.outboundBlocked, false);
  clock += 1000;
  await send('down3.test');
  t.equal(agent.outboundBlocked, true, 'three different domains in a row');
  t.match(captured.text(), /"msg":"outbound port 25 seems blocked"/);

  t.match(await send('up.test'), { status: 'delivered', via: 'smarthost', remoteMta: 'smarthost.test' }, 'straight to the smarthost');
  t.equal(mx.sessions().length, 0, 'the (working) MX was not even tried');

  clock += 60_000;
  t.match(await send('up.test'), { status: 'delivered', via: 'mx', remoteMta: 'mx.up.test' }, 'the probe went direct');
  t.equal((await mx.ended(1)).length, 1);
  t.equal(agent.outboundBlocked, false, 'and cleared the state');
  t.match(captured.text(), /outbound port 25 works again/);
  t.notOk(captured.text().includes(PASSWORD), 'the relay password never reached the log');
});

t.test('a probe that fails keeps the state; SMTP answers (even refusals) do not count as blocked', async (t) => {
  const dns = await startDnsmasq(t, ZONE);
  const mxPort = await freePort(LIVE_MX);
  // The live MX answers 4xx to everything: a server is there, so port 25 is not blocked.
  const mx = await startSmtpSink(t, { host: LIVE_MX, port: mxPort, options: ['-r', 'RCPT'] });
  if (!dns || !mx) return;
  let clock = 0;
  const relay: RelaySettings = { host: SMARTHOST, port: await freePort(SMARTHOST), tls: 'starttls', mode: 'fallback' };
  const agent = createDeliveryAgent(
    deliverySettings(dns.server, mxPort, { blockedAfterDomains: 2, probeIntervalSeconds: 30 }),
    deliveryDeps(capturedLog().log, { relay, now: () => clock }).deps,
  );
  const send = async (domain: string) => {
    const message = outbound({ recipients: [`carol@${domain}`] });
    return (await agent.deliver(domain, [message])).get(message.queueId)?.[0];
  };
  await send('down1.test');
  t.match(await send('up.test'), { status: 'deferred' });
  await send('down2.test');
  t.equal(agent.outboundBlocked, false, 'the answering MX in between broke the row');
  await send('down3.test');
  t.equal(agent.outboundBlocked, true, 'two in a row with blockedAfterDomains 2');

  clock += 30_000;
  t.match(await send('down1.test'), { status: 'deferred', via: 'smarthost' }, 'the probe: direct, then the (dead) smarthost');
  t.equal(agent.outboundBlocked, true, 'a failed probe keeps the state');
  // Counted once the sink has logged the session's end, not as far as its log has been read by now.
  t.equal((await mx.ended(1)).length, 1);
});

t.test('with no smarthost, a blocked box keeps trying direct', async (t) => {
  const dns = await startDnsmasq(t, ZONE);
  const mxPort = await freePort(LIVE_MX);
  const mx = await startSmtpSink(t, { host: LIVE_MX, port: mxPort });
  if (!dns || !mx) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, mxPort), deliveryDeps(capturedLog().log).deps);
  for (const domain of ['down1.test', 'down2.test', 'down3.test']) {
    const message = outbound({ recipients: [`carol@${domain}`] });
    t.match((await agent.deliver(domain, [message])).get(message.queueId), [{ status: 'deferred', via: 'mx', enhancedCode: '4.4.1' }]);
  }
  t.equal(agent.outboundBlocked, true);
  const message = outbound({ recipients: ['carol@up.test'] });
  t.match((await agent.deliver('up.test', [message])).get(message.queueId), [{ status: 'delivered', via: 'mx' }]);
  t.equal(agent.outboundBlocked, false);
});
