// Direct delivery to a full Postfix on loopback: per-recipient refusals from an access map, opportunistic
// STARTTLS, the retry in clear when the TLS handshake fails, and several messages on one connection.
import t from 'tap';
import { createDeliveryAgent } from '../../src/delivery/index.js';
import { capturedLog, deliveryDeps, deliverySettings } from '../helpers/delivery.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { outbound } from '../helpers/messages.js';
import { startPostfix } from '../helpers/postfix.js';
import type { TapLike } from '../helpers/remote-mta.js';

const MX = '127.0.0.5';

async function setUp(t: TapLike, options: { tls?: 'may' | 'broken'; refuse?: Record<string, string> } = {}) {
  const dns = await startDnsmasq(t, {
    mx: [{ domain: 'remote.test', host: 'mx.remote.test', preference: 10 }],
    hosts: [{ name: 'mx.remote.test', addresses: [MX] }],
  });
  const postfix = await startPostfix(t, { host: MX, hostname: 'mx.remote.test', ...options });
  if (!dns || !postfix) return null;
  const agent = createDeliveryAgent(deliverySettings(dns.server, postfix.port), deliveryDeps(capturedLog().log).deps);
  return { agent, postfix };
}

t.test('one refused recipient among several: the others are delivered, that one bounced', async (t) => {
  const ready = await setUp(t, { refuse: { 'bob@remote.test': '550 5.1.1 No such user here' } });
  if (!ready) return;
  const { agent, postfix } = ready;
  const message = outbound({ recipients: ['carol@remote.test', 'bob@remote.test', 'dave@remote.test'] });
  const outcomes = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.match(outcomes, [
    { address: 'carol@remote.test', status: 'delivered', reply: /^250 2\.0\.0 Ok: queued as /, enhancedCode: '2.0.0', remoteMta: 'mx.remote.test' },
    { address: 'bob@remote.test', status: 'bounced', reply: '550 5.1.1 <bob@remote.test>: Recipient address rejected: No such user here', enhancedCode: '5.1.1' },
    { address: 'dave@remote.test', status: 'delivered' },
  ]);
  const mails = await postfix.delivered(2);
  t.same(mails.map((m) => m.deliveredTo).sort(), ['carol@remote.test', 'dave@remote.test'], 'Postfix delivered exactly those two');
  t.ok(mails.every((m) => m.raw.includes(message.bytes.toString().split('\r\n\r\n')[1]!.replace(/\r\n/g, '\n').trim())), 'with the body intact');
  t.match(mails[0]?.raw, /with ESMTPS id/, 'over STARTTLS (RFC 3207), though the certificate is self-signed (RFC 7435)');
  t.match(mails[0]?.raw, /^Received: from mx\.letterbox\.test /m, 'EHLO carried our hostname');
});

t.test('several messages, one refused in between, share one connection (RSET keeps it usable)', async (t) => {
  const ready = await setUp(t, { refuse: { 'bob@remote.test': '550 5.1.1 No such user here' } });
  if (!ready) return;
  const { agent, postfix } = ready;
  const messages = [
    outbound({ recipients: ['carol@remote.test'] }),
    outbound({ recipients: ['bob@remote.test'] }),
    outbound({ sender: '', recipients: ['dave@remote.test'] }),
    outbound({ recipients: ['erin@remote.test'] }),
  ];
  const result = await agent.deliver('remote.test', messages);
  t.same(messages.map((m) => result.get(m.queueId)?.[0]?.status), ['delivered', 'bounced', 'delivered', 'delivered']);
  await postfix.log.waitFor(/disconnect from/, 2);
  t.equal(postfix.connections(), 1, 'Postfix saw one connection');
  t.match(postfix.log.lines.join('\n'), /disconnect from .* mail=4 rcpt=3\/4 data=3\/4 rset=1 quit=1/, 'four transactions, one RSET after the refused one');
  const mails = await postfix.delivered(3);
  t.equal(mails.find((m) => m.deliveredTo === 'dave@remote.test')?.returnPath, '<>', 'the null sender arrived as <>');
});

t.test('when the STARTTLS handshake fails, the same MX is tried again in clear', async (t) => {
  const ready = await setUp(t, { tls: 'broken' });
  if (!ready) return;
  const { agent, postfix } = ready;
  const message = outbound({ recipients: ['carol@remote.test'] });
  const [outcome] = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.match(outcome, { status: 'delivered', remoteMta: 'mx.remote.test' });
  const [mail] = await postfix.delivered(1);
  t.match(mail?.raw, /with ESMTP id/, 'delivered without TLS');
  await postfix.log.waitFor(/disconnect from/, 3);
  t.equal(postfix.connections(), 2, 'one connection for the failed handshake, one in clear');
  t.match(postfix.log.lines.join('\n'), /SSL_accept error|TLS handshake|no shared cipher|unsupported protocol|version/i, 'Postfix saw the handshake fail');
});

t.test('a message larger than the SIZE the server announces bounces without being sent (RFC 1870)', async (t) => {
  const dns = await startDnsmasq(t, {
    mx: [{ domain: 'remote.test', host: 'mx.remote.test', preference: 10 }],
    hosts: [{ name: 'mx.remote.test', addresses: [MX] }],
  });
  const postfix = await startPostfix(t, { host: MX, hostname: 'mx.remote.test', main: { message_size_limit: '100' } });
  if (!dns || !postfix) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, postfix.port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['carol@remote.test'] });
  t.ok(message.size > 100);
  const [outcome] = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.match(outcome, { status: 'bounced', enhancedCode: '5.3.4', reply: /^552 5\.3\.4 / });
  await postfix.log.waitFor(/disconnect from/, 2);
  t.match(postfix.log.lines.at(-1), /ehlo=2 starttls=1 (rset=1 )?quit=1/, 'no MAIL command was sent');
});
