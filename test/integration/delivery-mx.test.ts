// Direct delivery against real servers on loopback: dnsmasq answers the MX and address look-ups, and
// Postfix's smtp-sink plays the remote MXs with scripted answers. The sink's -v transcript shows every
// connection and the exact commands our client sent.
import t from 'tap';
import { createDeliveryAgent } from '../../src/delivery/index.js';
import { capturedLog, deliveryDeps, deliverySettings } from '../helpers/delivery.js';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { outbound } from '../helpers/messages.js';
import { freePort, portFreeOnAll } from '../helpers/ports.js';
import { startSmtpSink } from '../helpers/remote-mta.js';

const MX1 = '127.0.0.2';
const MX2 = '127.0.0.3';
const NOBODY = '127.0.0.4'; // nothing ever listens here: connections are refused

/** remote.test has two MXs: mx1 (preference 10) and mx2 (20). */
function twoMx(first = MX1, second = MX2): DnsZone {
  return {
    mx: [
      { domain: 'remote.test', host: 'mx2.remote.test', preference: 20 },
      { domain: 'remote.test', host: 'mx1.remote.test', preference: 10 },
    ],
    hosts: [
      { name: 'mx1.remote.test', addresses: [first] },
      { name: 'mx2.remote.test', addresses: [second] },
    ],
  };
}

t.test('delivers to the MX with the lowest preference, with our EHLO name', async (t) => {
  const dns = await startDnsmasq(t, twoMx());
  const port = await portFreeOnAll([MX1, MX2]);
  const mx1 = await startSmtpSink(t, { host: MX1, port });
  const mx2 = await startSmtpSink(t, { host: MX2, port });
  if (!dns || !mx1 || !mx2) return;
  const { log } = capturedLog();
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(log).deps);

  const message = outbound({ recipients: ['carol@remote.test'] });
  const result = await agent.deliver('remote.test', [message]);
  const [outcome] = result.get(message.queueId) ?? [];
  t.match(outcome, { address: 'carol@remote.test', status: 'delivered', via: 'mx', remoteMta: 'mx1.remote.test', enhancedCode: /^2\./ });
  t.match(outcome?.reply, /^250 /, 'the reply is the far side\'s answer to the message');

  const [session] = await mx1.ended(1);
  // smtp-sink announces 8BITMIME but not SIZE; RFC 6152 lets BODY=8BITMIME go with 7-bit content too.
  t.same(session?.commands.slice(0, 4), ['EHLO mx.letterbox.test', 'MAIL FROM:<alice@letterbox.test> BODY=8BITMIME', 'RCPT TO:<carol@remote.test>', 'DATA']);
  t.equal(mx2.sessions().length, 0, 'the backup MX was not needed');
  t.ok(dns.queries().includes('MX remote.test'), 'the MX came from the configured DNS server');
  t.equal(agent.outboundBlocked, false);
});

t.test('falls to the next MX when the first refuses connections', async (t) => {
  const dns = await startDnsmasq(t, twoMx(NOBODY, MX2));
  const port = await freePort(MX2);
  const mx2 = await startSmtpSink(t, { host: MX2, port });
  if (!dns || !mx2) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['carol@remote.test'] });
  const [outcome] = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.match(outcome, { status: 'delivered', via: 'mx', remoteMta: 'mx2.remote.test' });
  t.equal((await mx2.ended(1)).length, 1);
});

t.test('falls to the next MX when the first answers 4xx', async (t) => {
  const dns = await startDnsmasq(t, twoMx());
  const port = await portFreeOnAll([MX1, MX2]);
  const mx1 = await startSmtpSink(t, { host: MX1, port, options: ['-r', 'RCPT', '-b', '451 4.3.0 <carol@remote.test>: Temporary lookup failure'] });
  const mx2 = await startSmtpSink(t, { host: MX2, port });
  if (!dns || !mx1 || !mx2) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['carol@remote.test'] });
  const [outcome] = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.match(outcome, { status: 'delivered', remoteMta: 'mx2.remote.test' });
  t.equal((await mx1.ended(1)).length, 1, 'mx1 was asked first');
});

t.test('a 5xx greeting sends us to the next MX; with none left, the recipient is deferred', async (t) => {
  const dns = await startDnsmasq(t, twoMx());
  const port = await portFreeOnAll([MX1, MX2]);
  const mx1 = await startSmtpSink(t, { host: MX1, port, options: ['-f', 'CONNECT', '-B', '554 5.7.1 mx1 does not talk to you'] });
  const mx2 = await startSmtpSink(t, { host: MX2, port, options: ['-f', 'CONNECT', '-B', '554 5.7.1 mx2 does not talk to you'] });
  if (!dns || !mx1 || !mx2) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['carol@remote.test'] });
  const [outcome] = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  // Like Postfix's smtp_skip_5xx_greeting: a server that will not talk is no verdict about the recipient.
  t.match(outcome, { status: 'deferred', enhancedCode: '4.7.1', remoteMta: 'mx1.remote.test', reply: /refused the session: 554 5\.7\.1 mx1 does not talk to you$/ });
  t.equal((await mx2.ended(1)).length, 1, 'mx2 was tried too');
  t.equal(agent.outboundBlocked, false, 'servers answered: port 25 works');
});

t.test('a 4xx from the only MX defers the recipient with the remote reply', async (t) => {
  const dns = await startDnsmasq(t, twoMx(MX1, NOBODY));
  const port = await freePort(MX1);
  const mx1 = await startSmtpSink(t, { host: MX1, port, options: ['-r', 'RCPT', '-b', '450 4.2.0 <carol@remote.test>: Recipient address rejected: Greylisted'] });
  if (!dns || !mx1) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['carol@remote.test'] });
  const [outcome] = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.match(outcome, {
    status: 'deferred',
    via: 'mx',
    reply: '450 4.2.0 <carol@remote.test>: Recipient address rejected: Greylisted',
    enhancedCode: '4.2.0',
    remoteMta: 'mx1.remote.test',
  }, 'the real 4xx is kept over the refused connection to mx2');
});

t.test('a 5xx to RCPT bounces the recipient with the remote reply', async (t) => {
  const dns = await startDnsmasq(t, twoMx(MX1, MX2));
  const port = await portFreeOnAll([MX1, MX2]);
  const mx1 = await startSmtpSink(t, { host: MX1, port, options: ['-f', 'RCPT', '-B', '550 5.1.1 <carol@remote.test>: Recipient address rejected: User unknown'] });
  const mx2 = await startSmtpSink(t, { host: MX2, port });
  if (!dns || !mx1 || !mx2) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['carol@remote.test'] });
  const [outcome] = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.match(outcome, {
    status: 'bounced',
    reply: '550 5.1.1 <carol@remote.test>: Recipient address rejected: User unknown',
    enhancedCode: '5.1.1',
    remoteMta: 'mx1.remote.test',
    via: 'mx',
  });
  t.equal(mx2.sessions().length, 0, 'a permanent answer is not asked again elsewhere');
});

t.test('a 5xx after DATA bounces every recipient of the message', async (t) => {
  const dns = await startDnsmasq(t, twoMx(MX1, NOBODY));
  const port = await freePort(MX1);
  const mx1 = await startSmtpSink(t, { host: MX1, port, options: ['-f', '.', '-B', '554 5.7.1 Message content rejected'] });
  if (!dns || !mx1) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['carol@remote.test', 'dave@remote.test'] });
  const outcomes = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.same(outcomes.map((o) => [o.address, o.status, o.reply, o.enhancedCode]), [
    ['carol@remote.test', 'bounced', '554 5.7.1 Message content rejected', '5.7.1'],
    ['dave@remote.test', 'bounced', '554 5.7.1 Message content rejected', '5.7.1'],
  ]);
});

t.test('a 421 in the middle of the session defers what was not answered', async (t) => {
  const dns = await startDnsmasq(t, twoMx(MX1, NOBODY));
  const port = await freePort(MX1);
  const mx1 = await startSmtpSink(t, { host: MX1, port, options: ['-Q', 'MAIL', '-b', '421 4.3.2 Service shutting down'] });
  if (!dns || !mx1) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const first = outbound({ recipients: ['carol@remote.test'] });
  const second = outbound({ recipients: ['dave@remote.test'] });
  const result = await agent.deliver('remote.test', [first, second]);
  t.match(result.get(first.queueId), [{ status: 'deferred', enhancedCode: /^4\./, remoteMta: 'mx1.remote.test' }]);
  t.match(result.get(second.queueId), [{ status: 'deferred', enhancedCode: /^4\./ }]);
  t.match(result.get(first.queueId)?.[0]?.reply, /421/);
});

t.test('one connection carries every message for the domain', async (t) => {
  const dns = await startDnsmasq(t, twoMx());
  const port = await freePort(MX1);
  const mx1 = await startSmtpSink(t, { host: MX1, port });
  if (!dns || !mx1) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const messages = [
    outbound({ recipients: ['carol@remote.test', 'dave@remote.test'] }),
    outbound({ sender: '', recipients: ['erin@remote.test'] }),
    outbound({ recipients: ['frank@remote.test'] }),
  ];
  const result = await agent.deliver('remote.test', messages);
  t.same([...result.values()].flat().map((o) => o.status), ['delivered', 'delivered', 'delivered', 'delivered']);
  const sessions = await mx1.ended(1);
  t.equal(sessions.length, 1, 'one SMTP session');
  const mails = sessions[0]?.commands.filter((c) => c.startsWith('MAIL FROM:')) ?? [];
  t.equal(mails.length, 3, 'three transactions on it');
  t.match(mails[1], /^MAIL FROM:<> /, 'the null reverse-path stays null (RFC 5321 4.5.5)');
  t.equal(sessions[0]?.commands.filter((c) => c.startsWith('RCPT TO:')).length, 4);
});

t.test('DSN parameters go along when the server offers DSN (RFC 3461)', async (t) => {
  const dns = await startDnsmasq(t, twoMx());
  const port = await freePort(MX1);
  const mx1 = await startSmtpSink(t, { host: MX1, port });
  if (!dns || !mx1) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({
    ret: 'HDRS',
    envid: 'QQ314159',
    recipients: [
      { address: 'carol@remote.test', dsn: { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;carol@remote.test' } },
      { address: 'dave@remote.test', dsn: { notify: ['NEVER'] } },
      'erin@remote.test',
    ],
  });
  const outcomes = (await agent.deliver('remote.test', [message])).get(message.queueId) ?? [];
  t.same(outcomes.map((o) => o.status), ['delivered', 'delivered', 'delivered']);
  const [session] = await mx1.ended(1);
  const commands = session?.commands ?? [];
  const mails = commands.filter((c) => c.startsWith('MAIL FROM:'));
  t.equal(mails.length, 3, 'recipients with different DSN parameters get a transaction each, on one connection');
  for (const mail of mails) t.match(mail, / RET=HDRS ENVID=QQ314159/);
  t.ok(commands.includes('RCPT TO:<carol@remote.test> NOTIFY=FAILURE,SUCCESS ORCPT=rfc822;carol@remote.test'));
  t.ok(commands.includes('RCPT TO:<dave@remote.test> NOTIFY=NEVER'));
  t.ok(commands.includes('RCPT TO:<erin@remote.test>'));
});

t.test('no MX: the domain itself is the mail host (RFC 5321 5.1)', async (t) => {
  const dns = await startDnsmasq(t, { hosts: [{ name: 'plain.test', addresses: [MX2] }] });
  const port = await freePort(MX2);
  const sink = await startSmtpSink(t, { host: MX2, port });
  if (!dns || !sink) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const message = outbound({ recipients: ['carol@plain.test'] });
  const [outcome] = (await agent.deliver('plain.test', [message])).get(message.queueId) ?? [];
  t.match(outcome, { status: 'delivered', remoteMta: 'plain.test' });
});

t.test('a null MX bounces every recipient at once, without a connection (RFC 7505)', async (t) => {
  // The domain also has an address with a listening server: falling back to the implicit MX would show.
  const dns = await startDnsmasq(t, { nullMx: ['nomail.test'], hosts: [{ name: 'nomail.test', addresses: [MX1] }] });
  const port = await freePort(MX1);
  const sink = await startSmtpSink(t, { host: MX1, port });
  if (!dns || !sink) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(capturedLog().log).deps);
  const messages = [outbound({ recipients: ['carol@nomail.test', 'dave@nomail.test'] }), outbound({ recipients: ['erin@nomail.test'] })];
  const outcomes = [...(await agent.deliver('nomail.test', messages)).values()].flat();
  t.equal(outcomes.length, 3);
  for (const outcome of outcomes) {
    t.match(outcome, { status: 'bounced', enhancedCode: '5.1.10', via: 'mx', reply: /^556 5\.1\.10 .*does not accept mail/ });
  }
  t.equal(sink.sessions().length, 0, 'no connection was attempted');
  t.notOk(dns.queries().some((q) => q.startsWith('A ')), 'no address was even looked up');
});

t.test('NXDOMAIN bounces with 5.1.2; a DNS failure defers with 4.4.3', async (t) => {
  const dns = await startDnsmasq(t, {});
  if (!dns) return;
  const agent = createDeliveryAgent(deliverySettings(dns.server, 2525), deliveryDeps(capturedLog().log).deps);
  const missing = outbound({ recipients: ['carol@missing.test'] });
  t.match((await agent.deliver('missing.test', [missing])).get(missing.queueId), [{ status: 'bounced', enhancedCode: '5.1.2', reply: /NXDOMAIN/ }]);
  // dnsmasq answers REFUSED outside its own domains, as a broken upstream would answer SERVFAIL.
  const broken = outbound({ recipients: ['carol@elsewhere.example'] });
  t.match((await agent.deliver('elsewhere.example', [broken])).get(broken.queueId), [{ status: 'deferred', enhancedCode: '4.4.3' }]);
  t.equal(agent.outboundBlocked, false, 'DNS trouble says nothing about port 25');
});

t.test("each MX's A addresses, then its AAAA addresses (here ::1)", async (t) => {
  const dns = await startDnsmasq(t, {
    mx: [{ domain: 'dual.test', host: 'mx.dual.test', preference: 10 }],
    hosts: [{ name: 'mx.dual.test', addresses: [NOBODY, '::1'] }],
  });
  const port = await freePort('::1');
  const sink = await startSmtpSink(t, { host: '::1', port });
  if (!dns || !sink) return;
  const captured = capturedLog();
  const agent = createDeliveryAgent(deliverySettings(dns.server, port), deliveryDeps(captured.log).deps);
  const message = outbound({ recipients: ['carol@dual.test'] });
  t.match((await agent.deliver('dual.test', [message])).get(message.queueId), [{ status: 'delivered', remoteMta: 'mx.dual.test' }]);
  t.equal((await sink.ended(1)).length, 1);
  const attempts = captured.lines().filter((l) => l.msg === 'MX attempt failed').map((l) => l.mta);
  t.same(attempts, [`mx.dual.test[${NOBODY}]:${port}`], 'the IPv4 address was tried first');
  t.ok(dns.queries().includes('A mx.dual.test') && dns.queries().includes('AAAA mx.dual.test'));
});
