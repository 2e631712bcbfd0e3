// SMTP in, "it arrives": nodemailer and swaks send to every port in every way a client logs in, and
// the INBOX holds exactly the bytes that were sent (with our Received header on top).
import t from 'tap';
import nodemailer from 'nodemailer';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALICE, BOB, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision, passwordOf, type RunningAppliance } from '../helpers/appliance.js';
import { withStore, readMailbox, withoutTrace } from '../helpers/mailbox.js';
import { needPeer } from '../helpers/peers.js';
import { swaks } from '../helpers/smtp.js';

// A slow file (issue 16): about 8 s in a quiet run of the suite, 48 s beside two busy loops and other
// work: near or over the suite's default time-out of 60 s (package.json). A hang still ends well before 300 s.
t.setTimeout(180_000);

/**
 * A message with its own Message-ID and Date (so submission adds nothing), 8-bit text, lines that
 * start with a dot, and a body longer than one store chunk (64 KiB) so chunk boundaries are crossed.
 */
function rawMessage(label: string, from: string): string {
  const filler = Array.from({ length: 1200 }, (_, i) => `${label} line ${i} ${'abcdefghij'.repeat(6)}\r\n`).join('');
  return (
    `From: <${from}>\r\nTo: Alice <${ALICE}>\r\nSubject: ${label}\r\n` +
    `Message-ID: <${label.replace(/\W/g, '-')}@client.test>\r\nDate: Mon, 6 Jan 2025 10:00:00 +0000\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n` +
    `Grüße aus Köln, ${label}\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\n` +
    filler +
    'the end\r\n'
  );
}

/** The INBOX's messages as the client sent them (our Received header taken off). */
async function inbox(app: RunningAppliance, user: string): Promise<Buffer[]> {
  return withStore(app.dataDir, async (store) => (await readMailbox(store, user)).map((m) => withoutTrace(m.bytes)));
}

t.test('nodemailer: port 25, 587 (STARTTLS + PLAIN / LOGIN) and 465 deliver byte for byte', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE, BOB]);
  const tls = { rejectUnauthorized: false };
  const auth = { user: BOB, pass: passwordOf(BOB) };
  const routes = [
    { label: 'nodemailer port 25', from: 'someone@remote.test', options: { port: app.ports.smtp, secure: false, ignoreTLS: true } },
    { label: 'nodemailer port 587 PLAIN', from: BOB, options: { port: app.ports.submission, secure: false, requireTLS: true, tls, auth, authMethod: 'PLAIN' } },
    { label: 'nodemailer port 587 LOGIN', from: BOB, options: { port: app.ports.submission, secure: false, requireTLS: true, tls, auth, authMethod: 'LOGIN' } },
    { label: 'nodemailer port 465', from: BOB, options: { port: app.ports.smtps, secure: true, tls, auth } },
  ];
  const sent: string[] = [];
  for (const route of routes) {
    const raw = rawMessage(route.label, route.from);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', ...route.options });
    const info = await transport.sendMail({ envelope: { from: route.from, to: [ALICE] }, raw });
    transport.close();
    t.match(info.response, /^250 2\.6\.0 /, `${route.label}: accepted`);
    sent.push(raw);
  }
  t.equal(await app.stop(), 0);
  const stored = await inbox(app, ALICE);
  t.equal(stored.length, sent.length, 'one message per send in the INBOX');
  sent.forEach((raw, i) => t.ok(stored[i]?.equals(Buffer.from(raw)), `${routes[i]!.label}: stored bytes equal the sent bytes`));
  t.same(await inbox(app, BOB), [], 'nothing went to the sender');
});

t.test('swaks: port 25, 587 (STARTTLS + PLAIN / LOGIN) and 465 deliver byte for byte', async (t) => {
  const swaksPath = needPeer({ skip: (reason) => void t.skip(reason, () => undefined), fail: (reason) => void t.fail(reason) }, 'swaks', 'swaks');
  if (!swaksPath) return;
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE, BOB]);
  const login = ['--auth-user', BOB, '--auth-password', passwordOf(BOB)];
  const routes = [
    { label: 'swaks port 25', from: 'someone@remote.test', args: ['--port', String(app.ports.smtp)] },
    { label: 'swaks port 587 PLAIN', from: BOB, args: ['--port', String(app.ports.submission), '--tls', '--auth', 'PLAIN', ...login] },
    { label: 'swaks port 587 LOGIN', from: BOB, args: ['--port', String(app.ports.submission), '--tls', '--auth', 'LOGIN', ...login] },
    { label: 'swaks port 465', from: BOB, args: ['--port', String(app.ports.smtps), '--tls-on-connect', '--auth', 'PLAIN', ...login] },
  ];
  const sent: string[] = [];
  for (const [i, route] of routes.entries()) {
    const raw = rawMessage(route.label, route.from);
    const file = join(app.dataDir, `message-${i}.eml`);
    // With --no-data-fixup swaks sends the file as it is and then CRLF, so the file holds the wire
    // form: dot-stuffed (RFC 5321 4.5.2) and ending in the lone dot.
    writeFileSync(file, `${raw.replace(/^\./gm, '..')}.`);
    const result = await swaks(swaksPath, [...route.args, '--from', route.from, '--to', ALICE, '--data', `@${file}`, '--no-data-fixup']);
    t.equal(result.code, 0, `${route.label}: swaks succeeded`);
    if (route.from === BOB) t.match(result.transcript, /^<~ +235 /m, `${route.label}: logged in over TLS`);
    t.match(result.transcript, /^<[-~] +250 2\.6\.0 /m, `${route.label}: DATA got 250 2.6.0`);
    sent.push(raw);
  }
  t.equal(await app.stop(), 0);
  const stored = await inbox(app, ALICE);
  t.equal(stored.length, sent.length, 'one message per send in the INBOX');
  sent.forEach((raw, i) => t.ok(stored[i]?.equals(Buffer.from(raw)), `${routes[i]!.label}: stored bytes equal the sent bytes`));
});
