// SMTP in, "one client cannot take the box": recipients per message (RFC 5321 4.5.3.1.8 asks for at
// least 100) and simultaneous connections per client address are bounded, with temporary replies.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAppliance, provision } from '../helpers/appliance.js';
import { withStore, readMailbox } from '../helpers/mailbox.js';
import { SmtpClient } from '../helpers/smtp.js';

const ALICE = 'alice@letterbox.test';

t.test('the 101st recipient gets 452 4.5.3; the first 100 get the message', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, ['letterbox.test'], [ALICE]);
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
  const app = await startAppliance({ config: { smtp: { maxConnectionsPerClient: 2 } } });
  t.teardown(() => app.cleanup());

  const first = await SmtpClient.connect(app.ports.smtp);
  const second = await SmtpClient.connect(app.ports.submission);
  t.match(first.greeting.raw, /^220 mx\.letterbox\.test /);
  t.match(second.greeting.raw, /^220 mx\.letterbox\.test /);

  for (const [name, port, implicitTls] of [['25', app.ports.smtp, false], ['465', app.ports.smtps, true]] as const) {
    const third = await SmtpClient.connect(port, { implicitTls });
    t.match(third.greeting.raw, /^421 4\.7\.0 /, `${name}: the third connection is turned away`);
    await third.closed;
    t.pass(`${name}: and closed by the server`);
  }
  t.match((await first.command('NOOP')).raw, /^250 /, 'the first two are untouched');
  t.match((await second.command('NOOP')).raw, /^250 /);

  // A slot comes free when a client leaves; the server notices the close a moment after the client.
  await first.quit();
  let again = await SmtpClient.connect(app.ports.smtp);
  for (let tries = 0; again.greeting.code === 421 && tries < 50; tries++) {
    await again.closed;
    await sleep(100);
    again = await SmtpClient.connect(app.ports.smtp);
  }
  t.match(again.greeting.raw, /^220 /, 'after one leaves, a new connection is welcome');
  await again.quit();
  await second.quit();
});
