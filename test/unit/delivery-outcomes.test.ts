// Replies to outcomes (RFC 5321 4.2.1 classes, RFC 3463 enhanced codes), the per-call ledger, and the
// "port 25 blocked" state machine with a hand-moved clock.
import t from 'tap';
import { pino } from 'pino';
import { PortBlockWatch } from '../../src/delivery/blocked.js';
import { outcomeOfReply, RecipientLedger } from '../../src/delivery/outcomes.js';
import { outbound } from '../helpers/messages.js';

t.test('a reply decides status and enhanced code', async (t) => {
  const table: [string, string, string][] = [
    ['250 2.0.0 Ok: queued as 4Xyz', 'delivered', '2.0.0'],
    ['250 Ok', 'delivered', '2.0.0'],
    ['550 5.1.1 <x@y>: Recipient address rejected: User unknown', 'bounced', '5.1.1'],
    ['554 Transaction failed', 'bounced', '5.0.0'],
    ['451 4.7.1 Greylisted, try again later', 'deferred', '4.7.1'],
    ['421 mx.example closing connection', 'deferred', '4.0.0'],
    // The basic code wins over a contradicting enhanced code (RFC 3463 2).
    ['450 5.1.1 <x@y>: mailbox busy', 'deferred', '4.1.1'],
    ['552-5.2.2 The mailbox is full.\n552 5.2.2 Try again never', 'bounced', '5.2.2'],
    ['354 go ahead', 'deferred', '4.0.0'],
    ['', 'deferred', '4.0.0'],
    ['250 2.1.50 too long a detail is still a code', 'delivered', '2.1.50'],
  ];
  for (const [reply, status, enhancedCode] of table) {
    t.match(outcomeOfReply('x@y', reply, 'mx.y', 'mx'), { status, enhancedCode, remoteMta: 'mx.y', via: 'mx' }, JSON.stringify(reply));
  }
  t.equal(outcomeOfReply('x@y', '552-5.2.2 The mailbox is full.\r\n552 5.2.2 Try again never', 'mx.y', 'mx').reply, '552 5.2.2 The mailbox is full. Try again never', 'multi-line replies on one line, the codes once');
  t.match(outcomeOfReply('x@y', '550-Mailbox unknown\r\n550-5.1.1 no such user\r\n550 5.1.1 see https://x.test/why', 'mx.y', 'mx'), { reply: '550 5.1.1 Mailbox unknown no such user see https://x.test/why', enhancedCode: '5.1.1' }, 'an enhanced code first given on a later line moves to the front');
  t.equal(outcomeOfReply('x@y', '421-4.7.0 first\n421 4.7.0 second', 'mx.y', 'mx').reply, '421 4.7.0 first second', 'LF alone between the lines');
  const bloated = outcomeOfReply('x@y', `450 4.2.2 ${'y'.repeat(1024 * 1024)}`, 'mx.y', 'mx');
  t.equal(bloated.reply.length, 300 + ' [...]'.length, 'a megabyte of text is cut to 300 characters');
  t.match(bloated, { reply: /^450 4\.2\.2 y+ \[\.\.\.\]$/, enhancedCode: '4.2.2', status: 'deferred' });
});

t.test('the ledger keeps the latest answer and lists what is still open', async (t) => {
  const first = outbound({ recipients: ['a@x.test', 'b@x.test'] });
  const second = outbound({ recipients: ['c@x.test'] });
  const ledger = new RecipientLedger([first, second]);
  t.same(ledger.unsettled().map((c) => c.recipients.length), [2, 1], 'nothing answered yet');
  ledger.record(first, outcomeOfReply('a@x.test', '250 ok', 'mx', 'mx'));
  ledger.record(first, outcomeOfReply('b@x.test', '451 later', 'mx', 'mx'));
  t.same(ledger.unsettled().map((c) => c.recipients.map((r) => r.address)), [['b@x.test'], ['c@x.test']], 'deferred and unanswered are open');
  ledger.recordFirst(ledger.unsettled(), (a) => outcomeOfReply(a, '421 refused', 'mx2', 'mx'));
  t.equal(ledger.outcomeOf(first, 'b@x.test')?.reply, '451 later', 'recordFirst keeps an existing answer');
  t.equal(ledger.outcomeOf(second, 'c@x.test')?.reply, '421 refused');
  const result = ledger.result((a) => outcomeOfReply(a, '', '', 'mx'));
  t.same([...result.keys()], [first.queueId, second.queueId]);
  t.same(result.get(first.queueId)?.map((o) => o.status), ['delivered', 'deferred']);
});

t.test('port 25 watch: distinct domains in a row, probes, and clearing', async (t) => {
  let now = 1_000_000;
  const watch = new PortBlockWatch(3, 60_000, () => now, pino({ level: 'silent' }));
  watch.connectFailed('a.test');
  watch.connectFailed('a.test');
  watch.connectFailed('b.test');
  t.equal(watch.isBlocked, false, 'two distinct domains');
  watch.serverReached();
  watch.connectFailed('c.test');
  watch.connectFailed('d.test');
  t.equal(watch.isBlocked, false, 'a server answering starts the count again');
  watch.connectFailed('e.test');
  t.equal(watch.isBlocked, true);
  t.equal(watch.skipDirect(), true, 'no probe due yet');
  now += 59_999;
  t.equal(watch.skipDirect(), true);
  now += 1;
  t.equal(watch.skipDirect(), false, 'the probe interval has passed: one delivery goes direct');
  t.equal(watch.skipDirect(), true, 'and only one');
  watch.connectFailed('f.test');
  t.equal(watch.isBlocked, true, 'a failed probe keeps the state');
  now += 60_000;
  t.equal(watch.skipDirect(), false);
  watch.serverReached();
  t.equal(watch.isBlocked, false);
  t.equal(watch.skipDirect(), false);
});
