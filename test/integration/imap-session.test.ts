// IMAP sessions against the real appliance (`node dist/cli.js serve`) with real clients: imapflow
// (compressed with COMPRESS=DEFLATE, as it asks by itself) over STARTTLS-less loopback and over TLS,
// Python's imaplib; IDLE hearing a message appended by another session and one delivered through SMTP.
import { execFile } from 'node:child_process';
import t from 'tap';
import { ImapFlow } from 'imapflow';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { passwordOf, provision, startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { RawImap } from '../helpers/imap-raw.js';
import { SmtpClient } from '../helpers/smtp.js';
import { waitUntil } from '../helpers/wait.js';

let app: RunningAppliance;

t.before(async () => {
  app = await startAppliance();
  await provision(app, [DOMAIN], [ALICE]);
});
t.teardown(() => app?.cleanup());

function flow(options: { tls?: boolean; compress?: boolean } = {}): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: options.tls ? app.ports.imaps : app.ports.imap,
    secure: options.tls ?? false,
    // Loopback may log in without TLS: that is what is tested on the plain port.
    doSTARTTLS: false,
    tls: { rejectUnauthorized: false },
    auth: { user: ALICE, pass: passwordOf(ALICE) },
    disableCompression: options.compress === false,
    logger: false,
  });
}

const message = (subject: string) => `From: bob@${DOMAIN}\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@test>\r\n\r\nHello.\r\n`;

t.test('imapflow over implicit TLS, compressed: capabilities, LIST, SELECT, APPEND, FETCH', async (t) => {
  const client = flow({ tls: true });
  await client.connect();
  t.teardown(() => client.logout().catch(() => {}));
  t.ok(client.capabilities.has('IDLE'));
  t.ok(client.capabilities.has('CONDSTORE'));
  // imapflow keeps no public flag for it; its deflate stream is there once COMPRESS succeeded.
  t.ok((client as unknown as { _deflate?: unknown })._deflate, 'imapflow turned COMPRESS DEFLATE on');
  const folders = (await client.list()).map((f) => f.path).sort();
  t.strictSame(folders, ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
  const appended = await client.append('Drafts', message('draft one'), ['\\Draft']);
  t.ok(appended && appended.uid, 'APPENDUID');
  const mailbox = await client.mailboxOpen('Drafts');
  t.equal(mailbox.exists, 1);
  const fetched = await client.fetchOne('1', { envelope: true, flags: true });
  t.equal(fetched && fetched.envelope?.subject, 'draft one');
  t.ok(fetched && fetched.flags?.has('\\Draft'));
});

t.test('IDLE hears a message appended by another session, and one delivered through SMTP', async (t) => {
  const watcher = flow();
  await watcher.connect();
  t.teardown(() => watcher.logout().catch(() => {}));
  await watcher.mailboxOpen('INBOX');
  const existsSeen: number[] = [];
  watcher.on('exists', (update: { count: number }) => existsSeen.push(update.count));
  const before = watcher.mailbox && typeof watcher.mailbox === 'object' ? watcher.mailbox.exists : 0;
  void watcher.idle();
  await new Promise((resolve) => setTimeout(resolve, 200));

  const other = flow({ compress: false });
  await other.connect();
  await other.append('INBOX', message('from another session'));
  await other.logout();
  // Waits for the event itself: how soon it comes is the benchmark's business, not a test's (a busy
  // machine may be slow); the delay is printed.
  const waitFor = async (count: number) => {
    await waitUntil(`EXISTS ${count} while idling (saw ${existsSeen.join(', ')})`, () => existsSeen.includes(count), 30_000, 10).catch(() => undefined);
    return existsSeen.includes(count);
  };
  t.ok(await waitFor(before + 1), `EXISTS ${before + 1} while idling (saw ${existsSeen.join(', ')})`);

  const smtp = await SmtpClient.connect(app.ports.smtp);
  await smtp.ehlo();
  const sentAt = Date.now();
  const replies = await smtp.transaction(`bob@remote.example`, [ALICE], message('through smtp'));
  t.match(replies.at(-1)?.code, 250);
  await smtp.quit();
  t.ok(await waitFor(before + 2), `EXISTS ${before + 2} after the 250, without a command from the client (saw ${existsSeen.join(', ')})`);
  t.comment(`the IDLE client heard of the SMTP delivery ${Date.now() - sentAt} ms after DATA began`);
});

t.test('two sessions on one folder: an expunge is told at the next command, not before', async (t) => {
  const one = await RawImap.connect(app.ports.imap);
  const two = await RawImap.connect(app.ports.imap);
  t.teardown(() => {
    one.close();
    two.close();
  });
  for (const [client, tag] of [[one, 'a'], [two, 'b']] as const) {
    await client.until(/^\* OK/);
    await client.command(`${tag}1`, `LOGIN ${ALICE} ${passwordOf(ALICE)}`);
    await client.command(`${tag}2`, 'CREATE Shared');
    await client.command(`${tag}3`, 'SELECT Shared');
  }
  for (const subject of ['one', 'two', 'three']) {
    two.send(`b4 APPEND Shared {${message(subject).length}+}\r\n${message(subject)}\r\n`);
    await two.until(/^b4 OK/);
  }
  await one.command('a4', 'NOOP');
  await two.command('b5', 'NOOP');
  await two.command('b6', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
  const expunge = await two.command('b7', 'EXPUNGE');
  t.strictSame(expunge.filter((l) => l.startsWith('*')), ['* 2 EXPUNGE']);
  const fetch = await one.command('a5', 'FETCH 1:* (UID)');
  t.notOk(fetch.some((l) => /^\* \d+ EXPUNGE$/.test(l)), `no EXPUNGE during FETCH (RFC 3501 7.4.1): ${JSON.stringify(fetch)}`);
  t.ok(fetch.includes('* 3 FETCH (UID 3)'), 'numbers unchanged until told');
  const noop = await one.command('a6', 'NOOP');
  t.ok(noop.includes('* 2 EXPUNGE'), `EXPUNGE at NOOP: ${JSON.stringify(noop)}`);
});

function python(script: string): Promise<string> {
  return new Promise<string>((resolve, reject) =>
    execFile('python3', ['-c', script], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

t.test("Python's imaplib over STARTTLS: capabilities before and after, login, wrong password", async (t) => {
  const script = [
    'import imaplib, ssl',
    `m = imaplib.IMAP4("127.0.0.1", ${app.ports.imap})`,
    'print(" ".join(sorted(c for c in m.capabilities if c in ("STARTTLS", "AUTH=PLAIN", "LOGINDISABLED"))))',
    'print(m.starttls(ssl_context=ssl._create_unverified_context())[0])',
    'print(" ".join(sorted(c for c in m.capabilities if c in ("STARTTLS", "AUTH=PLAIN", "LOGINDISABLED"))))',
    'try:',
    `    m.login("${ALICE}", "wrong")`,
    'except imaplib.IMAP4.error as e:',
    '    print("refused", e)',
    `print(m.login("${ALICE}", "${passwordOf(ALICE)}")[0])`,
    'print("IDLE" in m.capabilities, "STARTTLS" in m.capabilities)',
    'print(m.logout()[0])',
  ].join('\n');
  const out = (await python(script)).trim().split('\n');
  t.strictSame(out, ['AUTH=PLAIN STARTTLS', 'OK', 'AUTH=PLAIN', "refused b'[AUTHENTICATIONFAILED] Authentication failed'", 'OK', 'True False', 'BYE']);
});

t.test("Python's imaplib over TLS: login, select, noop, namespace, logout", async (t) => {
  const script = [
    'import imaplib, sys',
    `m = imaplib.IMAP4_SSL("127.0.0.1", ${app.ports.imaps}, ssl_context=__import__("ssl")._create_unverified_context())`,
    `m.login("${ALICE}", "${passwordOf(ALICE)}")`,
    'print(m.select("INBOX")[0])',
    'print(m.noop()[0])',
    'print(m.namespace()[1][0].decode())',
    'print(m.logout()[0])',
  ].join('\n');
  const out = await python(script);
  t.strictSame(out.trim().split('\n'), ['OK', 'OK', '(("" "/")) NIL NIL', 'BYE']);
});

t.test('SIGTERM: an idling client is told BYE and the appliance exits cleanly', async (t) => {
  t.ok(app.logs.some((line) => line.msg === 'listening' && line.svc === 'imaps' && line.port === app.ports.imaps), 'imaps listening logged');
  const client = await RawImap.connect(app.ports.imap);
  t.teardown(() => client.close());
  await client.until(/^\* OK/);
  await client.command('l', `LOGIN ${ALICE} ${passwordOf(ALICE)}`);
  await client.command('s', 'SELECT INBOX');
  client.send('i IDLE\r\n');
  await client.until(/^\+ idling/);
  const code = app.stop('SIGTERM');
  t.strictSame(await client.until(/^\* BYE/, 10_000), ['* BYE Server shutting down']);
  await client.closedByServer(10_000);
  t.equal(await code, 0);
});
