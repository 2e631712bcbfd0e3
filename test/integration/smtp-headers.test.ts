// SMTP in, "what the server writes into a message": a Received trace header on top (RFC 5321 4.4) on
// every port, and on submission only, Message-ID and Date when the client left them out (RFC 6409 8).
import t from 'tap';
import nodemailer from 'nodemailer';
import { ALICE, BOB, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision, passwordOf, type RunningAppliance } from '../helpers/appliance.js';
import { withStore, readMailbox, withoutTrace } from '../helpers/mailbox.js';

function transportFor(app: RunningAppliance, port: 'smtp' | 'submission' | 'smtps') {
  const common = { host: '127.0.0.1', name: 'client.test' }; // `name` is what nodemailer says in EHLO
  const tls = { rejectUnauthorized: false };
  const auth = { user: BOB, pass: passwordOf(BOB) };
  if (port === 'smtp') return nodemailer.createTransport({ ...common, port: app.ports.smtp, secure: false, ignoreTLS: true });
  if (port === 'submission') return nodemailer.createTransport({ ...common, port: app.ports.submission, secure: false, requireTLS: true, tls, auth });
  return nodemailer.createTransport({ ...common, port: app.ports.smtps, secure: true, tls, auth });
}

async function send(app: RunningAppliance, port: 'smtp' | 'submission' | 'smtps', raw: string): Promise<void> {
  const transport = transportFor(app, port);
  await transport.sendMail({ envelope: { from: BOB, to: [ALICE] }, raw });
  transport.close();
}

const bare = (label: string) => `From: <${BOB}>\r\nTo: <${ALICE}>\r\nSubject: ${label}\r\n\r\nbody of ${label}\r\n`;
const complete = (label: string) =>
  `From: <${BOB}>\r\nTo: <${ALICE}>\r\nSubject: ${label}\r\nmessage-id: <${label.replace(/\W/g, '')}@client.test>\r\nDATE: Tue, 7 Jan 2025 08:30:00 +0100\r\n\r\nbody of ${label}\r\n`;

t.test('Received on top everywhere; Message-ID and Date added on submission only, and only when missing', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE, BOB]);
  const cases = [
    { label: 'bare on 25', port: 'smtp', raw: bare('bare on 25'), adds: false },
    { label: 'complete on 25', port: 'smtp', raw: complete('complete on 25'), adds: false },
    { label: 'bare on 587', port: 'submission', raw: bare('bare on 587'), adds: true },
    { label: 'complete on 587', port: 'submission', raw: complete('complete on 587'), adds: false },
    { label: 'bare on 465', port: 'smtps', raw: bare('bare on 465'), adds: true },
    { label: 'complete on 465', port: 'smtps', raw: complete('complete on 465'), adds: false },
    // A message relayed to us already carries trace headers; ours goes above them.
    { label: 'relayed on 25', port: 'smtp', raw: `Received: from elsewhere.test by mx.remote.test; Mon, 6 Jan 2025 10:00:00 +0000\r\n${bare('relayed on 25')}`, adds: false },
  ] as const;
  const before = Date.now();
  for (const c of cases) await send(app, c.port, c.raw);
  t.equal(await app.stop(), 0);

  const stored = await withStore(app.dataDir, async (store) => readMailbox(store, ALICE));
  t.equal(stored.length, cases.length);
  cases.forEach((c, i) => {
    const bytes = stored[i]!.bytes.toString();
    const received = /^Received: (.*(?:\r\n[ \t].*)*)\r\n/.exec(bytes)?.[1] ?? '';
    t.match(received, /^from client\.test \(\[127\.0\.0\.1\]\)/, `${c.label}: Received names the client's EHLO and address`);
    t.match(received, /\r\n\tby mx\.letterbox\.test \(Letterbox\) with ESMTP/, `${c.label}: Received names us`);
    t.match(received, /for <alice@letterbox\.test>;/, `${c.label}: and the one recipient`);
    t.ok(!Number.isNaN(Date.parse(received.split(';').pop()!.trim())), `${c.label}: Received ends in a date`);
    if (c.port !== 'smtp') t.match(received, /with ESMTPSA \(TLSv1\.[23] /, `${c.label}: logged in over TLS`);

    const rest = withoutTrace(stored[i]!.bytes).toString();
    if (!c.adds) {
      t.equal(rest, c.raw, `${c.label}: the client's bytes are untouched`);
      return;
    }
    const [headers, body] = [c.raw.slice(0, c.raw.indexOf('\r\n\r\n') + 2), c.raw.slice(c.raw.indexOf('\r\n\r\n') + 2)];
    t.ok(rest.startsWith(headers) && rest.endsWith(body), `${c.label}: the client's headers and body are kept as sent`);
    const added = rest.slice(headers.length, rest.length - body.length);
    const match = /^Message-ID: (<[^<>@\s]+@mx\.letterbox\.test>)\r\nDate: ([^\r\n]+)\r\n$/.exec(added);
    t.ok(match, `${c.label}: exactly Message-ID and Date were added at the end of the header: ${JSON.stringify(added)}`);
    const date = Date.parse(match?.[2] ?? '');
    t.ok(date >= before - 2_000 && date <= Date.now() + 2_000, `${c.label}: Date is the time of submission (${match?.[2]})`);
  });
  const ids = cases.map((c, i) => (c.adds ? /\r\nMessage-ID: (.*)\r\n/.exec(withoutTrace(stored[i]!.bytes).toString())?.[1] : null)).filter(Boolean);
  t.equal(new Set(ids).size, ids.length, 'each added Message-ID is new');
});
