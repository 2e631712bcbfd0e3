// The connection's limits over real sockets: bad commands, the autologout, connections per address,
// sessions per user, literal and line sizes (RFC 7889 TOOBIG before the literal is sent), and shutdown.
import t from 'tap';
import { RawImap } from '../helpers/imap-raw.js';
import { ALICE, ALICE_PASSWORD, startImapServer } from '../helpers/imap-test-server.js';
import { waitUntil } from '../helpers/wait.js';

type Teardown = { teardown(fn: () => void): void };

async function open(t: Teardown, port: number): Promise<RawImap> {
  const client = await RawImap.connect(port);
  t.teardown(() => client.close());
  await client.until(/^\* (OK|BYE)/);
  return client;
}

t.test('too many invalid commands end the connection', async (t) => {
  const { ports } = await startImapServer(t, { settings: { maxBadCommands: 3 } });
  const client = await open(t, ports.imap);
  t.strictSame(await client.command('b1', 'BOGUS'), ['b1 BAD Unknown command']);
  t.match((await client.command('b2', 'LOGIN')).at(-1), /^b2 BAD /);
  client.send('b3 "unterminated\r\n');
  t.match(await client.until(/^\* BYE/), [/^b3 BAD /, '* BYE Too many invalid commands']);
  await client.closedByServer();
});

t.test('too many failed logins end the connection; the ones before are answered NO', async (t) => {
  const { ports } = await startImapServer(t, { settings: { loginFailuresPerConnection: 2 } });
  const client = await open(t, ports.imap);
  t.match(await client.command('l1', `LOGIN ${ALICE} wrong`), [/^l1 NO \[AUTHENTICATIONFAILED\]/]);
  client.send('l2 LOGIN ' + ALICE + ' wrong-again\r\n');
  t.match(await client.until(/^l2 /), ['* BYE Too many failed logins', /^l2 NO \[AUTHENTICATIONFAILED\]/]);
  await client.closedByServer();
});

t.test('autologout after the idle timeout, IDLE included', async (t) => {
  const { ports } = await startImapServer(t, { settings: { idleTimeoutSeconds: 1 } });
  const client = await open(t, ports.imap);
  await client.command('a', `LOGIN ${ALICE} ${ALICE_PASSWORD}`);
  client.send('i IDLE\r\n');
  await client.until(/^\+ idling/);
  const started = Date.now();
  t.strictSame(await client.until(/^\* BYE/, 4_000), ['* BYE Autologout; idle for too long']);
  t.ok(Date.now() - started >= 900, 'not before the timeout');
  await client.closedByServer();
});

t.test('activity keeps a session alive', async (t) => {
  // Four pauses of half the timeout: 4 s in all, twice the timeout, with room for a busy machine.
  const { ports } = await startImapServer(t, { settings: { idleTimeoutSeconds: 2 } });
  const client = await open(t, ports.imap);
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    t.strictSame(await client.command(`n${i}`, 'NOOP'), [`n${i} OK NOOP completed`]);
  }
});

t.test('connections per client address', async (t) => {
  const { ports } = await startImapServer(t, { settings: { maxConnectionsPerAddress: 2 } });
  const first = await open(t, ports.imap);
  await open(t, ports.imaps === 0 ? ports.imap : ports.imap);
  const third = await RawImap.connect(ports.imap);
  t.teardown(() => third.close());
  t.strictSame(await third.until(/^\*/), ['* BYE Too many connections from your address']);
  await third.closedByServer();
  await first.command('x', 'LOGOUT');
  await first.closedByServer();
  // The server sees the close a little after the client does: try until the slot is given back.
  const greeting = await waitUntil('a connection slot given back', async () => {
    const again = await RawImap.connect(ports.imap);
    t.teardown(() => again.close());
    const line = (await again.until(/^\*/))[0];
    return line?.startsWith('* OK ') ? line : false;
  });
  t.match(greeting, /^\* OK /, 'a slot is free again');
});

t.test('sessions per user', async (t) => {
  const { ports } = await startImapServer(t, { settings: { maxSessionsPerUser: 1 } });
  const first = await open(t, ports.imap);
  const second = await open(t, ports.imap);
  t.match((await first.command('a', `LOGIN ${ALICE} ${ALICE_PASSWORD}`)).at(-1), /^a OK /);
  t.strictSame(await second.command('b', `LOGIN ${ALICE} ${ALICE_PASSWORD}`), ['b NO [LIMIT] Too many sessions for this user']);
  t.match((await second.command('c', 'LOGIN bob@example.test bob-secret')).at(-1), /^c OK /, 'other users are not limited by it');
  await first.command('z', 'LOGOUT');
  await first.closedByServer();
  const third = await open(t, ports.imap);
  // The session's slot is given back when the server sees the close: try until it has.
  let tries = 0;
  const login = await waitUntil('the session slot given back', async () => {
    tries += 1;
    const answer = (await third.command(`d${tries}`, `LOGIN ${ALICE} ${ALICE_PASSWORD}`)).at(-1) ?? '';
    return /^d\d+ OK /.test(answer) ? answer : false;
  });
  t.match(login, /^d\d+ OK /, 'the slot came back');
});

t.test('literal and line limits', async (t) => {
  const { ports, fake } = await startImapServer(t, { settings: { maxMessageSize: 2048, maxLineLength: 8192 } });
  const client = await open(t, ports.imap);
  await client.command('l', `LOGIN ${ALICE} ${ALICE_PASSWORD}`);
  client.send('a1 APPEND INBOX {4000}\r\n');
  t.match(await client.until(/^a1 /), [/^a1 NO \[TOOBIG\] /], 'refused before the client sends it; no +');
  t.strictSame(await client.command('a2', 'NOOP'), ['a2 OK NOOP completed'], 'the stream is in step');
  client.send(`a3 APPEND INBOX {3000+}\r\n${'x'.repeat(3000)}\r\n`);
  t.match(await client.until(/^a3 /), [/^a3 NO \[TOOBIG\] /], 'a non-synchronizing one is read and thrown away');
  t.strictSame(await client.command('a4', 'NOOP'), ['a4 OK NOOP completed']);
  fake.appendLimit = 100;
  t.match((await client.command('c', 'CAPABILITY'))[0], / APPENDLIMIT=100 /, 'the account limit is advertised');
  client.send('a5 APPEND INBOX {500}\r\n');
  t.match(await client.until(/^a5 /), [/^a5 NO \[TOOBIG\] Message too large \(limit 100 octets\)$/]);
  client.send(`a6 NOOP ${'y'.repeat(9000)}\r\n`);
  t.match((await client.until(/^a6 /))[0], /^a6 BAD /);
  t.strictSame(await client.command('a7', 'NOOP'), ['a7 OK NOOP completed']);
});

t.test('shutdown says BYE to every client and stops the listeners', async (t) => {
  const { ports, server, events } = await startImapServer(t);
  const idle = await open(t, ports.imap);
  const busy = await open(t, ports.imap);
  await busy.command('l', `LOGIN ${ALICE} ${ALICE_PASSWORD}`);
  busy.send('i IDLE\r\n');
  await busy.until(/^\+ idling/);
  await server.close(2_000);
  t.strictSame(await idle.until(/^\* BYE/), ['* BYE Server shutting down']);
  t.strictSame(await busy.until(/^\* BYE/), ['* BYE Server shutting down']);
  await idle.closedByServer();
  await busy.closedByServer();
  t.strictSame(events.filter((e) => e.kind === 'stopped').map((e) => e.service).sort(), ['imap', 'imaps']);
  t.equal(server.sessionCount, 0);
});
