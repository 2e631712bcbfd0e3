// What a selected session is told and when, over real sockets with the fake backend: IDLE pushing
// changes at once, NOOP telling them before its OK, CLOSE expunging silently, a folder deleted under the
// session; COMPRESS DEFLATE; handlers that fail or throw; and output backpressure for a slow reader.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { ImapBackendError } from '../../src/imap/backend.js';
import { commandRegistry } from '../../src/imap/commands/index.js';
import type { CommandContext } from '../../src/imap/command.js';
import type { AnyCommand } from '../../src/imap/dispatch.js';
import { atom, num, str } from '../../src/imap/wire/encoder.js';
import { RawImap } from '../helpers/imap-raw.js';
import { ALICE, ALICE_PASSWORD, startImapServer } from '../helpers/imap-test-server.js';

type Teardown = { teardown(fn: () => void): void };

async function loggedIn(t: Teardown, port: number, select?: string): Promise<RawImap> {
  const client = await RawImap.connect(port);
  t.teardown(() => client.close());
  await client.until(/^\* OK/);
  await client.command('l', `LOGIN ${ALICE} ${ALICE_PASSWORD}`);
  if (select) await client.command('s', `SELECT ${select}`);
  return client;
}

t.test('IDLE: changes pushed at once, DONE ends it', async (t) => {
  const { ports, fake } = await startImapServer(t);
  fake.deliver('INBOX');
  const client = await loggedIn(t, ports.imap, 'INBOX');
  client.send('i IDLE\r\n');
  t.strictSame(await client.until(/^\+/), ['+ idling']);
  fake.deliver('INBOX');
  t.strictSame(await client.until(/RECENT$/), ['* 2 EXISTS', '* 1 RECENT']);
  fake.setFlags('INBOX', 1, ['\\Seen']);
  t.strictSame(await client.until(/FETCH/), ['* 1 FETCH (FLAGS (\\Seen))']);
  fake.remove('INBOX', [1]);
  t.strictSame(await client.until(/EXPUNGE/), ['* 1 EXPUNGE']);
  client.send('DONE\r\n');
  t.strictSame(await client.until(/^i /), ['i OK IDLE terminated']);
  t.strictSame(await client.command('n', 'NOOP'), ['n OK NOOP completed'], 'nothing told twice');
  client.send('j IDLE\r\nnot done\r\n');
  t.strictSame(await client.until(/^j /), ['+ idling', 'j BAD Expected DONE']);
  t.strictSame(await client.command('k', 'NOOP'), ['k OK NOOP completed']);
});

t.test('IDLE in the authenticated state just waits', async (t) => {
  const { ports } = await startImapServer(t);
  const client = await loggedIn(t, ports.imap);
  client.send('i IDLE\r\n');
  await client.until(/^\+ idling/);
  client.send('done\r\n');
  t.strictSame(await client.until(/^i /), ['i OK IDLE terminated']);
});

t.test('NOOP and CHECK tell changes before their OK; CLOSE expunges without a word', async (t) => {
  const { ports, fake } = await startImapServer(t);
  for (let i = 0; i < 3; i++) fake.deliver('INBOX');
  const client = await loggedIn(t, ports.imap, 'INBOX');
  fake.deliver('INBOX');
  fake.remove('INBOX', [2]);
  t.strictSame(await client.command('n', 'NOOP'), ['* 2 EXPUNGE', '* 3 EXISTS', '* 1 RECENT', 'n OK NOOP completed']);
  fake.setFlags('INBOX', 3, ['\\Answered']);
  t.strictSame(await client.command('c', 'CHECK'), ['* 2 FETCH (FLAGS (\\Answered))', 'c OK CHECK completed']);
  fake.setFlags('INBOX', 1, ['\\Deleted']);
  fake.setFlags('INBOX', 3, ['\\Deleted']);
  t.strictSame(await client.command('x', 'CLOSE'), ['x OK Close completed'], 'RFC 3501 6.4.2: no EXPUNGE responses');
  t.strictSame(fake.folders.get('INBOX')?.messages.map((m) => m.uid), [4]);
  t.strictSame(await client.command('y', 'NOOP'), ['y OK NOOP completed'], 'nothing selected any more');
});

t.test('EXAMINE then CLOSE expunges nothing', async (t) => {
  const { ports, fake } = await startImapServer(t);
  fake.deliver('INBOX', ['\\Deleted']);
  const client = await loggedIn(t, ports.imap);
  await client.command('e', 'EXAMINE INBOX');
  t.strictSame(await client.command('x', 'CLOSE'), ['x OK Close completed']);
  t.equal(fake.folders.get('INBOX')?.messages.length, 1);
});

t.test('a folder deleted under the session: BYE at the next command (or at once in IDLE), as Dovecot does', async (t) => {
  const { ports, fake } = await startImapServer(t);
  const client = await loggedIn(t, ports.imap, 'Trash');
  fake.drop('Trash');
  client.send('n NOOP\r\n');
  t.strictSame(await client.until(/^\* BYE/), ['* BYE Selected mailbox was deleted, have to disconnect']);
  await client.closedByServer();

  const idler = await loggedIn(t, ports.imap, 'Sent');
  idler.send('i IDLE\r\n');
  await idler.until(/^\+ idling/);
  fake.drop('Sent');
  t.strictSame(await idler.until(/^\* BYE/), ['* BYE Selected mailbox was deleted, have to disconnect']);
  await idler.closedByServer();
});

t.test('COMPRESS DEFLATE both ways', async (t) => {
  const { ports } = await startImapServer(t);
  const client = await loggedIn(t, ports.imap);
  t.strictSame(await client.command('z', 'COMPRESS DEFLATE'), ['z OK DEFLATE active']);
  client.startCompression();
  const caps = await client.command('c', 'CAPABILITY');
  t.match(caps[0], /^\* CAPABILITY IMAP4rev1 /);
  t.notMatch(caps[0], /COMPRESS=DEFLATE/, 'not offered while active');
  t.strictSame(await client.command('z2', 'COMPRESS DEFLATE'), ['z2 NO [COMPRESSIONACTIVE] DEFLATE is already active']);
  t.strictSame(await client.command('n', 'NOOP'), ['n OK NOOP completed']);
  t.strictSame(await client.command('b', 'COMPRESS GZIP'), ['b BAD Expected COMPRESS DEFLATE']);
  t.strictSame(await client.command('o', 'LOGOUT'), ['* BYE Logging out', 'o OK Logout completed'], 'the last words reach the client whole');
  await client.closedByServer();
});

t.test('failing handlers: the backend refusal as NO [CODE], a bug as NO [SERVERBUG] with the stack in the log only', async (t) => {
  const logged: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const extra: AnyCommand[] = [
    { name: 'XREFUSE', states: ['not-authenticated'], run: async () => { throw new ImapBackendError('OVERQUOTA', 'Quota exceeded'); } },
    { name: 'XBUG', states: ['not-authenticated'], run: async () => { throw new Error('secret internal detail at /srv/x.ts'); } },
    { name: 'XSILENT', states: ['not-authenticated'], run: async () => {} },
    { name: 'XBADVALUE', states: ['not-authenticated'], run: async (ctx: CommandContext) => ctx.untagged([atom('not an atom')]) },
  ];
  const commands = new Map([...commandRegistry(), ...extra.map((c) => [c.name, c] as const)]);
  const { ports } = await startImapServer(t, { commands, log: pino({ level: 'error' }, sink) });
  const client = await RawImap.connect(ports.imap);
  t.teardown(() => client.close());
  await client.until(/^\* OK/);
  t.strictSame(await client.command('a', 'XREFUSE'), ['a NO [OVERQUOTA] Quota exceeded']);
  t.strictSame(await client.command('b', 'XBUG'), ['b NO [SERVERBUG] Internal error']);
  t.strictSame(await client.command('c', 'XSILENT'), ['c NO [SERVERBUG] Internal error']);
  t.strictSame(await client.command('d', 'XBADVALUE'), ['d NO [SERVERBUG] Internal error']);
  t.strictSame(await client.command('e', 'NOOP'), ['e OK NOOP completed'], 'the connection goes on');
  const bug = logged.find((line) => line.msg === 'IMAP command failed' && line.command === 'XBUG');
  t.match((bug?.err as { stack?: string } | undefined)?.stack, /secret internal detail/, 'the stack is logged');
  t.notMatch(client.lines.join('\n'), /secret|\/srv/, 'and never sent');
});

t.test('a slow reader: output waits instead of piling up in memory', async (t) => {
  let written = 0;
  const chunk = 'x'.repeat(10_000);
  const flood: AnyCommand = {
    name: 'XFLOOD',
    states: ['not-authenticated'],
    run: async (ctx: CommandContext) => {
      for (let i = 0; i < 3_000; i++) {
        ctx.untagged([atom('XFLOOD'), num(i), str(chunk)]);
        written += 1;
        await ctx.drained?.();
      }
      ctx.ok('Flood done');
    },
  };
  const { ports } = await startImapServer(t, { commands: new Map([...commandRegistry(), [flood.name, flood]]) });
  const client = await RawImap.connect(ports.imap);
  t.teardown(() => client.close());
  await client.until(/^\* OK/);
  client.pause();
  client.send('f XFLOOD\r\n');
  await new Promise((resolve) => setTimeout(resolve, 700));
  t.ok(written < 1_500, `the handler waited: ${written} of 3000 responses (30 MB) written while nothing was read`);
  client.resume();
  const lines = await client.until(/^f /, 20_000);
  t.equal(lines.at(-1), 'f OK Flood done');
  t.equal(written, 3_000);
});
