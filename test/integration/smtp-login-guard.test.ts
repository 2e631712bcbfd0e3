// Guessing passwords, as an attacker would (issue 6): in parallel from one address, from many addresses
// at one mailbox, across a restart, many times on one connection, and in numbers that would queue
// password checks without end. The login guard (src/core/login-guard.ts) counts an attempt before the
// password is hashed, per address and per account, and keeps what it counted in the store.
import t from 'tap';
import { ALICE, BOB, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision, passwordOf, type RunningAppliance } from '../helpers/appliance.js';
import { SmtpClient, type Reply } from '../helpers/smtp.js';

// Each test starts an appliance and hashes dozens of passwords (scrypt, 16 MiB each): slow beside other work.
t.setTimeout(240_000);

/** A session on 465 from `localAddress`, greeted and past EHLO: ready for AUTH. */
async function readyForAuth(app: RunningAppliance, localAddress = '127.0.0.1'): Promise<SmtpClient> {
  const client = await SmtpClient.connect(app.ports.smtps, { implicitTls: true, localAddress });
  await client.ehlo();
  return client;
}

/** AUTH PLAIN on every client at the same moment; the replies in the same order. */
async function authAtOnce(clients: SmtpClient[], user: string, password: string): Promise<Reply[]> {
  const line = `AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}\r\n`;
  for (const client of clients) client.write(line);
  return Promise.all(clients.map((client) => client.reply()));
}

function codes(replies: Reply[]): Record<number, number> {
  const counted: Record<number, number> = {};
  for (const reply of replies) counted[reply.code] = (counted[reply.code] ?? 0) + 1;
  return counted;
}

t.test('20 parallel AUTHs from one address with a limit of 10: never more than 10 checked', async (t) => {
  const app = await startAppliance({ config: { smtp: { authFailureLimit: 10, authFailureDelayMs: 1, maxConnectionsPerClient: 50 } } });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);

  const guessing = await Promise.all(Array.from({ length: 20 }, () => readyForAuth(app, '127.0.0.2')));
  const guesses = await authAtOnce(guessing, ALICE, 'a wrong guess');
  t.same(codes(guesses), { 535: 10, 454: 10 }, 'ten wrong passwords checked, ten refused before any check');
  t.ok(guesses.filter((r) => r.code === 454).every((r) => /^454 4\.7\.0 /.test(r.raw)), 'refused with 454 4.7.0');
  await Promise.all(guessing.map((client) => client.quit()));
  const after = await readyForAuth(app, '127.0.0.2');
  t.match((await after.authPlain(ALICE, passwordOf(ALICE))).raw, /^454 4\.7\.0 /, 'the address has used up its tries');
  await after.quit();

  // An attempt counts as a failure until it succeeds: even right passwords are let through ten at a time.
  const rushing = await Promise.all(Array.from({ length: 20 }, () => readyForAuth(app, '127.0.0.3')));
  const logins = await authAtOnce(rushing, ALICE, passwordOf(ALICE));
  const counted = codes(logins);
  t.ok((counted[235] ?? 0) <= 10 && (counted[235] ?? 0) >= 1, `at most ten checked at once (${JSON.stringify(counted)})`);
  t.equal((counted[235] ?? 0) + (counted[454] ?? 0), 20, 'the others are told to come back later');
  await Promise.all(rushing.map((client) => client.quit()));
});

t.test('many addresses guessing at one mailbox hit its limit; the address its user logs in from keeps working', async (t) => {
  const app = await startAppliance({ config: { smtp: { authFailureLimit: 3, authAccountFailureLimit: 5, authFailureDelayMs: 1, authFailureMaxDelayMs: 1 } } });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE, BOB]);
  const office = await readyForAuth(app, '127.0.0.1');
  t.match((await office.authPlain(ALICE, passwordOf(ALICE))).raw, /^235 /, 'alice logs in from the office, as every day');
  await office.quit();

  const replies: Reply[] = [];
  for (let i = 2; i <= 16; i++) {
    const attacker = await readyForAuth(app, `127.0.0.${i}`);
    replies.push(await attacker.authPlain(ALICE, `guess number ${i}`));
    await attacker.quit();
  }
  t.same(codes(replies), { 535: 5, 454: 10 }, '15 addresses, one guess each: five checked, then refused');
  t.ok(replies.slice(5).every((r) => /^454 4\.7\.0 /.test(r.raw)));

  const stranger = await readyForAuth(app, '127.0.0.17');
  t.match((await stranger.authPlain(ALICE, passwordOf(ALICE))).raw, /^454 4\.7\.0 /, 'an address alice never used is refused for her mailbox, right password or not');
  t.match((await stranger.authPlain(BOB, passwordOf(BOB))).raw, /^235 /, 'other mailboxes are not affected');
  await stranger.quit();
  const again = await readyForAuth(app, '127.0.0.1');
  t.match((await again.authPlain(ALICE, passwordOf(ALICE))).raw, /^235 /, 'alice, from the office, still logs in');
  await again.quit();
});

t.test('a blocked address stays blocked after a restart', async (t) => {
  const app = await startAppliance({ config: { smtp: { authFailureLimit: 2, authFailureDelayMs: 1 } } });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);
  const client = await readyForAuth(app);
  t.match((await client.authPlain(ALICE, 'wrong guess 1')).raw, /^535 /);
  t.match((await client.authPlain(ALICE, 'wrong guess 2')).raw, /^535 /);
  t.match((await client.authPlain(ALICE, passwordOf(ALICE))).raw, /^454 4\.7\.0 /, 'blocked');
  await client.quit();

  t.equal(await app.stop(), 0);
  await app.restart();
  const after = await readyForAuth(app);
  t.match((await after.authPlain(ALICE, passwordOf(ALICE))).raw, /^454 4\.7\.0 /, 'still blocked after the restart');
  await after.quit();
  const other = await readyForAuth(app, '127.0.0.2');
  t.match((await other.authPlain(ALICE, passwordOf(ALICE))).raw, /^235 /, 'while another address logs in');
  await other.quit();
});

t.test('three failed logins on one connection: 535, then 421 4.7.0 and the connection is closed', async (t) => {
  const app = await startAppliance({ config: { smtp: { authFailureDelayMs: 1, authFailureMaxDelayMs: 1 } } });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);
  for (const port of [app.ports.submission, app.ports.smtps]) {
    const client = await SmtpClient.connect(port, { implicitTls: port === app.ports.smtps });
    await client.ehlo();
    if (port === app.ports.submission) {
      await client.starttls();
      await client.ehlo();
    }
    t.match((await client.authPlain(ALICE, 'wrong guess 1')).raw, /^535 5\.7\.8 /);
    t.match((await client.authLogin('nobody@letterbox.test', 'wrong guess 2')).raw, /^535 5\.7\.8 /);
    t.match((await client.authPlain(ALICE, 'wrong guess 3')).raw, /^535 5\.7\.8 /, `${port}: the third is answered like the others`);
    t.match((await client.reply()).raw, /^421 4\.7\.0 Too many failed authentication attempts/, `${port}: then the server says goodbye`);
    t.ok(await client.closedWithin(), `${port}: and closes the connection`);
  }
});

t.test('password checks waiting for their turn are bounded: the rest get 454 4.7.0 at once', async (t) => {
  const app = await startAppliance({
    config: { smtp: { authFailureLimit: 1000, authAccountFailureLimit: 1000, authFailureDelayMs: 1, maxConnectionsPerClient: 100 } },
  });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);
  const clients = await Promise.all(Array.from({ length: 60 }, () => readyForAuth(app)));
  const replies = await authAtOnce(clients, ALICE, passwordOf(ALICE));
  const counted = codes(replies);
  // Two checks run, sixteen wait; 60 arriving at once leave about 42 with nowhere to wait.
  t.ok((counted[454] ?? 0) >= 10, `most are refused at once (${JSON.stringify(counted)})`);
  t.equal((counted[235] ?? 0) + (counted[454] ?? 0), 60, 'the others log in');
  t.ok(replies.filter((r) => r.code === 454).every((r) => /^454 4\.7\.0 Temporary authentication failure/.test(r.raw)), 'told that it is temporary');
  await Promise.all(clients.map((client) => client.quit()));
  const busy = app.logs.filter((l) => l.msg === 'AUTH refused: too many password checks waiting');
  t.ok(busy.length >= 1 && busy.length <= 10, `logged, rate-limited (${busy.length} lines)`);
  t.notOk(app.logs.some((l) => (l.level as number) >= 50), 'nothing at error level: being busy is no fault');
  t.notOk(JSON.stringify(app.logs).includes('"stack"'), 'and no stack');
});
