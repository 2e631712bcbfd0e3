// The conversation clock (src/delivery/deadlines.ts) fed nodemailer's transaction log by hand: which wait
// runs out is what the failure says, so these check that the clock keeps its place in the conversation,
// pipelined commands included (RFC 2920), with deadlines of milliseconds.
import t from 'tap';
import { ConversationClock, type Expiry } from '../../src/delivery/deadlines.js';

// The clock's timers do not hold the process (a real session's socket does): this does, meanwhile.
const keepAlive = setInterval(() => {}, 1000);
t.teardown(() => clearInterval(keepAlive));

const DEADLINES = { greetingTimeoutMs: 40, replyTimeoutMs: 40, minDataRate: 1_000_000, finalReplyTimeoutMs: 60 };

function clock(implicitTls = false) {
  let expired: (expiry: Expiry) => void = () => {};
  const expiry = new Promise<Expiry>((resolve) => (expired = resolve));
  const subject = new ConversationClock(DEADLINES, (e) => expired(e), implicitTls);
  const { debug, info } = subject.transcript as Required<typeof subject.transcript>;
  return {
    subject,
    expiry,
    sent: (line: string) => debug({ tnx: 'client' }, line),
    answered: (reply: string) => debug({ tnx: 'server' }, reply),
    connected: () => info({ tnx: 'network' }, '%s established to %s:%s', 'Secure connection', '127.0.0.1', 25),
    bodySent: () => info({ tnx: 'message' }, '<%s bytes encoded mime message (source size %s bytes)>', 10, 10),
  };
}

t.test('a greeting that never comes', async (t) => {
  const c = clock();
  t.match(await c.expiry, { doing: 'waiting for the greeting', allowedMs: 40, handshake: false });
});

t.test('implicit TLS: the handshake first, then the greeting', async (t) => {
  const handshake = clock(true);
  t.match(await handshake.expiry, { doing: 'waiting for the TLS handshake', handshake: true });
  const greeting = clock(true);
  greeting.connected();
  t.match(await greeting.expiry, { doing: 'waiting for the greeting' });
});

t.test('pipelined MAIL, RCPT, RCPT, DATA: the first reply not yet in is the one named', async (t) => {
  const c = clock();
  c.answered('220 hi');
  c.sent('EHLO me');
  c.answered('250-hi\n250 PIPELINING');
  for (const line of ['MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'RCPT TO:<e@f>', 'DATA']) c.sent(line);
  c.answered('250 2.1.0 Ok');
  c.answered('250 2.1.5 Ok');
  t.match(await c.expiry, { doing: 'waiting for the reply to RCPT', allowedMs: 40 });
});

t.test('after 354 the body, after the body the reply to the final dot', async (t) => {
  const c = clock();
  c.answered('220 hi');
  for (const line of ['MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA']) c.sent(line);
  c.answered('250 Ok');
  c.answered('250 Ok');
  c.answered('354 go on');
  c.bodySent();
  t.match(await c.expiry, { doing: 'waiting for the reply to the end of the message', allowedMs: 60 });
});

t.test('a body that does not go out in time; the allowance grows with its size', async (t) => {
  const c = clock();
  c.subject.messageSize = 20_000;
  c.answered('220 hi');
  c.sent('DATA');
  c.answered('354 go on');
  // 40 ms, and 20 ms for 20,000 bytes at 1,000,000 bytes a second.
  t.match(await c.expiry, { doing: 'sending the message', allowedMs: 60 });
});

t.test('STARTTLS: the handshake after 220, then EHLO again; a SASL exchange counts as AUTH', async (t) => {
  const tls = clock();
  tls.answered('220 hi');
  tls.sent('STARTTLS');
  tls.answered('220 go ahead');
  t.match(await tls.expiry, { doing: 'waiting for the TLS handshake', handshake: true });
  const auth = clock();
  auth.answered('220 hi');
  auth.sent('AUTH LOGIN');
  auth.answered('334 VXNlcm5hbWU6');
  auth.sent('Ym94QGV4YW1wbGUudGVzdA==');
  t.match(await auth.expiry, { doing: 'waiting for the reply to AUTH' });
});

t.test('stopped, or with nothing owed, it never fires', async (t) => {
  const stopped = clock();
  stopped.subject.stop();
  const idle = clock();
  idle.answered('220 hi');
  const sentinel = clock();
  const first = await Promise.race([stopped.expiry.then(() => 'stopped'), idle.expiry.then(() => 'idle'), sentinel.expiry.then(() => 'sentinel')]);
  t.equal(first, 'sentinel', 'a clock still waiting for its greeting fired first');
});
