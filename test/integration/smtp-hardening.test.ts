// What a hostile client found on the SMTP side (issue 6), each now answered as the RFCs and the best
// servers do: a forged From: on submission refused, AUTH before STARTTLS told to start TLS, weak TLS 1.2
// suites and old TLS versions refused, `RCPT TO:<postmaster>` accepted, one "ESMTP" in the greeting,
// and mailbox passwords held to a minimum and a maximum, with or without the service running. Also
// issue 15's impossible domain (a 64-character label) refused at RCPT on submission.
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import nodemailer from 'nodemailer';
import t from 'tap';
import { passwordOf, provision, startAppliance } from '../helpers/appliance.js';
import { readMailbox, withStore } from '../helpers/mailbox.js';
import { SmtpClient } from '../helpers/smtp.js';

// Five appliances, one after another.
t.setTimeout(180_000);

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

t.test('submission: From: and Sender: must be the user\'s own addresses', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, ['example.com'], [ALICE, BOB]);
  t.equal((await app.cli(['alias', 'add', 'sales@example.com', ALICE])).code, 0);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: app.ports.submission, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: ALICE, pass: passwordOf(ALICE) } });
  t.teardown(() => transport.close());
  const send = (headers: string) =>
    transport.sendMail({ envelope: { from: ALICE, to: [BOB] }, raw: `${headers}To: ${BOB}\r\nSubject: s\r\n\r\nbody\r\n` }).then(
      (info) => info.response,
      (err: { response?: string }) => err.response ?? String(err),
    );
  t.match(await send('From: "The Boss" <bob@example.com>\r\n'), /^553 5\.7\.1 <bob@example\.com>: From: or Sender: address not owned by user alice@example\.com/, 'a colleague\'s From: is refused');
  t.match(await send(`From: alice@example.com\r\nSender: ${BOB}\r\n`), /^553 5\.7\.1 <bob@example\.com>/, 'so is a colleague\'s Sender:');
  t.match(await send('From: Team: alice@example.com, bob@example.com;\r\n'), /^553 5\.7\.1 <bob@example\.com>/, 'and one in a group');
  t.match(await send('From: bob@example.com (alice@example.com)\r\n'), /^553 5\.7\.1 <bob@example\.com>/, 'a comment does not hide the address');
  t.match(await send('From: "Alice" <alice+news@example.com>\r\n'), /^250 /, 'her own address, with a +detail');
  t.match(await send('From: Sales <sales@example.com>\r\nSender: alice@example.com\r\n'), /^250 /, 'an alias that reaches her');
  // Issue 15: a name DNS could never hold is refused at RCPT, not queued and retried for days.
  const impossible = `carol@${'a'.repeat(64)}.test`;
  const refused = await transport.sendMail({ envelope: { from: ALICE, to: [impossible] }, raw: `From: ${ALICE}\r\nSubject: s\r\n\r\nbody\r\n` }).then(
    (info) => info.response,
    (err: { response?: string }) => err.response ?? String(err),
  );
  t.match(refused, /^501 5\.1\.3 <carol@a{64}\.test>: Recipient address rejected: its domain cannot exist/, 'a 64-character label is refused at RCPT');
  t.equal((await app.cli(['queue', 'list', '--json'])).stdout.trim(), '[]', 'and nothing was queued');
  await app.stop();
  const inbox = await withStore(app.dataDir, (store) => readMailbox(store, BOB));
  t.equal(inbox.length, 2, 'only the two allowed messages reached bob');
});

t.test('587: AUTH before STARTTLS is 530 5.7.0; port 25 has no AUTH; the greeting says ESMTP once', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  const submission = await SmtpClient.connect(app.ports.submission);
  t.teardown(() => submission.quit());
  t.match(submission.greeting.raw, /^220 mx\.letterbox\.test ESMTP Letterbox$/);
  const ehlo = await submission.ehlo();
  t.notOk(ehlo.lines.some((l) => l.startsWith('AUTH')), 'AUTH is not offered before TLS');
  t.match((await submission.authPlain(ALICE, 'whatever1')).raw, /^530 5\.7\.0 Must issue a STARTTLS command first$/);
  const mx = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => mx.quit());
  await mx.ehlo();
  t.match((await mx.authPlain(ALICE, 'whatever1')).raw, /^5\d\d /, 'port 25: refused, not told to start TLS');
  t.notMatch((await mx.authPlain(ALICE, 'whatever1')).raw, /STARTTLS/);
});

/** Whether a TLS handshake with these client options completes on port 465. */
function handshake(port: number, options: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      resolve(`ok ${socket.getProtocol()} ${socket.getCipher().name}`);
      socket.end();
    });
    socket.once('error', (err) => resolve(`refused: ${err.message}`));
  });
}

t.test('TLS: 1.2 only with forward-secret AEAD suites, and 1.3', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  const port = app.ports.smtps;
  t.match(await handshake(port, {}), /^ok TLSv1\.3 /);
  t.match(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), /^ok TLSv1\.2 ECDHE-ECDSA-AES128-GCM-SHA256/);
  t.match(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' }), /^ok TLSv1\.2 /);
  for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-CCM8', 'AES128-GCM-SHA256']) {
    t.match(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: cipher }), /^refused/, `${cipher} refused`);
  }
  t.match(await handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), /^refused/, 'TLS 1.1 refused');
});

t.test('RCPT TO:<postmaster> without a domain reaches the postmaster (RFC 5321 4.5.1)', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, ['example.com'], [ALICE]);
  const client = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => client.quit());
  await client.ehlo();
  const replies = await client.transaction('someone@elsewhere.test', ['Postmaster'], 'Subject: hello postmaster\r\n\r\nhi\r\n');
  t.same(replies.map((r) => r.code), [250, 250, 354, 250]);
  await client.quit();
  await app.stop();
  const inbox = await withStore(app.dataDir, (store) => readMailbox(store, ALICE));
  t.match(inbox[0]?.bytes.toString(), /Subject: hello postmaster/, 'the first mailbox of the domain has it');
});

t.test('mailbox passwords: at least 8 characters besides spaces, at most 1024 bytes, with or without serve', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, ['example.com'], []);
  const tries = async () => ({
    spaces: await app.cli(['user', 'add', 'a@example.com', '--password-stdin'], ' '.repeat(12) + '\n'),
    padded: await app.cli(['user', 'add', 'b@example.com', '--password-stdin'], '  short1  \n'),
    huge: await app.cli(['user', 'add', 'c@example.com', '--password-stdin'], 'x'.repeat(20 * 1024 * 1024) + '\n'),
  });
  for (const running of [true, false]) {
    if (!running) await app.stop();
    const { spaces, padded, huge } = await tries();
    const label = running ? 'through the service' : 'on the store';
    t.equal(spaces.code, 2, `${label}: only spaces refused`);
    t.match(spaces.stderr, /a password needs at least 8 characters besides spaces/);
    t.equal(padded.code, 2, `${label}: spaces around a short one do not count`);
    t.equal(huge.code, 2, `${label}: 20 MB refused`);
    t.match(huge.stderr, /a password can have at most 1024 bytes/);
  }
  const ok = await app.cli(['user', 'add', 'd@example.com', '--password-stdin'], 'a sound passphrase\n');
  t.equal(ok.code, 0, ok.stderr);
});
