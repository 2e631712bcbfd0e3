// SMTP in, "stopping loses nothing": on SIGTERM idle clients are told 421 at once (RFC 5321 3.8) and
// the process exits 0, while a client in the middle of DATA may finish and gets its 250 for a message
// that is really stored.
import t from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision, type RunningAppliance } from '../helpers/appliance.js';
import { withStore, readMailbox, withoutTrace } from '../helpers/mailbox.js';
import { bigMessage } from '../helpers/messages.js';
import { SmtpClient } from '../helpers/smtp.js';

/**
 * Sends SIGTERM and waits until the process has logged that it is stopping. The exit code comes
 * wrapped: an async function returning a bare promise would wait for the exit itself.
 */
async function terminate(app: RunningAppliance): Promise<{ exited: Promise<number | null> }> {
  const exited = new Promise<number | null>((resolve) => app.child.once('exit', (code) => resolve(code)));
  app.child.kill('SIGTERM');
  await app.waitForLog((entry) => entry.msg === 'stopping', "'stopping'");
  return { exited };
}

t.test('SIGTERM: an idle client gets 421 from us at once and the process exits 0', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  const idle = await SmtpClient.connect(app.ports.smtp);
  await idle.ehlo();
  const secureIdle = await SmtpClient.connect(app.ports.smtps, { implicitTls: true });

  const { exited } = await terminate(app);
  // Our own 421 (4.3.2), not the one smtp-server sends when the grace period runs out.
  t.match((await idle.reply()).raw, /^421 4\.3\.2 /, 'the idle client is told the service is going away');
  t.match((await secureIdle.reply()).raw, /^421 4\.3\.2 /, 'so is the one on 465');
  t.ok(await idle.closedWithin(), 'and the connection is closed by the server');
  t.ok(await secureIdle.closedWithin(), 'so is the one on 465');
  t.equal(await exited, 0, 'the process exits 0');
});

t.test('SIGTERM during DATA: the client still gets 250, the message is stored, the process exits 0', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);

  const client = await SmtpClient.connect(app.ports.smtp);
  await client.ehlo();
  t.match((await client.command('MAIL FROM:<sender@remote.test>')).raw, /^250 /);
  t.match((await client.command(`RCPT TO:<${ALICE}>`)).raw, /^250 /);
  t.match((await client.command('DATA')).raw, /^354 /);
  const message = bigMessage('sender@remote.test', ALICE, 150_000);
  const half = message.indexOf('\r\n', message.length / 2) + 2;
  client.write(message.slice(0, half));
  const idle = await SmtpClient.connect(app.ports.smtp);

  const { exited } = await terminate(app);
  t.match((await idle.reply()).raw, /^421 /, 'an idle client next to it is sent away');
  const late = await SmtpClient.connect(app.ports.smtp).then(
    (c) => c.greeting.raw,
    () => 'refused',
  );
  t.match(late, /^(refused|421 )/, 'no new connection is taken in while stopping');

  client.write(`${message.slice(half)}.\r\n`);
  t.match((await client.reply()).raw, /^250 2\.6\.0 /, 'the message in flight is accepted');
  t.ok(await client.closedWithin(), 'then the server closes that connection too');
  t.equal(await exited, 0, 'the process exits 0');

  await withStore(app.dataDir, async (store) => {
    t.equal(store.swept, 0, 'nothing half-written was left');
    const mails = await readMailbox(store, ALICE);
    t.equal(mails.length, 1, 'the message is in the INBOX');
    t.equal(withoutTrace(mails[0]!.bytes).toString(), message, 'whole');
  });
});
