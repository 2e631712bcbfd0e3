// The IMAP connection over real sockets, byte for byte: greeting and CAPABILITY before and after login
// and TLS, LOGINDISABLED off loopback, STARTTLS and implicit TLS, LOGIN and AUTHENTICATE PLAIN (SASL-IR,
// continuation, cancel), state errors, unknown commands, pipelining, and LOGOUT.
import t from 'tap';
import { isLoopback } from '../../src/imap/responses.js';
import { RawImap } from '../helpers/imap-raw.js';
import { ALICE, ALICE_PASSWORD, startImapServer } from '../helpers/imap-test-server.js';

const plain = (user: string, password: string, authzid = '') => Buffer.from(`${authzid}\0${user}\0${password}`).toString('base64');

async function open(t: { teardown(fn: () => void): void }, port: number, tls = false): Promise<RawImap> {
  const client = await RawImap.connect(port, { tls });
  t.teardown(() => client.close());
  return client;
}

t.test('greeting and capabilities on a local plain connection', async (t) => {
  const { ports } = await startImapServer(t);
  const client = await open(t, ports.imap);
  const [greeting] = await client.until(/^\* OK/);
  t.match(greeting, /^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] Letterbox ready$/);
  t.match(greeting, / STARTTLS /, 'STARTTLS offered on the plain port');
  t.match(greeting, / AUTH=PLAIN\]/, 'loopback may log in before TLS');
  t.notMatch(greeting, /LOGINDISABLED|PREAUTH/);
  const caps = await client.command('a1', 'CAPABILITY');
  t.equal(caps.length, 2);
  t.match(caps[0], /^\* CAPABILITY IMAP4rev1 LITERAL\+ SASL-IR ID ENABLE IDLE STARTTLS AUTH=PLAIN$/);
  t.equal(caps[1], 'a1 OK Capability completed');

  const login = await client.command('a2', `LOGIN ${ALICE} ${ALICE_PASSWORD}`);
  t.match(login.at(-1), /^a2 OK \[CAPABILITY IMAP4rev1 .*NAMESPACE.*UIDPLUS.*MOVE.*CONDSTORE QRESYNC ESEARCH BINARY QUOTA QUOTA=RES-STORAGE UTF8=ACCEPT APPENDLIMIT=1048576 COMPRESS=DEFLATE\] Logged in$/);
  const after = await client.command('a3', 'CAPABILITY');
  t.notMatch(after[0], /STARTTLS|AUTH=|LOGINDISABLED/, 'no login capabilities once logged in');
  t.match(after[0], /COMPRESS=DEFLATE/);
  const bye = await client.command('a4', 'LOGOUT');
  t.strictSame(bye, ['* BYE Logging out', 'a4 OK Logout completed']);
  await client.closedByServer();
});

t.test('off loopback: LOGINDISABLED until TLS, then AUTH=PLAIN', async (t) => {
  const { ports, fake } = await startImapServer(t, { isLocal: () => false });
  const client = await open(t, ports.imap);
  const [greeting] = await client.until(/^\* OK/);
  t.match(greeting, /STARTTLS LOGINDISABLED\]/);
  t.notMatch(greeting, /AUTH=/);
  t.match((await client.command('l1', `LOGIN ${ALICE} ${ALICE_PASSWORD}`)).at(-1), /^l1 NO \[PRIVACYREQUIRED\] /);
  t.match((await client.command('l2', `AUTHENTICATE PLAIN ${plain(ALICE, ALICE_PASSWORD)}`)).at(-1), /^l2 NO \[PRIVACYREQUIRED\] /);
  t.equal(fake.logins.length, 0, 'the password never reached the backend');

  // RFC 3501 6.2.1: a command sent after STARTTLS, before the handshake, is thrown away.
  client.send('s1 STARTTLS\r\ns2 LOGIN injected command\r\n');
  t.strictSame(await client.until(/^s1 /), ['s1 OK Begin TLS negotiation now']);
  await client.startTls();
  const caps = await client.command('c1', 'CAPABILITY');
  t.match(caps[0], /^\* CAPABILITY IMAP4rev1 LITERAL\+ SASL-IR ID ENABLE IDLE AUTH=PLAIN$/);
  t.notMatch(caps.join('\n'), /s2/, 'the injected command got no answer');
  t.match((await client.command('c2', 'STARTTLS')).at(-1), /^c2 BAD /, 'no second STARTTLS');
  const login = await client.command('c3', `LOGIN ${ALICE} ${ALICE_PASSWORD}`);
  t.match(login.at(-1), /^c3 OK \[CAPABILITY /);
  t.equal(fake.logins[0]?.client.secure, true, 'the backend hears the connection is secure');
});

t.test('implicit TLS on the imaps port', async (t) => {
  const { ports } = await startImapServer(t, { isLocal: () => false });
  const client = await open(t, ports.imaps, true);
  const [greeting] = await client.until(/^\* OK/);
  t.match(greeting, /AUTH=PLAIN\]/);
  t.notMatch(greeting, /STARTTLS|LOGINDISABLED/);
  t.match((await client.command('a', `AUTHENTICATE PLAIN ${plain(ALICE, ALICE_PASSWORD)}`)).at(-1), /^a OK \[CAPABILITY /);
});

t.test('AUTHENTICATE PLAIN: SASL-IR, continuation, cancel, bad input, wrong password', async (t) => {
  const { ports } = await startImapServer(t);
  const client = await open(t, ports.imap);
  await client.until(/^\* OK/);
  t.match((await client.command('a1', 'AUTHENTICATE CRAM-MD5')).at(-1), /^a1 NO \[CANNOT\] /);
  t.match((await client.command('a2', `AUTHENTICATE PLAIN ${plain(ALICE, 'wrong')}`)).at(-1), /^a2 NO \[AUTHENTICATIONFAILED\] Authentication failed$/);
  t.match((await client.command('a3', 'AUTHENTICATE PLAIN !!!')).at(-1), /^a3 BAD /);

  client.send('a4 AUTHENTICATE PLAIN\r\n');
  t.strictSame(await client.until(/^\+/), ['+ ']);
  client.send('*\r\n');
  t.strictSame(await client.until(/^a4 /), ['a4 BAD Authentication cancelled']);

  client.send('a5 AUTHENTICATE PLAIN\r\n');
  await client.until(/^\+/);
  client.send(`${plain(ALICE, ALICE_PASSWORD, ALICE)}\r\n`);
  t.match((await client.until(/^a5 /))[0], /^a5 OK \[CAPABILITY .*\] Logged in$/);
  t.match((await client.command('a6', `AUTHENTICATE PLAIN ${plain(ALICE, ALICE_PASSWORD)}`)).at(-1), /^a6 BAD Already logged in$/, 'not twice');
});

t.test('LOGIN with quoted strings and literals; wrong password', async (t) => {
  const { ports } = await startImapServer(t);
  const client = await open(t, ports.imap);
  await client.until(/^\* OK/);
  t.strictSame(await client.command('l1', `LOGIN "${ALICE}" "nope"`), ['l1 NO [AUTHENTICATIONFAILED] Authentication failed']);
  t.match((await client.command('l2', 'LOGIN onlyone')).at(-1), /^l2 BAD /);
  client.send(`l3 LOGIN {${ALICE.length}}\r\n`);
  t.strictSame(await client.until(/^\+/), ['+ Ready for literal data']);
  client.send(`${ALICE} {${ALICE_PASSWORD.length}+}\r\n${ALICE_PASSWORD}\r\n`);
  t.match((await client.until(/^l3 /))[0], /^l3 OK /);
});

t.test('state errors and unknown commands', async (t) => {
  const { ports } = await startImapServer(t);
  const client = await open(t, ports.imap);
  await client.until(/^\* OK/);
  t.strictSame(await client.command('s1', 'SELECT INBOX'), ['s1 BAD Log in first']);
  t.strictSame(await client.command('s2', 'FROBNICATE'), ['s2 BAD Unknown command']);
  t.strictSame(await client.command('s3', 'ENABLE CONDSTORE'), ['s3 BAD Log in first']);
  await client.command('s4', `LOGIN ${ALICE} ${ALICE_PASSWORD}`);
  t.strictSame(await client.command('s5', 'FETCH 1 FLAGS'), ['s5 BAD No mailbox selected']);
  t.strictSame(await client.command('s6', 'CLOSE'), ['s6 BAD No mailbox selected']);
  t.strictSame(await client.command('s7', `LOGIN ${ALICE} x`), ['s7 BAD Already logged in']);
  t.strictSame(await client.command('s8', 'NAMESPACE'), ['* NAMESPACE (("" "/")) NIL NIL', 's8 OK Namespace completed']);
  t.strictSame(await client.command('s9', 'ID ("name" "test" "version" NIL)'), ['* ID ("name" "Letterbox")', 's9 OK ID completed']);
  t.strictSame(await client.command('s10', 'ID NIL'), ['* ID ("name" "Letterbox")', 's10 OK ID completed']);
  t.match((await client.command('s11', 'ID ("odd")')).at(-1), /^s11 BAD /);
  t.strictSame(await client.command('e1', 'ENABLE QRESYNC X-UNKNOWN'), ['* ENABLED CONDSTORE QRESYNC', 'e1 OK Enabled']);
  t.strictSame(await client.command('e2', 'ENABLE CONDSTORE'), ['* ENABLED', 'e2 OK Enabled'], 'only what is newly enabled');
  await client.command('e3', 'SELECT INBOX');
  t.strictSame(await client.command('e4', 'ENABLE UTF8=ACCEPT'), ['e4 BAD ENABLE is not allowed now'], 'RFC 5161: not once a folder is selected');
  t.strictSame(await client.command('e5', 'UNSELECT'), ['e5 OK Unselect completed']);
  t.strictSame(await client.command('e6', 'UNSELECT'), ['e6 BAD No mailbox selected']);
});

t.test('pipelined commands are answered in order', async (t) => {
  const { ports } = await startImapServer(t);
  const client = await open(t, ports.imap);
  await client.until(/^\* OK/);
  client.send(`p1 NOOP\r\np2 LOGIN ${ALICE} ${ALICE_PASSWORD}\r\np3 CAPABILITY\r\np4 BOGUS\r\np5 NAMESPACE\r\np6 NOOP\r\n`);
  const lines = await client.until(/^p6 /);
  const tagged = lines.filter((line) => !line.startsWith('*')).map((line) => line.split(' ').slice(0, 2).join(' '));
  t.strictSame(tagged, ['p1 OK', 'p2 OK', 'p3 OK', 'p4 BAD', 'p5 OK', 'p6 OK']);
});

t.test('which addresses count as loopback', async (t) => {
  for (const address of ['127.0.0.1', '127.255.3.4', '::1', '::ffff:127.0.0.1']) t.ok(isLoopback(address), address);
  for (const address of ['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', '::2', 'fe80::1', '']) t.notOk(isLoopback(address), address);
});
