// Quotas at the SMTP door, against the real appliance: a full mailbox answers 452 4.2.2 at RCPT (RFC
// 3463 X.2.2), a declared SIZE (RFC 1870) or a message larger than the whole quota 552 5.2.2, a message
// reaching DATA for a mailbox under its quota is delivered even past it (a soft limit), and
// `letterbox user list --json` shows the use against the quota.
import t from 'tap';
import { BOB, DOMAIN } from '../helpers/addresses.js';
import { provision, startAppliance, waitForLog, type RunningAppliance } from '../helpers/appliance.js';
import { readMailbox, withStore } from '../helpers/mailbox.js';
import { bigMessage } from '../helpers/messages.js';
import { SmtpClient, swaks } from '../helpers/smtp.js';
import { needPeer } from '../helpers/peers.js';

t.setTimeout(180_000);

const FULL = `full@${DOMAIN}`;
const SMALL = `small@${DOMAIN}`;
const QUOTA = 5_000;
const SENDER = 'sender@remote.test';

/** Users with quotas, set with `letterbox user quota` while the appliance runs. */
async function applianceWithQuotas(): Promise<RunningAppliance> {
  const app = await startAppliance();
  await provision(app, [DOMAIN], [FULL, SMALL, BOB]);
  for (const user of [FULL, SMALL]) {
    const set = await app.cli(['user', 'quota', user, String(QUOTA)]);
    if (set.code !== 0) throw new Error(`user quota ${user}: ${set.stderr}`);
  }
  return app;
}

t.test('RCPT: 452 4.2.2 once a mailbox is full; under its quota a message is delivered even past it', async (t) => {
  const app = await applianceWithQuotas();
  t.teardown(() => app.cleanup());
  const client = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => client.destroy());
  await client.ehlo();
  const first = await client.transaction(SENDER, [FULL], bigMessage(SENDER, FULL, 3_000));
  t.match(first.at(-1)?.raw, /^250 /, 'under the quota: delivered');
  const second = await client.transaction(SENDER, [FULL], bigMessage(SENDER, FULL, 3_000));
  t.match(second.at(-1)?.raw, /^250 /, 'still under it at RCPT: delivered, and now past it (soft limit)');
  t.match((await client.command(`MAIL FROM:<${SENDER}>`)).raw, /^250 /);
  t.match((await client.command(`RCPT TO:<${FULL}>`)).raw, /^452 4\.2\.2 .*Mailbox full/, 'full: a temporary refusal');
  t.match((await client.command(`RCPT TO:<${BOB}>`)).raw, /^250 /, 'another recipient is fine');
  await client.command('RSET');

  const list = await app.cli(['user', 'list', '--json']);
  t.equal(list.code, 0);
  const users = JSON.parse(list.stdout) as { address: string; messages: number; bytes: number; quota: number }[];
  const full = users.find((u) => u.address === FULL);
  t.match(full, { messages: 2, quota: QUOTA }, 'user list shows use against quota');
  t.ok((full?.bytes ?? 0) > QUOTA, 'over it');
  const human = await app.cli(['user', 'list']);
  t.match(human.stdout, new RegExp(`${FULL}.*\\(\\d+%\\)`));
});

t.test('552 5.2.2: a declared SIZE or a message larger than the whole quota', async (t) => {
  const app = await applianceWithQuotas();
  t.teardown(() => app.cleanup());
  const client = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => client.destroy());
  await client.ehlo();
  t.match((await client.command(`MAIL FROM:<${SENDER}> SIZE=${QUOTA + 1}`)).raw, /^250 /);
  t.match((await client.command(`RCPT TO:<${SMALL}>`)).raw, /^552 5\.2\.2 /, 'RFC 1870: the declared size is over the quota');
  t.match((await client.command(`RCPT TO:<${BOB}>`)).raw, /^250 /, 'no quota, no refusal');
  await client.command('RSET');

  const alone = await client.transaction(SENDER, [SMALL], bigMessage(SENDER, SMALL, QUOTA + 2_000));
  t.match(alone.at(-1)?.raw, /^552 5\.2\.2 /, 'after DATA, the only recipient: refused');
  const shared = await client.transaction(SENDER, [SMALL, BOB], bigMessage(SENDER, BOB, QUOTA + 2_000));
  t.match(shared.at(-1)?.raw, /^250 /, 'with another recipient: delivered to that one');
  await waitForLog(app, /whose whole quota is smaller than it/);
  await client.quit();
  t.equal(await app.stop(), 0);
  await withStore(app.dataDir, async (store) => {
    t.equal((await readMailbox(store, SMALL)).length, 0, 'nothing for the small mailbox');
    t.equal((await readMailbox(store, BOB)).length, 1, 'bob has it');
    t.equal((await store.check({ bodies: true })).consistent, true);
  });
});

t.test('letterbox user quota: sizes with units, none, and clear refusals', async (t) => {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [FULL]);
  const set = await app.cli(['user', 'quota', FULL, '500M']);
  t.equal(set.code, 0, set.stderr);
  t.match(set.stdout, `the quota of ${FULL} is 500 MB now`);
  const listed = JSON.parse((await app.cli(['user', 'list', '--json'])).stdout) as { address: string; quota: number }[];
  t.equal(listed.find((u) => u.address === FULL)?.quota, 500 * 1024 * 1024);
  const none = await app.cli(['user', 'quota', FULL, 'none']);
  t.match(none.stdout, `${FULL} has no quota now`);
  const bad = await app.cli(['user', 'quota', FULL, 'lots']);
  t.equal(bad.code, 2, 'a size that is not one is bad usage');
  t.match(bad.stderr, /not a size: lots/);
  const nobody = await app.cli(['user', 'quota', `nobody@${DOMAIN}`, '1G']);
  t.equal(nobody.code, 1);
  t.match(nobody.stderr, /no such mailbox/);
});

t.test('swaks sees the same answers', async (t) => {
  const path = needPeer(t, 'swaks', 'swaks');
  if (!path) return;
  const app = await applianceWithQuotas();
  t.teardown(() => app.cleanup());
  const big = await swaks(path, ['--port', String(app.ports.smtp), '--from', SENDER, '--to', SMALL, '--body', 'x'.repeat(QUOTA + 100)]);
  t.match(big.transcript, /552 5\.2\.2 /);
  t.not(big.code, 0);
  const small = await swaks(path, ['--port', String(app.ports.smtp), '--from', SENDER, '--to', SMALL, '--body', 'hello']);
  t.equal(small.code, 0, small.transcript);
});
