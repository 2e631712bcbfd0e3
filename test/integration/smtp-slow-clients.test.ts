// Clients that hold connections without sending mail (issue 6): silent TLS connections on 465 from one
// address cannot shut out another; a trickled command line, a NOOP loop, a whole session and a trickled
// DATA body each meet a deadline that does not restart with every byte; and guessing recipients is
// slowed, then cut off.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { provision, startAppliance } from '../helpers/appliance.js';
import { SmtpClient } from '../helpers/smtp.js';
import { waitUntil } from '../helpers/wait.js';

// Deadlines of seconds, met one after another.
t.setTimeout(180_000);

const ALICE = 'alice@example.com';

/** A plain TCP connection from `localAddress` that sends nothing; resolves once connected. */
function silent(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

/** Writes `text` a byte at a time, every `everyMs`, until done or the socket closes. */
async function trickle(client: SmtpClient, text: string, everyMs: number): Promise<void> {
  for (const byte of text) {
    if (client.isClosed) return;
    client.write(byte);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

t.test('465: silent connections from one address neither fill the server nor outlive the handshake deadline', async (t) => {
  const app = await startAppliance({ config: { smtp: { maxConnections: 10, maxConnectionsPerClient: 4, tlsHandshakeSeconds: 5 } } });
  t.teardown(() => app.cleanup());
  const flood = await Promise.all(Array.from({ length: 30 }, () => silent(app.ports.smtps, '127.0.0.1').catch(() => null)));
  t.teardown(() => flood.forEach((s) => s?.destroy()));
  const open = flood.filter((s): s is Socket => s !== null);
  // Over its share, an address is cut at accept; the four it may have wait for their handshakes.
  // Wait for the refused ones themselves (cut at accept), not for a fixed time.
  await Promise.all(open.slice(4).map(closed));
  t.equal(open.filter((s) => !s.destroyed).length, 4, 'the address keeps only its share');

  const plain = await silent(app.ports.smtps, '127.0.0.2');
  const other = await new Promise<string>((resolve, reject) => {
    const socket = tlsConnect({ socket: plain, rejectUnauthorized: false });
    socket.once('data', (greeting) => {
      resolve(greeting.toString());
      socket.end('QUIT\r\n');
    });
    socket.once('error', reject);
  });
  t.match(other, /^220 /, 'another address is greeted over TLS meanwhile');
  await Promise.all(open.map(closed));
  const deadline = await app.waitForLog((l) => l.msg === 'connection refused: no TLS handshake', 'about the handshake deadline');
  t.ok(deadline, 'the silent ones were closed by the handshake deadline');
  // Ending them underneath their TLS handshake once made Node die of a segmentation fault. The server
  // gives the address's slots back when it has seen each close, which on a busy machine can come a little
  // after the client saw it: until then it answers 421, as it should.
  const greeting = await waitUntil('a greeting for the same address', async () => {
    const again = await SmtpClient.connect(app.ports.smtp);
    const raw = again.greeting.raw;
    if (raw.startsWith('220 ')) await again.quit();
    else again.destroy();
    return raw.startsWith('220 ') ? raw : undefined;
  }, 15_000, 200);
  t.match(greeting, /^220 /, 'and the server is still there, for that address too');
});

t.test('a command line trickled a byte at a time is ended by the command deadline', async (t) => {
  const app = await startAppliance({ config: { smtp: { commandTimeoutSeconds: 2 } } });
  t.teardown(() => app.cleanup());
  const client = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => client.destroy());
  void trickle(client, 'EHLO slow.example.test and a very long tail that never ends', 200);
  t.match((await client.reply(10_000)).raw, /^421 4\.4\.2 Timeout waiting for a command/);
  t.ok(await client.closedWithin(), 'and the connection is closed');
});

t.test('a NOOP loop meets the junk command limit, and any session the session limit', async (t) => {
  const app = await startAppliance({ config: { smtp: { junkCommandLimit: 5, sessionTimeoutSeconds: 3 } } });
  t.teardown(() => app.cleanup());
  const looping = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => looping.destroy());
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) codes.push((await looping.command('NOOP')).code);
  t.same(codes, [250, 250, 250, 250, 250, 421], 'the sixth NOOP is one too many');
  t.ok(await looping.closedWithin());

  const lingering = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => lingering.destroy());
  await lingering.ehlo();
  t.match((await lingering.reply(10_000)).raw, /^421 4\.4\.2 Session time limit exceeded/, 'unprompted, at the session limit');
  t.ok(await lingering.closedWithin());
});

t.test('a DATA body trickled under the minimum rate is ended; nothing of it is kept', async (t) => {
  const app = await startAppliance({ config: { smtp: { commandTimeoutSeconds: 2, minDataRate: 100 } } });
  t.teardown(() => app.cleanup());
  await provision(app, ['example.com'], [ALICE]);
  const client = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => client.destroy());
  await client.ehlo();
  t.equal((await client.command('MAIL FROM:<slow@elsewhere.test>')).code, 250);
  t.equal((await client.command(`RCPT TO:<${ALICE}>`)).code, 250);
  t.equal((await client.command('DATA')).code, 354);
  void trickle(client, 'Subject: trickled\r\n\r\n' + 'x'.repeat(200), 100);
  t.match((await client.reply(15_000)).raw, /^421 4\.4\.2 Data transfer too slow/);
  t.ok(await client.closedWithin());
  const users = JSON.parse((await app.cli(['user', 'list', '--json'])).stdout) as { messages: number }[];
  t.equal(users[0]?.messages, 0, 'no message was stored');
});

t.test('directory harvesting: unknown recipients are slowed after a few, then the connection is closed', async (t) => {
  const app = await startAppliance({ config: { smtp: { unknownRecipientsBeforeDelay: 2, unknownRecipientLimit: 5 } } });
  t.teardown(() => app.cleanup());
  await provision(app, ['example.com'], [ALICE]);
  const client = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => client.destroy());
  await client.ehlo();
  await client.command('MAIL FROM:<harvester@elsewhere.test>');
  const answers: { code: number; ms: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    const reply = await client.command(`RCPT TO:<guess${i}@example.com>`);
    answers.push({ code: reply.code, ms: Date.now() - started });
  }
  t.same(answers.map((a) => a.code), [550, 550, 550, 550, 421]);
  // Only the lower bound is timed: a busy machine may be slow to answer, never fast to wait.
  t.ok(answers.slice(2, 4).every((a) => a.ms >= 900), 'after the first two, each waits a second');
  t.ok(await client.closedWithin(), 'the fifth closes the connection');
});
