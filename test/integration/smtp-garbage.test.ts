// SMTP in, "nonsense does no harm": binary garbage, over-long lines, HTTP and plaintext on a TLS port
// get a 5xx reply or a closed connection, and the server goes on taking mail afterwards.
import t, { type Test } from 'tap';
import nodemailer from 'nodemailer';
import { connect } from 'node:net';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision, type RunningAppliance } from '../helpers/appliance.js';
import { withStore, readMailbox } from '../helpers/mailbox.js';
import { SmtpClient, type Reply } from '../helpers/smtp.js';

/** Deterministic noise (a linear congruential generator), so a failure can be replayed. */
function noise(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

/** Sends `input`, waits until the server closes, and returns what it said on the way. */
async function feed(client: SmtpClient, input: Buffer | string): Promise<Reply[]> {
  client.write(input);
  // End with QUIT on a line of its own so a server that merely ignores the noise closes too.
  client.write('\r\nQUIT\r\n');
  if (!(await client.closedWithin(30_000))) {
    client.destroy();
    throw new Error(`the server did not close the connection within 30 s; it said: ${client.drain().map((r) => r.raw).join(' | ')}`);
  }
  return client.drain();
}

/** Nothing but refusals, then at most a closing 421 or the 221 to QUIT. */
function onlyRefusals(t: Test, replies: Reply[], what: string): void {
  const last = replies[replies.length - 1];
  const before = last && (last.code === 221 || last.code === 421) ? replies.slice(0, -1) : replies;
  const accepted = before.filter((r) => r.code < 500);
  t.same(accepted.map((r) => r.raw), [], `${what}: no reply but 5xx before the connection ends`);
}

async function sendNormal(app: RunningAppliance, subject: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: app.ports.smtp, secure: false, ignoreTLS: true });
  const info = await transport.sendMail({ envelope: { from: 'sender@remote.test', to: [ALICE] }, raw: `Subject: ${subject}\r\n\r\nhello\r\n` });
  transport.close();
  if (!/^250 /.test(info.response)) throw new Error(`not accepted: ${info.response}`);
}

t.test('garbage gets 5xx or a closed connection, and mail still flows', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);

  for (const seed of [1, 2, 3]) {
    const client = await SmtpClient.connect(app.ports.smtp);
    onlyRefusals(t, await feed(client, noise(8192, seed)), `binary noise, seed ${seed}`);
  }

  const afterEhlo = await SmtpClient.connect(app.ports.smtp);
  await afterEhlo.ehlo();
  await afterEhlo.command('MAIL FROM:<sender@remote.test>');
  onlyRefusals(t, await feed(afterEhlo, Buffer.concat([Buffer.from('RCPT TO:<'), noise(300, 4), Buffer.from('>\r\n')])), 'noise inside a transaction');

  const longLine = await SmtpClient.connect(app.ports.smtp);
  onlyRefusals(t, await feed(longLine, `EHLO ${'a'.repeat(20_000)}\r\n`), 'a 20 kB command line');
  t.ok(longLine.isClosed, 'the over-long line closes the connection');

  const endless = await SmtpClient.connect(app.ports.smtp);
  onlyRefusals(t, await feed(endless, 'x'.repeat(1024 * 1024)), '1 MB without a line break');

  const longArgument = await SmtpClient.connect(app.ports.smtp);
  await longArgument.ehlo();
  t.match((await longArgument.command(`MAIL FROM:<${'a'.repeat(5000)}@remote.test>`)).raw, /^5\d\d /, 'a 5 kB address is refused');
  t.match((await longArgument.command(`EHLO ${'h'.repeat(400)}.test`)).raw, /^5\d\d /, 'a 400-character EHLO name is refused');
  await longArgument.quit();

  const http = await SmtpClient.connect(app.ports.smtp);
  onlyRefusals(t, await feed(http, 'POST / HTTP/1.1\r\nHost: mx.letterbox.test\r\nContent-Length: 4\r\n\r\nQUIT\r\n'), 'an HTTP request');

  // Plaintext where TLS is expected: on 465 from the first byte, on 587 right after STARTTLS.
  const plaintextOn465 = await new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: app.ports.smtps });
    let said = '';
    socket.on('data', (chunk) => (said += chunk.toString('latin1')));
    socket.on('connect', () => socket.write('EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\n'));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(said));
  });
  t.notMatch(plaintextOn465, /^2\d\d/m, 'plaintext on 465: no SMTP conversation, the connection is closed');
  const notTls = await SmtpClient.connect(app.ports.submission);
  await notTls.ehlo();
  t.equal((await notTls.command('STARTTLS')).code, 220);
  onlyRefusals(t, await feed(notTls, 'EHLO client.test\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n'), 'plaintext after STARTTLS');

  const tooEarly = await new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: app.ports.smtp });
    let said = '';
    socket.on('data', (chunk) => (said += chunk.toString('latin1')));
    socket.on('connect', () => socket.write('EHLO spammer.test\r\nMAIL FROM:<a@remote.test>\r\n'));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(said));
  });
  t.match(tooEarly, /^421 /m, 'talking before the greeting gets 421 (RFC 5321 4.3.1)');
  t.notMatch(tooEarly, /^250 /m, 'and nothing is accepted');

  await sendNormal(app, 'after the noise');
  // The same on the TLS ports, which share nothing with port 25 but the process.
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: app.ports.smtps, secure: true, tls: { rejectUnauthorized: false } });
  t.ok(await transport.verify().catch(() => false), '465 still completes a TLS handshake and greets');
  transport.close();

  t.equal(await app.stop(), 0, 'the process is alive and stops cleanly');
  await withStore(app.dataDir, async (store) => {
    const mails = await readMailbox(store, ALICE);
    t.same(
      mails.map((m) => /Subject: (.*)\r\n/.exec(m.bytes.toString())?.[1]),
      ['after the noise'],
      'only the normal message was stored',
    );
  });
});
