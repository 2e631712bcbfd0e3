// MX resolution against a DNS server that is slow, silent or asked the impossible (issue 15): after a
// few quick answers, one that comes a second late is still taken (c-ares's adaptive timeout would have
// dropped it); 500 MX hosts whose address look-ups never answer cost the resolution deadline, not a
// quarter of an hour; and a domain that cannot be a DNS name bounces at once instead of waiting 5 days.
// The DNS server is test/helpers/hostile-dns.ts, which answers late or never on request.
import t from 'tap';
import { createDeliveryAgent } from '../../src/delivery/index.js';
import { capturedLog, deliveryDeps, deliverySettings } from '../helpers/delivery.js';
import { startHostileDns } from '../helpers/hostile-dns.js';
import { startHostileMx } from '../helpers/hostile-mx.js';
import { outbound } from '../helpers/messages.js';
import { freePort } from '../helpers/ports.js';

// Look-ups that time out on purpose, each within seconds.
t.setTimeout(120_000);

const MX = '127.0.0.2';

t.test('after quick answers, an MX answer a second late is still taken', async (t) => {
  const port = await freePort(MX);
  const mx = await startHostileMx(t, { host: MX, port });
  const warm = ['warm1.test', 'warm2.test', 'warm3.test'];
  const dns = await startHostileDns(t, {
    mx: Object.fromEntries([...warm, 'late.test'].map((domain) => [domain, [{ host: 'mx.remote.test', preference: 10 }]])),
    hosts: { 'mx.remote.test': [MX] },
    timing: (question) => (question.name === 'late.test' ? 1000 : 0),
  });
  // The default per-query timeout (5 s), as the appliance runs.
  const agent = createDeliveryAgent(deliverySettings(dns.server, port, { dnsTimeoutSeconds: 5 }), deliveryDeps(capturedLog().log).deps);
  for (const domain of warm) {
    const message = outbound({ recipients: [`someone@${domain}`] });
    t.match((await agent.deliver(domain, [message])).get(message.queueId)?.[0], { status: 'delivered' }, `${domain}: answered at once`);
  }
  const late = outbound({ recipients: ['someone@late.test'] });
  const startedAt = Date.now();
  const [outcome] = (await agent.deliver('late.test', [late])).get(late.queueId) ?? [];
  t.match(outcome, { status: 'delivered', remoteMta: 'mx.remote.test' }, `late.test delivered ${Date.now() - startedAt} ms later, its MX answer 1 s late`);
  t.equal(mx.messages.length, 4);
  t.equal(dns.questions().filter((q) => q === 'MX late.test').length, 1, 'asked once: the first answer was taken');
});

t.test('500 MX hosts whose address look-ups never answer cost the resolution deadline', async (t) => {
  const hosts = Array.from({ length: 500 }, (_, i) => ({ host: `mx${i}.dead.test`, preference: 10 + (i % 7) }));
  const dns = await startHostileDns(t, {
    mx: { 'dead.test': hosts },
    hosts: Object.fromEntries(hosts.map(({ host }) => [host, ['127.0.0.9']])),
    timing: (question) => (question.type === 'MX' ? 0 : 'never'),
  });
  const agent = createDeliveryAgent(deliverySettings(dns.server, 25, { dnsTimeoutSeconds: 1, resolveTimeoutSeconds: 4 }), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['someone@dead.test'] });
  const startedAt = Date.now();
  const [outcome] = (await agent.deliver('dead.test', [message])).get(message.queueId) ?? [];
  const tookMs = Date.now() - startedAt;
  t.match(outcome, { status: 'deferred', enhancedCode: '4.4.3', reply: /^DNS look-ups for dead\.test timed out after 4 s \(\d+ of 500 MX hosts looked up\)$/ });
  const asked = dns.questions().filter((q) => !q.startsWith('MX')).length;
  // Generous: a look-up one after another would take 500 x 3 s.
  t.ok(tookMs >= 4000 && tookMs < 12_000, `the resolution took ${tookMs} ms (deadline 4 s); ${asked} address questions were asked, none answered`);
  t.ok(asked < 100, 'a few hosts at a time, not all 500 at once');
});

t.test('a domain that cannot be a DNS name bounces at once, without asking DNS', async (t) => {
  const dns = await startHostileDns(t, { mx: {} });
  const agent = createDeliveryAgent(deliverySettings(dns.server, 25), deliveryDeps(capturedLog().log).deps);
  const longLabel = `${'a'.repeat(64)}.test`;
  const longName = Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.');
  for (const domain of [longLabel, longName, 'empty..label.test']) {
    const message = outbound({ recipients: [`someone@${domain}`] });
    const [outcome] = (await agent.deliver(domain, [message])).get(message.queueId) ?? [];
    t.match(outcome, { status: 'bounced', enhancedCode: '5.1.2', reply: /cannot be a domain name \(RFC 1035 2\.3\.4/ }, `${domain.slice(0, 20)}... (${domain.length} characters)`);
  }
  t.same(dns.questions(), [], 'nothing was asked');
});
