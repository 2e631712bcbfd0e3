// SMTP in, "one client cannot take the box": recipients per message (RFC 5321 4.5.3.1.8 asks for at
// least 100) and simultaneous connections per client address are bounded, with temporary replies.
import t from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision } from '../helpers/appliance.js';
import { withStore, readMailbox } from '../helpers/mailbox.js';
import { SmtpClient } from '../helpers/smtp.js';

t.test('the 101st recipient gets 452 4.5.3; the first 100 get the message', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);
  t.equal((await app.cli(['alias', 'add', '@letterbox.test', ALICE])).code, 0, 'catch-all, so every address is a recipient');

  const client = await SmtpClient.connect(app.ports.smtp);
  await client.ehlo();
  // Pipelined (RFC 2920), as a mailing-list server would send them.
  const rcpts = Array.from({ length: 101 }, (_, i) => `RCPT TO:<member${i + 1}@letterbox.test>\r\n`);
  client.write(`MAIL FROM:<list@remote.test>\r\n${rcpts.join('')}`);
  t.match((await client.reply()).raw, /^250 /);
  const replies = [];
  for (let i = 0; i < 101; i++) replies.push(await client.reply());
  t.ok(replies.slice(0, 100).every((r) => /^250 2\.1\.5 /.test(r.raw)), 'recipients 1-100 are accepted');
  t.match(replies[100]?.raw, /^452 4\.5\.3 /, 'the 101st is deferred (RFC 5321 4.5.3.1.10)');
  t.match((await client.command('DATA')).raw, /^354 /);
  t.match((await client.command('Subject: to many\r\n\r\nhello\r\n.')).raw, /^250 2\.6\.0 /, 'the message goes to the 100');
  await client.quit();
  t.equal(await app.stop(), 0);
  await withStore(app.dataDir, async (store) => {
    t.equal((await readMailbox(store, ALICE)).length, 1, 'one copy for the one mailbox behind the catch-all');
  });
});

t.test('with maxConnectionsPerClient 2, a third connection gets 421 4.7.0 on any port', async (t) => {
  // At debug level the server logs each connection it takes and each one it lets go.
  const app = await startAppliance({ config: { smtp: { maxConnectionsPerClient: 2 }, log: { level: 'debug' } } });
  t.teardown(() => app.cleanup());

  const first = await SmtpClient.connect(app.ports.smtp);
  const second = await SmtpClient.connect(app.ports.submission);
  t.match(first.greeting.raw, /^220 mx\.letterbox\.test /);
  t.match(second.greeting.raw, /^220 mx\.letterbox\.test /);

  const third = await SmtpClient.connect(app.ports.smtp);
  t.match(third.greeting.raw, /^421 4\.7\.0 /, '25: the third connection is turned away');
  t.ok(await third.closedWithin(), '25: and closed by the server');
  // On 465 nothing can be said before TLS, and a handshake is what an over-limit address must not get.
  await t.rejects(SmtpClient.connect(app.ports.smtps, { implicitTls: true }), '465: the third connection is closed before the handshake');
  t.match((await first.command('NOOP')).raw, /^250 /, 'the first two are untouched');
  t.match((await second.command('NOOP')).raw, /^250 /);

  // A slot comes free when a client leaves; the server notices the close a moment after the client,
  // so the test waits for the server to say it let that connection go.
  const taken = await app.waitForLog((entry) => entry.msg === 'connected' && entry.port === app.ports.smtp, 'connected on 25');
  await first.quit();
  await app.waitForLog((entry) => entry.msg === 'disconnected' && entry.cid === taken.cid, `disconnected (${String(taken.cid)})`);
  const again = await SmtpClient.connect(app.ports.smtp);
  t.match(again.greeting.raw, /^220 /, 'after one leaves, a new connection is welcome');
  await again.quit();
  await second.quit();
});
