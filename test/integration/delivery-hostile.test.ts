// Store-and-forward against remote servers that lie or bloat (issue 15): a megabyte of reply text per
// recipient is cut to a few hundred bytes everywhere it is kept (queue entry, log, DSN); a multi-line
// refusal reaches the DSN as one line without its `550-`; a domain whose best MX is this box bounces as
// a loop instead of circling; a message that has already passed 50 hosts is refused; and an MX that
// takes the connection but never greets does not count as "outbound port 25 blocked".
import t, { type Test } from 'tap';
import type { RunningAppliance } from '../helpers/appliance.js';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { startHostileMx } from '../helpers/hostile-mx.js';
import { ALICE, compose, deliveryStatus, readInbox, sharedPort, startQueueAppliance, submit, waitForEmptyQueue, waitForQueue } from '../helpers/queue.js';
import { SmtpClient } from '../helpers/smtp.js';

// Appliances, DNS and remote MXs per subtest, and deferrals that wait for their retry.
t.setTimeout(180_000);

const MX = '127.0.0.2';
const SILENT = '127.0.0.3';
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

async function rig(t: Test, rcpt: (address: string) => string): Promise<RunningAppliance | null> {
  const port = await sharedPort([MX, SILENT]);
  const dns = await startDnsmasq(t, zone());
  if (!dns) return null;
  await startHostileMx(t, { host: MX, port, rcpt });
  await startHostileMx(t, { host: SILENT, port, greet: false });
  // Retries far apart: a deferred recipient stays deferred while the test looks at it.
  return startQueueAppliance(t, { dnsServer: dns.server, mxPort: port, queue: { commandTimeoutSeconds: 2, connectTimeoutSeconds: 2, retryFirstSeconds: 60, retryMaxSeconds: 120 } });
}

t.test('a megabyte of reply text per recipient is kept as a few hundred bytes everywhere', async (t) => {
  const app = await rig(t, () => `450 4.2.2 ${MEGABYTE_OF_TEXT}`);
  if (!app) return;
  const recipients = Array.from({ length: 20 }, (_, i) => `user${i}@remote.test`);
  await submit(app, [{ to: recipients, raw: compose({ to: recipients, subject: 'bloat' }) }]);
  const [entry] = await waitForQueue(app, 'every recipient deferred', (entries) => entries[0]?.recipients.every((r) => r.state === 'deferred') ?? false);
  for (const r of entry?.recipients ?? []) {
    t.ok((r.lastError?.length ?? 0) <= 320, `${r.address}: ${r.lastError?.length} characters kept`);
    t.match(r.lastError, /^450 4\.2\.2 x+ \[\.\.\.\]$/, 'the codes whole, in front');
  }
  const listing = await app.cli(['queue', 'list', '--json']);
  t.ok(listing.stdout.length < 64 * 1024, `queue list is ${listing.stdout.length} bytes`);
  const logBytes = app.logs.reduce((sum, line) => sum + JSON.stringify(line).length, 0);
  t.ok(logBytes < 256 * 1024, `the whole log so far is ${logBytes} bytes`);
  t.equal((await app.cli(['queue', 'bounce', entry?.id ?? ''])).code, 0);
  const [bounce] = await readInbox(app, ALICE);
  t.ok(bounce && bounce.bytes.length < 64 * 1024, `the bounce is ${bounce?.bytes.length} bytes`);
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
