// The queue's schedule with the product's default policy (first retry after 5 minutes, doubling up to
// an hour, a delay warning at 4 hours, giving up at 5 days), driven in process: a real store, the real
// delivery agent talking to dnsmasq and smtp-sink on loopback, a real bus, and a clock the test moves.
// Each attempt is an SMTP session at the sink, which is how the test sees that it happened, and when.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { LetterboxEvents } from '../../src/core/events.js';
import type { QueueScheduler } from '../../src/queue/scheduler.js';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { ALICE } from '../helpers/addresses.js';
import { parseReport } from '../helpers/dsn.js';
import { readMailbox } from '../helpers/mailbox.js';
import { portFreeOnAll } from '../helpers/ports.js';
import { startQueueRig, storeCounts, type QueueRig, type Teardown } from '../helpers/queue-store.js';
import { startSmtpSink, type RunningSink, type TapLike } from '../helpers/remote-mta.js';

const MX = '127.0.0.2'; // remote.test's MX: greylists or refuses, as the test says
const SENDER_MX = '127.0.0.3'; // elsewhere.test's MX: takes everything

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WARN_AFTER = 4 * HOUR;
const EXPIRE_AFTER = 5 * DAY;

const GREYLIST = ['-r', 'RCPT', '-b', '450 4.2.0 <carol@remote.test>: Recipient address rejected: Greylisted'];
const NO_SUCH_USER = ['-f', 'RCPT', '-B', '550 5.1.1 <carol@remote.test>: Recipient address rejected: User unknown'];

type StateEvent = LetterboxEvents['recipient.state'];

const ZONE: DnsZone = {
  mx: [
    { domain: 'remote.test', host: 'mx.remote.test', preference: 10 },
    { domain: 'elsewhere.test', host: 'mx.elsewhere.test', preference: 10 },
  ],
  hosts: [
    { name: 'mx.remote.test', addresses: [MX] },
    { name: 'mx.elsewhere.test', addresses: [SENDER_MX] },
  ],
};

interface Setup {
  rig: QueueRig;
  sink: RunningSink;
  port: number;
}

/** dnsmasq, remote.test's MX answering with `options`, and the rig; null when a peer is missing (skipped). */
async function setup(t: TapLike & Teardown, options: string[]): Promise<Setup | null> {
  const port = await portFreeOnAll([MX, SENDER_MX]);
  const dns = await startDnsmasq(t, ZONE);
  const sink = await startSmtpSink(t, { host: MX, port, hostname: 'mx.remote.test', options });
  if (!dns || !sink) return null;
  return { rig: await startQueueRig(t, { dnsServer: dns.server, mxPort: port }), sink, port };
}

/** The first attempt, made as soon as the message is queued; returns its result. */
async function firstAttempt(rig: QueueRig, queue: () => Promise<{ queueId: string }>): Promise<{ queueId: string; result: StateEvent }> {
  const from = rig.events.states.length;
  const { queueId } = await queue();
  const [result] = await rig.events.settled(from, 1, queueId);
  if (!result) throw new Error('no result');
  return { queueId, result };
}

interface Attempt {
  /** When it was due (and made). */
  due: number;
  result: StateEvent;
  /** Whether it started a millisecond before it was due. */
  early: boolean;
}

/** Moves the clock to the entry's next attempt, checking a millisecond before that nothing starts yet. */
async function nextAttempt(rig: QueueRig, scheduler: QueueScheduler, queueId: string): Promise<Attempt> {
  const entry = await rig.live(scheduler, queueId);
  const due = Math.min(...(entry?.recipients ?? []).filter((r) => r.state === 'deferred').map((r) => r.nextAttemptAt ?? Infinity));
  if (!Number.isFinite(due)) throw new Error(`nothing deferred in ${JSON.stringify(entry)}`);
  const from = rig.events.states.length;
  rig.clock.advance(due - 1 - rig.clock.now());
  const early = rig.events.launchedSince(from, queueId).length > 0;
  rig.clock.advance(1);
  const [result] = await rig.events.settled(from, 1, queueId);
  if (!result) throw new Error('no result');
  return { due, result, early };
}

async function inboxSize(rig: QueueRig): Promise<number> {
  return (await rig.store.listMailbox(ALICE, 'INBOX')).length;
}

function dateSeconds(value: string | undefined): number {
  return Math.floor(Date.parse(value ?? '') / 1000);
}

t.test('4xx after 4xx: retries at +5, +10, +20, +40 min then hourly; one delay warning after 4 h; a bounce after 5 days', async (t) => {
  const ready = await setup(t, GREYLIST);
  if (!ready) return;
  const { rig, sink } = ready;
  const scheduler = await rig.startScheduler();
  const { queueId, result: first } = await firstAttempt(rig, () => rig.queue({ recipients: ['carol@remote.test'], subject: 'Quarterly report' }));
  t.match(first, { state: 'deferred', detail: /^450 4\.2\.0 <carol@remote\.test>: Recipient address rejected: Greylisted/ });
  t.equal((await sink.ended(1)).length, 1, 'the first attempt was made at once');
  const createdAt = (await rig.store.getQueueEntry(queueId))?.createdAt ?? NaN;
  t.equal((await rig.live(scheduler, queueId))?.recipients[0]?.nextAttemptAt, rig.clock.now() + 5 * MINUTE);
  t.match(await rig.store.getQueueEntry(queueId), { recipients: [{ state: 'deferred', attempts: 1, nextAttemptAt: rig.clock.now() + 5 * MINUTE }] }, 'and so says the store');

  const attempts: (Attempt & { inbox: number })[] = [];
  const previous = rig.clock.now();
  while (attempts.at(-1)?.result.state !== 'bounced' && attempts.length < 200) {
    const attempt = await nextAttempt(rig, scheduler, queueId);
    await sink.ended(attempts.length + 2);
    attempts.push({ ...attempt, inbox: await inboxSize(rig) });
  }
  const gaps = attempts.map((a, i) => (a.due - (attempts[i - 1]?.due ?? previous)) / MINUTE);
  t.same(gaps.slice(0, 8), [5, 10, 20, 40, 60, 60, 60, 60], 'the first retries: 5, 10, 20, 40 minutes, then the 1-hour cap');
  t.ok(gaps.slice(4).every((gap) => gap === 60), 'every later retry an hour after the one before');
  t.same(attempts.filter((a) => a.early).map((a) => a.due), [], 'no attempt started before it was due');
  t.equal(sink.sessions().length, attempts.length + 1, 'one SMTP session per attempt, no more');

  // The warning: with the first attempt at or after 4 hours, and only then.
  const warned = attempts.findIndex((a) => a.inbox > 0);
  t.ok(attempts[warned] && attempts[warned].due - createdAt >= WARN_AFTER, 'the warning came at 4 hours or later');
  t.ok(attempts[warned - 1] && attempts[warned - 1]!.due - createdAt < WARN_AFTER, 'and not with an attempt before 4 hours');
  t.same([...new Set(attempts.slice(warned, -1).map((a) => a.inbox))], [1], 'exactly one warning until the bounce');

  // The bounce: with the first attempt at or after 5 days.
  const last = attempts.at(-1);
  t.match(last?.result, { state: 'bounced', detail: /Greylisted.*gave up: message expired after 5 days in the queue/ });
  t.ok(last && last.due - createdAt >= EXPIRE_AFTER, 'given up at 5 days');
  t.ok(attempts.at(-2) && attempts.at(-2)!.due - createdAt < EXPIRE_AFTER, 'not before: the attempt before was still a deferral');

  const inbox = await readMailbox(rig.store, ALICE);
  t.equal(inbox.length, 2, 'alice has a warning and a bounce');
  const warning = await parseReport(inbox[0]!.bytes);
  t.match(warning, { contentType: 'multipart/report', reportType: 'delivery-status', subject: 'Delayed Mail (still being retried)' });
  const delayed = warning.groups[1];
  t.equal(delayed?.get('final-recipient'), 'rfc822; carol@remote.test');
  t.equal(delayed?.get('action'), 'delayed');
  t.equal(delayed?.get('status'), '4.2.0');
  t.match(delayed?.get('diagnostic-code'), /^smtp; 450 4\.2\.0 .*Greylisted/);
  t.equal(dateSeconds(delayed?.get('will-retry-until')), Math.floor((createdAt + EXPIRE_AFTER) / 1000), 'Will-Retry-Until is the end of the 5 days');
  t.match(warning.returned, /Subject: Quarterly report/);

  const bounce = await parseReport(inbox[1]!.bytes);
  t.match(bounce, { contentType: 'multipart/report', reportType: 'delivery-status', subject: 'Undelivered Mail Returned to Sender' });
  t.equal(bounce.groups[1]?.get('action'), 'failed');
  t.equal(bounce.groups[1]?.get('final-recipient'), 'rfc822; carol@remote.test');
  t.match(bounce.groups[1]?.get('diagnostic-code'), /Greylisted.*expired/);
  t.equal(bounce.groups[1]?.get('will-retry-until'), undefined);
  t.match(bounce.returned, /Subject: Quarterly report/);

  t.same(await scheduler.listQueue(), [], 'the entry is gone from the schedule');
  t.same(await storeCounts(rig.store), { queue: 0, messages: 2, bodies: 2 }, 'and from the store, with the message: only the two DSNs are left');
});

/** First attempt deferred, then a jump to 4 hours after queueing (an attempt there), then one to 5 days. */
async function deferThroughExpiry(t: TapLike & Teardown, notify: string[] | undefined, sender?: string) {
  const ready = await setup(t, GREYLIST);
  if (!ready) return null;
  const { rig, sink } = ready;
  const scheduler = await rig.startScheduler();
  const recipient = { address: 'carol@remote.test', ...(notify ? { dsn: { notify } } : {}) };
  const { queueId } = await firstAttempt(rig, () => rig.queue({ recipients: [recipient], ...(sender !== undefined ? { sender } : {}) }));
  // The store dates the entry by the system clock; the times that count are measured from that.
  const createdAt = (await rig.store.getQueueEntry(queueId))?.createdAt ?? NaN;
  let from = rig.events.states.length;
  rig.clock.advance(createdAt + WARN_AFTER - rig.clock.now());
  const [atFourHours] = await rig.events.settled(from, 1, queueId);
  const inboxAtFourHours = await inboxSize(rig);
  from = rig.events.states.length;
  rig.clock.advance(createdAt + EXPIRE_AFTER - rig.clock.now());
  const [atFiveDays] = await rig.events.settled(from, 1, queueId);
  await sink.ended(3);
  return { rig, scheduler, queueId, atFourHours, inboxAtFourHours, atFiveDays };
}

t.test('NOTIFY=NEVER: no warning and no bounce, and the entry still goes at 5 days', async (t) => {
  const run = await deferThroughExpiry(t, ['NEVER']);
  if (!run) return;
  t.equal(run.atFourHours?.state, 'deferred');
  t.equal(run.inboxAtFourHours, 0, 'no delay warning');
  t.equal(run.atFiveDays?.state, 'bounced');
  t.equal(await inboxSize(run.rig), 0, 'no bounce');
  t.same(await run.scheduler.listQueue(), []);
  t.same(await storeCounts(run.rig.store), { queue: 0, messages: 0, bodies: 0 }, 'nothing left in the store');
});

t.test('NOTIFY=FAILURE: no warning, but a bounce at 5 days', async (t) => {
  const run = await deferThroughExpiry(t, ['FAILURE']);
  if (!run) return;
  t.equal(run.inboxAtFourHours, 0, 'no delay warning');
  t.equal(run.atFiveDays?.state, 'bounced');
  const inbox = await readMailbox(run.rig.store, ALICE);
  t.equal(inbox.length, 1);
  const bounce = await parseReport(inbox[0]!.bytes);
  t.equal(bounce.groups[1]?.get('action'), 'failed');
  t.same(await storeCounts(run.rig.store), { queue: 0, messages: 1, bodies: 1 }, 'only the bounce is left');
});

t.test('NOTIFY=DELAY,FAILURE: the warning once, then the bounce', async (t) => {
  const run = await deferThroughExpiry(t, ['DELAY', 'FAILURE']);
  if (!run) return;
  t.equal(run.inboxAtFourHours, 1, 'the delay warning at 4 hours');
  const inbox = await readMailbox(run.rig.store, ALICE);
  t.same(await Promise.all(inbox.map(async (m) => (await parseReport(m.bytes)).groups[1]?.get('action'))), ['delayed', 'failed']);
});

t.test('a message from <> that expires is dropped with a log line and no DSN', async (t) => {
  const run = await deferThroughExpiry(t, undefined, '');
  if (!run) return;
  t.equal(run.inboxAtFourHours, 0, 'no warning to <>');
  t.equal(run.atFiveDays?.state, 'bounced');
  t.match(run.rig.log.text(), /undeliverable message from <>: dropped without a DSN/);
  t.same(await storeCounts(run.rig.store), { queue: 0, messages: 0, bodies: 0 });
});

t.test('a 5xx for a message from <>: no DSN, a log line, the entry gone', async (t) => {
  const ready = await setup(t, NO_SUCH_USER);
  if (!ready) return;
  const { rig, sink } = ready;
  const scheduler = await rig.startScheduler();
  const { queueId, result } = await firstAttempt(rig, () => rig.queue({ sender: '', recipients: ['carol@remote.test'] }));
  t.match(result, { state: 'bounced', detail: /^550 5\.1\.1 / });
  t.match((await sink.ended(1))[0]?.commands, ['EHLO mx.letterbox.test', /^MAIL FROM:<> /, 'RCPT TO:<carol@remote.test>']);
  const line = rig.log.lines().find((l) => l.msg === 'undeliverable message from <>: dropped without a DSN');
  t.match(line, { queueId, recipients: ['carol@remote.test'] }, 'the log says which message and why');
  t.equal(await inboxSize(rig), 0);
  t.equal(rig.events.queued.length, 1, 'nothing new was queued');
  t.same(await scheduler.listQueue(), []);
  t.same(await storeCounts(rig.store), { queue: 0, messages: 0, bodies: 0 });
});

t.test('a 5xx for a remote sender: the DSN is queued from <> and delivered to the sender\'s MX', async (t) => {
  const ready = await setup(t, NO_SUCH_USER);
  if (!ready) return;
  const { rig, port } = ready;
  const dumps = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-dsn-dump-'));
  fs.chmodSync(dumps, 0o777); // smtp-sink runs as nobody when the tests run as root
  t.teardown(() => fs.rmSync(dumps, { recursive: true, force: true }));
  const senderMx = await startSmtpSink(t, { host: SENDER_MX, port, hostname: 'mx.elsewhere.test', options: ['-d', path.join(dumps, 'dsn.')] });
  if (!senderMx) return;
  const scheduler = await rig.startScheduler();

  const { queueId, result } = await firstAttempt(rig, () => rig.queue({ sender: 'bob@elsewhere.test', recipients: ['carol@remote.test'], subject: 'Invoice 42' }));
  t.equal(result.state, 'bounced');
  await rig.events.until(() => rig.events.queued.length === 2, 'the DSN queued');
  const dsn = rig.events.queued[1];
  t.not(dsn?.queueId, queueId, 'the DSN is a new queue entry');
  t.same(dsn?.recipients, ['bob@elsewhere.test']);
  const [delivered] = await rig.events.settled(0, 1, dsn?.queueId);
  t.equal(delivered?.state, 'delivered');
  t.same(rig.events.statesSince(0, dsn?.queueId).map((e) => e.state), ['inflight', 'delivered']);

  const [session] = await senderMx.ended(1);
  t.same(session?.commands.slice(1, 3), ['MAIL FROM:<> BODY=8BITMIME', 'RCPT TO:<bob@elsewhere.test>'], 'from the null reverse-path, to the sender');
  const [file] = fs.readdirSync(dumps);
  const dumped = fs.readFileSync(path.join(dumps, file ?? 'none'));
  // smtp-sink puts its own X- lines and a Received: header on top; the DSN follows.
  const report = await parseReport(dumped.subarray(dumped.indexOf('From:')));
  t.match(report, { contentType: 'multipart/report', reportType: 'delivery-status' });
  t.equal(report.groups[1]?.get('action'), 'failed');
  t.equal(report.groups[1]?.get('final-recipient'), 'rfc822; carol@remote.test');
  t.match(report.returned, /Subject: Invoice 42/);

  t.same(await scheduler.listQueue(), []);
  t.same(await storeCounts(rig.store), { queue: 0, messages: 0, bodies: 0 }, 'both the message and its DSN are gone');
});
