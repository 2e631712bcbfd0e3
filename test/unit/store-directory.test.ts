// The directory on a real store: domains, mailboxes, passwords, aliases, where a recipient goes and
// which sender addresses a logged-in user may use.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Store } from '../../src/store/index.js';
import { hashPassword, verifyPassword } from '../../src/store/passwords.js';
import type { UserRecord } from '../../src/store/records.js';

const PASSWORD = 'correct horse battery';

/** The one thing the helpers need from a tap test: somewhere to hang clean-up. */
interface Test {
  teardown(fn: () => void | Promise<void>): void;
}

async function openStore(tt: Test): Promise<Store> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-directory-'));
  const store = await Store.open(path.join(dir, 'store'));
  tt.teardown(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

/** A store with these domains and users (all with PASSWORD). */
async function provisioned(tt: Test, domains: string[], users: string[]): Promise<Store> {
  const store = await openStore(tt);
  for (const domain of domains) await store.directory.addDomain(domain);
  for (const user of users) await store.directory.addUser(user, PASSWORD);
  return store;
}

/** Commits `bytes` to the INBOX of each of `mailboxes`; returns the message id. */
async function deliver(store: Store, mailboxes: string[], bytes: Buffer | string): Promise<string> {
  const writer = await store.createMessage();
  await writer.write(Buffer.from(bytes));
  return (await writer.commit({ mailboxes })).messageId;
}

async function chunksOf(store: Store, messageId: string): Promise<string[]> {
  return store.sub.bodies.keys({ gt: `${messageId}\0`, lt: `${messageId}\0\uffff` }).all();
}

async function readBack(store: Store, messageId: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of store.openMessage(messageId)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

t.test('domains: add, list, delete', async (t) => {
  const store = await openStore(t);
  const dir = store.directory;
  await dir.addDomain('Example.COM.');
  await dir.addDomain('letterbox.test');
  t.same(await dir.listDomains(), ['example.com', 'letterbox.test'], 'stored folded, listed in order');
  t.ok(await dir.isLocalDomain('EXAMPLE.com.'));
  t.notOk(await dir.isLocalDomain('remote.test'));
  await t.rejects(dir.addDomain('example.com'), { code: 'ALREADY_EXISTS' });
  await dir.deleteDomain('letterbox.test');
  t.same(await dir.listDomains(), ['example.com']);
  await t.rejects(dir.deleteDomain('letterbox.test'), { code: 'NOT_FOUND' });
});

t.test('domains: invalid names are refused', async (t) => {
  const store = await openStore(t);
  for (const name of ['localhost', 'bad_name.com', '-x.com', 'x..com', '192.168.1.1', 'a b.com', 'alice@example.com', '']) {
    await t.rejects(store.directory.addDomain(name), { name: 'LetterboxError', code: 'INVALID' }, JSON.stringify(name));
  }
  t.same(await store.directory.listDomains(), []);
});

t.test('domains: one that still has mailboxes is not deleted; its aliases go with it', async (t) => {
  const store = await provisioned(t, ['example.com', 'other.test'], ['alice@example.com', 'bob@other.test']);
  const dir = store.directory;
  await dir.addAlias('@example.com', ['alice@example.com']);
  await dir.addAlias('sales@example.com', ['alice@example.com']);
  await dir.addAlias('fwd@other.test', ['alice@example.com', 'bob@other.test']);
  await t.rejects(dir.deleteDomain('example.com'), { code: 'INVALID', message: /mailbox/ });
  t.ok(await dir.isLocalDomain('example.com'), 'still there');
  await dir.deleteUser('alice@example.com');
  await dir.deleteDomain('example.com');
  t.same(await dir.listDomains(), ['other.test']);
  t.same((await dir.listAliases()).map((a) => a.alias), ['fwd@other.test'], "the domain's own aliases and catch-all are gone");
});

t.test('users: add, get, list, delete', async (t) => {
  const store = await provisioned(t, ['example.com'], []);
  const dir = store.directory;
  const alice = await dir.addUser('Alice@Example.COM', PASSWORD, 5_000_000);
  t.match(alice, { address: 'alice@example.com', quota: 5_000_000 });
  await dir.addUser('bob@example.com', PASSWORD);
  t.match(await dir.getUser('ALICE@example.com'), { address: 'alice@example.com', quota: 5_000_000 });
  t.equal(await dir.getUser('nobody@example.com'), null);
  t.same(
    (await dir.listUsers()).map((u) => [u.address, u.quota, u.messages, u.bytes]),
    [['alice@example.com', 5_000_000, 0, 0], ['bob@example.com', 0, 0, 0]],
  );
  await dir.deleteUser('BOB@example.com');
  t.equal(await dir.getUser('bob@example.com'), null);
  t.same((await dir.listUsers()).map((u) => u.address), ['alice@example.com']);
  await t.rejects(dir.deleteUser('bob@example.com'), { code: 'NOT_FOUND' });
});

t.test('users: what addUser refuses', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com']);
  const dir = store.directory;
  await dir.addAlias('sales@example.com', ['alice@example.com']);
  const refused: Array<[address: string, password: string, code: string]> = [
    ['alice@example.com', PASSWORD, 'ALREADY_EXISTS'],
    ['ALICE@example.com', PASSWORD, 'ALREADY_EXISTS'],
    ['sales@example.com', PASSWORD, 'ALREADY_EXISTS'],
    ['carol@remote.test', PASSWORD, 'INVALID'],
    ['"carol"@example.com', PASSWORD, 'INVALID'],
    ['carol', PASSWORD, 'INVALID'],
    ['@example.com', PASSWORD, 'INVALID'],
    ['carol@example.com', 'short', 'INVALID'],
    ['carol@example.com', 'has a\nline break', 'INVALID'],
  ];
  for (const [address, password, code] of refused) {
    await t.rejects(dir.addUser(address, password), { code }, `${JSON.stringify(address)} / ${JSON.stringify(password)}`);
  }
  t.same((await dir.listUsers()).map((u) => u.address), ['alice@example.com']);
});

t.test('users: listUsers counts messages and bytes over every mailbox of the user', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com', 'bob@example.com', 'al@example.com']);
  await deliver(store, ['alice@example.com', 'bob@example.com'], 'x'.repeat(100));
  await deliver(store, ['alice@example.com'], 'y'.repeat(70_000));
  const summary = Object.fromEntries((await store.directory.listUsers()).map((u) => [u.address, [u.messages, u.bytes]]));
  t.same(summary, {
    'al@example.com': [0, 0],
    'alice@example.com': [2, 70_100],
    'bob@example.com': [1, 100],
  });
});

t.test('passwords: scrypt with its parameters in the stored form', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com']);
  const record = (await store.sub.users.get('alice@example.com')) as UserRecord;
  // 16 bytes of salt and 32 of key, in base64.
  t.match(record.passwordHash, /^scrypt\$14\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  t.notMatch(record.passwordHash, PASSWORD);
  t.equal(await verifyPassword(PASSWORD, 'scrypt$x$8$1$c2FsdA==$aGFzaA=='), false, 'a damaged hash is a failed login');
  t.equal(await verifyPassword(PASSWORD, 'scrypt$40$8$1$c2FsdA==$aGFzaA=='), false, 'absurd parameters are refused, not attempted');
  const [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
  t.not(first, second, 'each hash has its own salt');
  t.ok(await verifyPassword(PASSWORD, first));
  t.ok(await verifyPassword(PASSWORD, second));
  t.notOk(await verifyPassword(`${PASSWORD} `, first));
  t.notOk(await verifyPassword(PASSWORD, undefined), 'no stored hash never verifies');
  t.notOk(await verifyPassword(PASSWORD, 'plain$text'));
  t.notOk(await verifyPassword(PASSWORD, ''));
  // The same text typed on two systems: composed and decomposed forms are one password.
  const composed = await hashPassword('caf\u00e9 au lait');
  t.ok(await verifyPassword('cafe\u0301 au lait', composed));
});

t.test('authenticate: right, wrong, unknown, any case of the address', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com']);
  const dir = store.directory;
  t.equal(await dir.authenticate('alice@example.com', PASSWORD), 'alice@example.com');
  t.equal(await dir.authenticate(' ALICE@Example.Com ', PASSWORD), 'alice@example.com', 'the canonical address comes back');
  t.equal(await dir.authenticate('alice@example.com', 'wrong password'), null);
  t.equal(await dir.authenticate('alice@example.com', PASSWORD.toUpperCase()), null, 'passwords are case-sensitive');
  t.equal(await dir.authenticate('alice@example.com', ''), null);
  t.equal(await dir.authenticate('nobody@example.com', PASSWORD), null);
  t.equal(await dir.authenticate('alice', PASSWORD), null);
});

t.test('passwd replaces the password', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com']);
  const dir = store.directory;
  await dir.setPassword('Alice@example.com', 'a new password');
  t.equal(await dir.authenticate('alice@example.com', PASSWORD), null);
  t.equal(await dir.authenticate('alice@example.com', 'a new password'), 'alice@example.com');
  await t.rejects(dir.setPassword('alice@example.com', 'short'), { code: 'INVALID' });
  await t.rejects(dir.setPassword('nobody@example.com', 'a new password'), { code: 'NOT_FOUND' });
  t.match(await dir.getUser('alice@example.com'), { address: 'alice@example.com' }, 'the rest of the record is kept');
});

t.test('aliases: add, list, delete, and what addAlias refuses', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com', 'bob@example.com']);
  const dir = store.directory;
  t.same(await dir.addAlias('Sales@Example.com', ['BOB@example.com', 'alice@example.com', 'bob@example.com']), {
    alias: 'sales@example.com',
    targets: ['bob@example.com', 'alice@example.com'],
  });
  t.same(await dir.addAlias('@Example.COM', ['alice@example.com']), { alias: '@example.com', targets: ['alice@example.com'] });
  const refused: Array<[alias: string, targets: string[], code: string]> = [
    ['alice@example.com', ['bob@example.com'], 'ALREADY_EXISTS'],
    ['info@remote.test', ['alice@example.com'], 'INVALID'],
    ['@remote.test', ['alice@example.com'], 'INVALID'],
    ['info@example.com', [], 'INVALID'],
    ['info@example.com', ['not an address'], 'INVALID'],
    ['"info"@example.com', ['alice@example.com'], 'INVALID'],
  ];
  for (const [alias, targets, code] of refused) {
    await t.rejects(dir.addAlias(alias, targets), { code }, `${alias} -> ${targets.join(',')}`);
  }
  t.same((await dir.listAliases()).map((a) => a.alias), ['@example.com', 'sales@example.com']);
  await dir.deleteAlias('@EXAMPLE.com');
  await dir.deleteAlias('SALES@example.com');
  t.same(await dir.listAliases(), []);
  await t.rejects(dir.deleteAlias('sales@example.com'), { code: 'NOT_FOUND' });
  // Without a catch-all, a local target must exist.
  await t.rejects(dir.addAlias('info@example.com', ['nobody@example.com']), { code: 'INVALID', message: /nobody@example\.com/ });
});

t.test('resolve: mailboxes, plus-addressing, aliases, catch-all, remote', async (t) => {
  const store = await provisioned(t, ['example.com', 'other.test'], ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@other.test']);
  const dir = store.directory;
  await dir.addAlias('sales@example.com', ['alice@example.com', 'bob@example.com']);
  await dir.addAlias('team@example.com', ['sales@example.com', 'carol@example.com', 'alice@example.com']);
  await dir.addAlias('fwd@example.com', ['Someone@Remote.test']);
  await dir.addAlias('both@example.com', ['alice+lists@example.com', 'x@remote.test']);
  await dir.addAlias('@example.com', ['carol@example.com']);
  const cases: Array<[address: string, want: { local: string[]; remote: string[] } | null]> = [
    ['alice@example.com', { local: ['alice@example.com'], remote: [] }],
    ['ALICE@Example.COM', { local: ['alice@example.com'], remote: [] }],
    ['alice+news@example.com', { local: ['alice@example.com'], remote: [] }],
    ['Alice+News@example.com.', { local: ['alice@example.com'], remote: [] }],
    ['sales@example.com', { local: ['alice@example.com', 'bob@example.com'], remote: [] }],
    ['sales+q3@example.com', { local: ['alice@example.com', 'bob@example.com'], remote: [] }],
    // An alias of an alias, each mailbox once.
    ['team@example.com', { local: ['alice@example.com', 'bob@example.com', 'carol@example.com'], remote: [] }],
    ['fwd@example.com', { local: [], remote: ['someone@remote.test'] }],
    ['both@example.com', { local: ['alice@example.com'], remote: ['x@remote.test'] }],
    // Nobody has these: the catch-all takes them.
    ['nobody@example.com', { local: ['carol@example.com'], remote: [] }],
    ['nobody+x@example.com', { local: ['carol@example.com'], remote: [] }],
    // other.test has no catch-all.
    ['dave@other.test', { local: ['dave@other.test'], remote: [] }],
    ['dave+x@other.test', { local: ['dave@other.test'], remote: [] }],
    ['nobody@other.test', null],
    ['nobody+dave@other.test', null],
    ['+dave@other.test', null],
    ['not an address', null],
    // Another domain: relayed as it is (the local part folded like every address).
    ['someone@remote.test', { local: [], remote: ['someone@remote.test'] }],
    ['Someone@REMOTE.test', { local: [], remote: ['someone@remote.test'] }],
  ];
  for (const [address, want] of cases) t.same(await dir.resolve(address), want, address);
});

t.test('resolve: precedence of mailbox, alias and catch-all', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com', 'alice+x@example.com', 'bob@example.com', 'carol@example.com']);
  const dir = store.directory;
  await dir.addAlias('@example.com', ['carol@example.com']);
  await dir.addAlias('alice+y@example.com', ['bob@example.com']);
  await dir.addAlias('sales@example.com', ['bob@example.com']);
  const cases: Array<[address: string, local: string[], why: string]> = [
    ['alice@example.com', ['alice@example.com'], 'a mailbox beats the catch-all'],
    ['sales@example.com', ['bob@example.com'], 'an alias beats the catch-all'],
    ['alice+x@example.com', ['alice+x@example.com'], 'a mailbox named with the +detail beats the base mailbox'],
    ['alice+y@example.com', ['bob@example.com'], 'an alias named with the +detail beats the base mailbox'],
    ['alice+z@example.com', ['alice@example.com'], 'the base mailbox beats the catch-all'],
    ['alice+x+z@example.com', ['alice@example.com'], 'the detail starts at the first +'],
  ];
  for (const [address, local, why] of cases) t.same(await dir.resolve(address), { local, remote: [] }, `${address}: ${why}`);
});

t.test('resolve: alias loops terminate', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com']);
  const dir = store.directory;
  const alice = { local: ['alice@example.com'], remote: [] };
  // A loop can only be made by redefining an alias that another one already points at.
  await dir.addAlias('b@example.com', ['alice@example.com']);
  await dir.addAlias('a@example.com', ['b@example.com']);
  await dir.addAlias('b@example.com', ['a@example.com', 'alice@example.com']);
  t.same(await dir.resolve('a@example.com'), alice, 'a -> b -> a, with a way out at b');
  t.same(await dir.resolve('b@example.com'), alice);
  await dir.addAlias('c@example.com', ['a@example.com', 'b@example.com']);
  await dir.addAlias('a@example.com', ['b@example.com', 'c@example.com']);
  t.same(await dir.resolve('c@example.com'), alice, 'a tangle of three');
  t.ok(await dir.maySendAs('alice@example.com', 'c@example.com'));

  await dir.addAlias('b@example.com', ['a@example.com']);
  for (const address of ['a@example.com', 'b@example.com', 'c+x@example.com']) {
    t.equal(await dir.resolve(address), null, `${address}: a tangle with no way out reaches nobody`);
  }
  t.notOk(await dir.maySendAs('alice@example.com', 'a@example.com'));
  await t.rejects(dir.addAlias('self@example.com', ['self@example.com']), { code: 'INVALID' }, 'an alias to itself');
});

t.test('maySendAs: own addresses and aliases that reach the user, nothing else', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com', 'alice+x@example.com', 'bob@example.com', 'carol@example.com']);
  const dir = store.directory;
  await dir.addAlias('sales@example.com', ['alice@example.com', 'bob@example.com']);
  await dir.addAlias('team@example.com', ['sales@example.com']);
  await dir.addAlias('fwd@example.com', ['someone@remote.test']);
  await dir.addAlias('alice+y@example.com', ['bob@example.com']);
  await dir.addAlias('@example.com', ['carol@example.com']);
  const cases: Array<[user: string, sender: string, may: boolean, why: string]> = [
    ['alice@example.com', 'alice@example.com', true, 'own address'],
    ['alice@example.com', 'ALICE@Example.COM', true, 'own address in another case'],
    ['alice@example.com', 'alice+news@example.com', true, 'own address with a +detail'],
    ['alice@example.com', 'sales@example.com', true, 'an alias that reaches her'],
    ['alice@example.com', 'sales+q3@example.com', true, 'that alias with a +detail'],
    ['alice@example.com', 'team@example.com', true, 'an alias of an alias that reaches her'],
    ['bob@example.com', 'sales@example.com', true, 'an alias reaches each of its mailboxes'],
    ['carol@example.com', 'sales@example.com', false, 'an alias that does not reach her'],
    ['alice@example.com', 'bob@example.com', false, "another user's address"],
    ['alice@example.com', 'bob+x@example.com', false, "another user's address with a +detail"],
    ['alice@example.com', 'alice+x@example.com', false, 'alice+x is a mailbox of its own'],
    ['alice+x@example.com', 'alice+x@example.com', true, 'which its owner may use'],
    ['alice@example.com', 'alice+y@example.com', false, 'alice+y is an alias that goes to bob'],
    ['bob@example.com', 'alice+y@example.com', true, 'so bob may use it'],
    ['carol@example.com', 'nobody@example.com', false, 'the catch-all grants no sending rights'],
    ['carol@example.com', 'nobody+x@example.com', false, 'nor with a +detail'],
    ['carol@example.com', 'carol+x@example.com', true, 'her own address still works'],
    ['alice@example.com', 'fwd@example.com', false, 'an alias that only forwards away'],
    ['alice@example.com', 'alice@remote.test', false, 'the same name at another domain'],
    ['alice@example.com', '', false, 'the null sender'],
  ];
  for (const [user, sender, may, why] of cases) t.equal(await dir.maySendAs(user, sender), may, `${user} as ${JSON.stringify(sender)}: ${why}`);
});

t.test('deleting a user deletes its entries and the messages only it held', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com', 'bob@example.com']);
  const shared = await deliver(store, ['alice@example.com', 'bob@example.com'], 'shared'.repeat(20_000));
  const own = await deliver(store, ['alice@example.com'], 'own'.repeat(50_000));
  const bobs = await deliver(store, ['bob@example.com'], 'bob only');
  t.equal((await chunksOf(store, own)).length, 3, '150,000 bytes are three chunks');
  await store.directory.deleteUser('alice@example.com');

  t.same(await store.listMailbox('alice@example.com', 'INBOX'), []);
  t.same(await store.sub.folders.keys({ gt: 'alice@example.com\0', lt: 'alice@example.com\0\uffff' }).all(), [], 'every folder record is gone');
  t.equal(await store.getMessage(own), null, 'a message no one else holds is gone');
  t.same(await chunksOf(store, own), [], 'with all its chunks');
  t.match(await store.sub.messages.get(shared), { refs: 1 }, "bob's reference keeps the shared message");
  t.equal((await readBack(store, shared)).toString(), 'shared'.repeat(20_000));
  t.same((await store.listMailbox('bob@example.com', 'INBOX')).map((e) => e.messageId), [shared, bobs]);
  t.same((await store.directory.listUsers()).map((u) => [u.address, u.messages]), [['bob@example.com', 2]]);

  // The address can be given out again, and starts empty.
  await store.directory.addUser('alice@example.com', PASSWORD);
  t.same(await store.listMailbox('alice@example.com', 'INBOX'), []);
  t.match(await store.directory.listUsers(), [{ address: 'alice@example.com', messages: 0, bytes: 0 }, { address: 'bob@example.com' }]);
});

t.test('deleting a mailbox takes it out of the aliases that named it', async (t) => {
  const store = await provisioned(t, ['example.com'], ['alice@example.com', 'bob@example.com']);
  await store.directory.addAlias('team@example.com', ['alice@example.com', 'bob@example.com']);
  await store.directory.addAlias('only-bob@example.com', ['bob@example.com']);
  await store.directory.addAlias('@example.com', ['alice@example.com']);
  await store.directory.deleteUser('bob@example.com');
  t.same(await store.directory.listAliases(), [
    { alias: '@example.com', targets: ['alice@example.com'] },
    { alias: 'team@example.com', targets: ['alice@example.com'] },
  ]);
  t.same(await store.directory.resolve('only-bob@example.com'), { local: ['alice@example.com'], remote: [] }, 'the dropped alias falls to the catch-all, like any unknown address');
});

t.test('postmaster is always deliverable (RFC 5321 4.5.1)', async (t) => {
  const store = await provisioned(t, ['example.com', 'other.test', 'empty.test'], ['alice@example.com', 'bob@other.test', 'carol@other.test']);
  const dir = store.directory;
  t.same(await dir.resolve('PostMaster@other.test'), { local: ['bob@other.test'], remote: [] }, "the domain's first mailbox");
  t.same(await dir.resolve('postmaster@empty.test'), { local: ['alice@example.com'], remote: [] }, "a domain without mailboxes: the box's first");
  await dir.addAlias('postmaster@other.test', ['carol@other.test']);
  t.same(await dir.resolve('postmaster@other.test'), { local: ['carol@other.test'], remote: [] }, 'an alias of that name wins');
  t.equal(await dir.resolve('webmaster@other.test'), null, 'other role names are not special');
});
