// A power cut in the middle of delivery (issue 3): 200 queued messages are on their way to a remote MX
// (smtp-sink, which keeps each message it accepted in a file; the Subject is the message's token) when
// the appliance is killed with SIGKILL. After a restart (and a `queue retry --all`, as retries are an
// hour apart here) every message arrives, none is lost, and the only ones that arrive twice are ones
// the far side had accepted before the kill.
//
// The bound on duplicates. The far side's acceptance of each message is written to the store before
// the connection carries the next one (src/queue/scheduler.ts recordAccepted), so what can arrive twice
// is what the MX accepted in the instant of the kill: the transaction in flight on each connection,
// and one more whose write had not finished. Before that change this test saw ~40 of 40.
import t from 'tap';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { compose } from '../helpers/messages.js';
import { portFreeOnAll } from '../helpers/ports.js';
import { queueEntries, startDumpSink, startQueueAppliance, submit, waitForEmptyQueue, waitForQueue } from '../helpers/queue.js';

// A slow file (issue 16): about 46 s in a quiet run of the suite, 87 s beside two busy loops and other
// work: near or over the suite's default time-out of 60 s (package.json). A hang still ends well before 300 s.
t.setTimeout(180_000);

const MX = '127.0.0.2';
const TOTAL = 200;
const PER_DOMAIN = 4;
const MAX_BATCH = 50; // src/queue/scheduler.ts
const KILL_AFTER = 40;

const token = (i: number) => `crash-token-${String(i).padStart(3, '0')}`;

t.test(`SIGKILL while ${TOTAL} messages are being delivered: after a restart all arrive, duplicates only from before the kill`, async (t) => {
  const port = await portFreeOnAll([MX]);
  const dns = await startDnsmasq(t, { mx: [{ domain: 'remote.test', host: 'mx.remote.test', preference: 10 }], hosts: [{ name: 'mx.remote.test', addresses: [MX] }] });
  if (!dns) return;
  // The MX is down while the messages are queued, and retries are an hour apart: nothing moves until
  // `queue retry --all` makes all of them due at once (PER_DOMAIN calls of MAX_BATCH messages).
  const app = await startQueueAppliance(t, {
    dnsServer: dns.server,
    mxPort: port,
    queue: { retryFirstSeconds: 3600, retryMaxSeconds: 3600, maxInFlightPerDomain: PER_DOMAIN, maxInFlight: 20 },
  });
  const recipients = (i: number) => [`rcpt${i % 10}@remote.test`];
  await submit(app, Array.from({ length: TOTAL }, (_, i) => ({ to: recipients(i), raw: compose({ to: recipients(i), subject: token(i) }) })));
  await waitForQueue(app, `${TOTAL} deferred messages`, (entries) => entries.length === TOTAL && entries.every((e) => e.recipients[0]?.state === 'deferred'));

  // Once KILL_AFTER messages have reached the MX whole, it is held: nothing more the appliance sends
  // gets there (the transactions on each connection stay in flight), and the appliance is killed then,
  // even before the `queue retry` command has finished exiting. Without the hold, a loaded machine
  // could let the deliveries run far past the kill point, or all the way to the end, before the kill.
  const mx = await startDumpSink(t, { host: MX, port, hostname: 'mx.remote.test', hold: { after: /^\.$/, count: KILL_AFTER } });
  if (!mx) return;
  const killed = mx.held().then(() => app.stop('SIGKILL'));
  const retry = await app.cli(['queue', 'retry', '--all']);
  t.equal(retry.code, 0, retry.stderr);
  await killed;
  // The connections are gone with the appliance (what it sent after the hold never reached the MX);
  // once the MX has ended every session, it has written every message it accepted.
  await mx.ended(mx.sessions().length);
  mx.release();
  const beforeKill = new Set(mx.mails().map((m) => m.subject));
  t.comment(`the MX had accepted ${beforeKill.size} of ${TOTAL} messages at the kill`);
  t.ok(beforeKill.size >= KILL_AFTER && beforeKill.size < TOTAL, 'killed in the middle of the deliveries');

  // What the store holds after the power cut: the entries as last written, due in an hour.
  await app.restart();
  const after = await queueEntries(app);
  t.ok(after.length >= TOTAL - beforeKill.size, `${after.length} entries still queued after the restart: at least every one the MX had not taken`);
  t.equal((await app.cli(['queue', 'retry', '--all'])).code, 0);
  await waitForEmptyQueue(app, 60_000);
  t.same(await queueEntries(app), []);

  const copies = new Map<string, number>();
  for (const mail of mx.mails()) copies.set(mail.subject, (copies.get(mail.subject) ?? 0) + 1);
  const missing = Array.from({ length: TOTAL }, (_, i) => token(i)).filter((tok) => !copies.has(tok));
  t.same(missing, [], 'every message arrived: none lost');
  t.equal(copies.size, TOTAL, 'and nothing else arrived');
  const twice = [...copies].filter(([, n]) => n > 1);
  const duplicates = twice.reduce((sum, [, n]) => sum + n - 1, 0);
  t.comment(`duplicates after the crash: ${duplicates} (messages sent twice: ${twice.length}; accepted before the kill: ${beforeKill.size})`);
  t.ok(twice.every(([tok, n]) => n === 2 && beforeKill.has(tok)), 'only messages the MX had accepted before the kill came twice, and only twice');
  t.ok(duplicates <= Math.min(beforeKill.size, PER_DOMAIN * MAX_BATCH), `duplicates (${duplicates}) within what the calls in flight held`);
  // Each acceptance is written as soon as the far side answers (src/queue/scheduler.ts recordAccepted),
  // while the connection goes on with the next message: at the kill, at most that write and the next
  // transaction per connection can be unrecorded.
  t.ok(duplicates <= 2 * PER_DOMAIN, `duplicates (${duplicates}) only for the transactions in flight on each of the ${PER_DOMAIN} connections`);
});
