// Store-and-forward against remote servers that lie or bloat (issue 15): a megabyte of reply text per
// recipient is cut to a few hundred bytes everywhere it is kept (queue entry, log, DSN), and 100 such
// replies leave the appliance alive in a 512 MB memory cgroup; a multi-line
// refusal reaches the DSN as one line without its `550-`, and so does a smarthost's multi-line refusal of
// STARTTLS, which used to come quoted twice; a domain whose best MX is this box bounces as
// a loop instead of circling; a message that has already passed 50 hosts is refused; and an MX that
// takes the connection but never greets does not count as "outbound port 25 blocked".
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { useUnitEnvironment, waitForLog, type RunningAppliance } from '../helpers/appliance.js';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { startHostileMx, type MxPace, type MxStage } from '../helpers/hostile-mx.js';
import { ALICE, compose, deliveryStatus, queueEntries, readInbox, setRelay, sharedPort, startQueueAppliance, submit, waitForEmptyQueue, waitForQueue, type QueueSettings } from '../helpers/queue.js';
import { residentMb } from '../helpers/attacks.js';
import { limitMemory } from '../helpers/memory-limit.js';
import { SmtpClient } from '../helpers/smtp.js';

// Appliances, DNS and remote MXs per subtest, and deferrals that wait for their retry.
t.setTimeout(180_000);

const MX = '127.0.0.2';
const SILENT = '127.0.0.3';
const SMARTHOST = '127.0.0.4';
/** Under the 64 KiB a reply may have (connection.ts); a reply line should be at most 512 octets. */
const LONG_TEXT = 'x'.repeat(60 * 1024);
const MEGABYTE_OF_TEXT = 'x'.repeat(900 * 1024);

// Each subtest has its own appliance, DNS and remote MXs; most of their time is spent waiting.
t.jobs = 5;

function zone(): DnsZone {
  return {
    mx: [
      { domain: 'remote.test', host: 'mx.remote.test', preference: 10 },
      { domain: 'loop.test', host: 'mx.letterbox.test', preference: 10 },
      { domain: 'silent1.test', host: 'mx.silent.test', preference: 10 },
      { domain: 'silent2.test', host: 'mx.silent.test', preference: 10 },
      { domain: 'silent3.test', host: 'mx.silent.test', preference: 10 },
    ],
    hosts: [
      { name: 'mx.remote.test', addresses: [MX] },
      { name: 'mx.silent.test', addresses: [SILENT] },
      { name: 'mx.letterbox.test', addresses: ['127.0.0.1'] },
    ],
  };
}

async function rig(t: Test, rcpt: (address: string) => string, queue: Partial<QueueSettings> = {}, pace?: (stage: MxStage) => MxPace): Promise<RunningAppliance | null> {
  const port = await sharedPort([MX, SILENT, SMARTHOST]);
  const dns = await startDnsmasq(t, zone());
  if (!dns) return null;
  await startHostileMx(t, { host: MX, port, rcpt, ...(pace ? { pace } : {}) });
  await startHostileMx(t, { host: SILENT, port, greet: false });
  // Announces STARTTLS and then refuses it, on three lines.
  const starttls = '454-4.7.0 TLS is not\r\n454-4.7.0 available\r\n454 4.7.0 right now';
  await startHostileMx(t, { host: SMARTHOST, port, reply: { ehlo: '250-hostile.test\r\n250 STARTTLS', starttls } });
  // Retries far apart: a deferred recipient stays deferred while the test looks at it.
  return startQueueAppliance(t, { dnsServer: dns.server, mxPort: port, queue: { commandTimeoutSeconds: 2, connectTimeoutSeconds: 2, retryFirstSeconds: 60, retryMaxSeconds: 120, ...queue } });
}

t.test('60 KB of reply text per recipient is kept as a few hundred bytes everywhere, in 512 MB', async (t) => {
  useUnitEnvironment();
  // Half the recipients deferred, half refused, each with 60 KB of text: 6 MB of replies in one attempt.
  const app = await rig(t, (address) => `${/^user[0-4]\d@/.test(address) ? '450 4.2.2' : '550 5.1.1'} ${LONG_TEXT}`);
  if (!app) return;
  // As on a 512 MB Pi: before the caps, a megabyte per recipient grew the process to 1.4 GB and it was killed.
  const limit = limitMemory(t, app.child.pid!, 512 * 1024 * 1024);
  t.comment(limit ? `memory limited to 512 MB by a ${limit.kind}` : 'no memory cgroup here: resident memory is checked instead');
  const recipients = Array.from({ length: 100 }, (_, i) => `user${String(i).padStart(2, '0')}@remote.test`);
  await submit(app, [{ to: recipients, raw: compose({ to: recipients, subject: 'bloat' }) }]);
  const [entry] = await waitForQueue(app, 'half deferred, half bounced', (entries) => entries[0]?.recipients.filter((r) => r.state === 'deferred').length === 50);
  for (const r of entry?.recipients.slice(0, 3) ?? []) {
    t.ok((r.lastError?.length ?? 0) <= 320, `${r.address}: ${r.lastError?.length} characters kept`);
    t.match(r.lastError, /^450 4\.2\.2 x+ \[\.\.\.\]$/, 'the codes whole, in front');
  }
  t.ok(entry?.recipients.every((r) => (r.lastError?.length ?? 0) <= 320), 'every answer kept short');
  const listing = await app.cli(['queue', 'list', '--json']);
  t.ok(listing.stdout.length < 128 * 1024, `queue list is ${listing.stdout.length} bytes`);
  const logBytes = app.logs.reduce((sum, line) => sum + JSON.stringify(line).length, 0);
  t.ok(logBytes < 512 * 1024, `the whole log so far is ${logBytes} bytes`);
  t.equal(app.child.exitCode, null, 'the appliance is alive');
  const rss = residentMb(app.child.pid!);
  t.ok(rss < 250, `resident memory after the attempt: ${rss.toFixed(0)} MB`);
  const peak = limit?.peakBytes();
  if (peak !== undefined) t.ok(peak < 512 * 1024 * 1024, `the most the cgroup used: ${(peak / 1048576).toFixed(0)} MB`);
  // Read from the store, which stops the appliance.
  const [bounce] = await readInbox(app, ALICE);
  t.ok(bounce && bounce.bytes.length < 128 * 1024, `the bounce for the 50 refused is ${bounce?.bytes.length} bytes`);
  const reported = deliveryStatus(bounce!)?.recipients ?? [];
  t.equal(reported.length, 50, 'one report per refused recipient');
  t.match(reported[0], { status: '5.1.1', 'diagnostic-code': /^smtp; ?550 5\.1\.1 x+ \[\.\.\.\]$/ }, 'each quotes the refusal, cut');
});

t.test('a reply over 64 KiB ends the session: its recipients are deferred, nothing of it kept', async (t) => {
  const app = await rig(t, () => `550 5.1.1 ${MEGABYTE_OF_TEXT}`);
  if (!app) return;
  const recipients = ['carol@remote.test', 'dave@remote.test'];
  await submit(app, [{ to: recipients, raw: compose({ to: recipients, subject: 'flooded' }) }]);
  const [entry] = await waitForQueue(app, 'both deferred', (entries) => entries[0]?.recipients.every((r) => r.state === 'deferred') ?? false);
  for (const r of entry?.recipients ?? []) {
    t.ok((r.lastError?.length ?? 0) <= 320, `${r.address}: ${r.lastError}`);
    t.notMatch(r.lastError, /xxxx/, 'none of the flood is kept');
  }
  t.equal(app.child.exitCode, null, 'the appliance is alive');
});

t.test('SIGTERM while the far side trickles its EHLO reply: the stop interrupts the attempt at its grace', async (t) => {
  const app = await rig(t, () => '250 2.1.5 Ok', {}, (stage) => (stage === 'ehlo' ? 'trickle' : 'whole'));
  if (!app) return;
  await submit(app, [{ to: ['carol@remote.test'], raw: compose({ to: ['carol@remote.test'], subject: 'stuck' }) }]);
  await waitForQueue(app, 'the attempt in flight', (entries) => entries[0]?.recipients[0]?.state === 'inflight');
  const began = Date.now();
  t.equal(await app.stop(), 0, 'a clean exit');
  const took = Date.now() - began;
  // Before: still running 60 s after SIGTERM. The queue's grace is 10 s, then the attempt is interrupted.
  t.ok(took < 30_000, `the process ended ${took} ms after SIGTERM`);
  t.ok(app.logs.some((e) => e.msg === 'stopping: interrupting the delivery attempts still running'), 'the stop said so');
  await app.restart();
  const [entry] = await queueEntries(app);
  t.match(entry?.recipients[0], { address: 'carol@remote.test', attempts: 0 }, 'the interrupted attempt was not counted; the next start tries again');
});

t.test('a multi-line refusal reaches the DSN on one line, its codes once', async (t) => {
  const app = await rig(t, () => '550-5.1.1 The mailbox you tried\r\n550-5.1.1 does not exist here\r\n550 5.1.1 see https://hostile.test/why');
  if (!app) return;
  await submit(app, [{ to: ['gone@remote.test'], raw: compose({ to: ['gone@remote.test'], subject: 'multi' }) }]);
  await waitForEmptyQueue(app);
  const [bounce] = await readInbox(app, ALICE);
  const status = bounce && deliveryStatus(bounce);
  t.equal(status?.recipients[0]?.['diagnostic-code'], 'smtp; 550 5.1.1 The mailbox you tried does not exist here see https://hostile.test/why');
});

t.test('a smarthost refusing STARTTLS on several lines reaches the DSN on one line, its codes once', async (t) => {
  // Tried again a second later, by when the message is old enough for a delay warning: its DSN shows
  // the last error.
  const app = await rig(t, () => '250 2.1.5 Ok', { retryFirstSeconds: 1, warnAfterSeconds: 1 });
  if (!app) return;
  const port = (JSON.parse(readFileSync(app.configFile, 'utf8')) as { delivery: { mxPort: number } }).delivery.mxPort;
  await setRelay(app, { host: SMARTHOST, port, tls: 'starttls', mode: 'always' });
  await submit(app, [{ to: ['someone@remote.test'], raw: compose({ to: ['someone@remote.test'], subject: 'no tls' }) }]);
  await waitForLog(app, 'delay warning sent');
  const [warning] = await readInbox(app, ALICE);
  const status = warning && deliveryStatus(warning);
  t.match(status?.recipients[0], { action: 'delayed', 'diagnostic-code': /failed: Error upgrading connection with STARTTLS: 454 4\.7\.0 TLS is not available right now$/ });
  t.notMatch(warning?.bytes.toString(), /454-/, 'no continuation prefix anywhere in the DSN');
});

t.test('a domain whose best MX is this box bounces at once as a loop', async (t) => {
  const app = await rig(t, () => '250 2.1.5 Ok');
  if (!app) return;
  await submit(app, [{ to: ['someone@loop.test'], raw: compose({ to: ['someone@loop.test'], subject: 'loop' }) }]);
  await waitForEmptyQueue(app);
  const [bounce] = await readInbox(app, ALICE);
  const status = bounce && deliveryStatus(bounce);
  t.match(status?.recipients[0], { status: '5.4.6', 'diagnostic-code': /loops back to myself/ });
});

t.test('a message that already passed 50 hosts is refused with 554 5.4.6', async (t) => {
  const app = await rig(t, () => '250 2.1.5 Ok');
  if (!app) return;
  const client = await SmtpClient.connect(app.ports.smtp);
  t.teardown(() => client.quit());
  await client.ehlo();
  const trace = Array.from({ length: 50 }, (_, i) => `Received: from hop${i}.test by hop${i + 1}.test; Sat, 28 Nov 2026 08:00:00 +0000\r\n`).join('');
  const replies = await client.transaction('looping@elsewhere.test', [ALICE], `${trace}Subject: round and round\r\n\r\nagain\r\n`);
  t.match(replies.at(-1)?.raw, /^554 5\.4\.6 Too many hops \(50 Received: headers\)/);
  const fewer = await client.transaction('fine@elsewhere.test', [ALICE], `${trace.split('\r\n').slice(1).join('\r\n')}Subject: 49 hops\r\n\r\nok\r\n`);
  t.match(fewer.at(-1)?.raw, /^250 /, '49 are still fine');
});

t.test('MXs that take the connection and never greet do not make outbound port 25 look blocked', async (t) => {
  const app = await rig(t, () => '250 2.1.5 Ok');
  if (!app) return;
  const silent = ['a@silent1.test', 'b@silent2.test', 'c@silent3.test'];
  await submit(app, silent.map((to) => ({ to: [to], raw: compose({ to: [to], subject: 'silent' }) })));
  const entries = await waitForQueue(app, 'all three tried', (found) => found.length === 3 && found.every((e) => e.recipients.every((r) => /never greeted/.test(r.lastError ?? ''))));
  t.match(entries[0]?.recipients[0], { state: 'deferred', lastError: /accepted the connection but never greeted/ });
  const status = JSON.parse((await app.cli(['status', '--json'])).stdout) as { delivery: { outboundPort25Blocked: boolean } };
  t.equal(status.delivery.outboundPort25Blocked, false);
});
