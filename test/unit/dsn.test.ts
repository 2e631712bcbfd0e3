// Delivery status notifications: what the sender's mail client sees, what a DSN parser reads, and that a
// large original passes through without being held.
import { Readable } from 'node:stream';
import t from 'tap';
import { simpleParser, type ParsedMail } from 'mailparser';
import { isLetterboxError } from '../../src/core/errors.js';
import { buildDsn, dsnWanted, shouldBounce, DSN_MAX_RETURN_BYTES, type DsnInput, type DsnKind } from '../../src/queue/dsn.js';
// The message/delivery-status fields as groups, CRLF line ends only: a DSN we write keeps to RFC 5322.
import { statusGroups } from '../helpers/dsn.js';

const ORIGINAL_HEADERS =
  'Received: from [192.0.2.10] by mail.example.com (Letterbox)\r\n' +
  'From: Alice <alice@example.com>\r\n' +
  'To: Bob <bob@example.net>\r\n' +
  'Subject: Lunch on Friday\r\n' +
  'Message-ID: <lunch-1@example.com>\r\n' +
  'Date: Mon, 1 Jan 2024 09:00:00 +0000\r\n';
const ORIGINAL_BODY = 'Shall we meet at noon?\r\nSECRET-BODY-LINE\r\n';
const ORIGINAL = ORIGINAL_HEADERS + '\r\n' + ORIGINAL_BODY;

function fromText(text: string): () => Readable {
  return () => Readable.from([Buffer.from(text)]);
}

function failureInput(extra: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'mail.example.com',
    sender: 'alice@example.com',
    arrivalDate: new Date(Date.UTC(2024, 0, 1, 9, 0, 0)),
    now: new Date(Date.UTC(2024, 0, 1, 9, 5, 0)),
    recipients: [
      {
        address: 'bob@example.net',
        action: 'failed',
        status: '5.1.1',
        remoteMta: 'mx.example.net',
        diagnostic: '550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown',
        lastAttempt: new Date(Date.UTC(2024, 0, 1, 9, 4, 30)),
      },
    ],
    original: fromText(ORIGINAL),
    ...extra,
  };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function parse(raw: Buffer): Promise<ParsedMail> {
  return simpleParser(raw, { keepDeliveryStatus: true });
}

function attachment(mail: ParsedMail, contentType: string) {
  return mail.attachments.find((a) => a.contentType === contentType);
}

async function statusOf(input: DsnInput): Promise<Map<string, string>[]> {
  const mail = await parse(await collect(buildDsn(input)));
  const part = attachment(mail, 'message/delivery-status');
  if (!part) throw new Error('no message/delivery-status part');
  return statusGroups(part.content.toString('latin1'), 'crlf');
}

/** The raw top-level header block, as a mail client would see it before any parsing. */
function topHeader(raw: Buffer): string {
  const text = raw.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n') + 2);
}

t.test('a failure report is a multipart/report that a mail client shows as a bounce', async (t) => {
  const raw = await collect(buildDsn(failureInput()));
  const text = raw.toString('latin1');
  t.notMatch(text, /(?<!\r)\n/, 'every line ends in CRLF');
  t.notOk(text.split('\r\n').some((line) => line.length > 998), 'no line over 998 characters');

  const mail = await parse(raw);
  const type = mail.headers.get('content-type') as { value: string; params: Record<string, string> };
  t.equal(type.value, 'multipart/report');
  t.equal(type.params['report-type'], 'delivery-status');
  t.equal(mail.subject, 'Undelivered Mail Returned to Sender');
  t.equal(mail.from?.value[0]?.address, 'MAILER-DAEMON@mail.example.com');
  t.equal(mail.from?.value[0]?.name, 'Mail Delivery System');
  t.same(
    (Array.isArray(mail.to) ? mail.to : [mail.to]).flatMap((a) => a?.value.map((v) => v.address)),
    ['alice@example.com'],
  );
  t.equal(mail.headers.get('auto-submitted'), 'auto-replied', 'RFC 3834 Auto-Submitted');
  t.match(mail.messageId, /^<.+@mail\.example\.com>$/);
  t.equal(mail.date?.toISOString(), '2024-01-01T09:05:00.000Z');

  t.match(mail.text, /could not be delivered/);
  t.match(mail.text, /<bob@example\.net>: host mx\.example\.net said: 550 5\.1\.1/);
  t.match(mail.text, /User unknown/);
  t.match(mail.text, /headers of your message are attached/);

  t.same(
    mail.attachments.map((a) => a.contentType),
    ['message/delivery-status', 'text/rfc822-headers'],
    'the report and the returned headers come as the parts after the text',
  );

  // Without keepDeliveryStatus, mailparser folds the report into the text, as simple clients show it.
  const plain = await simpleParser(raw);
  t.match(plain.text, /Reporting-MTA: dns; mail\.example\.com/);
});

t.test('message/delivery-status carries the RFC 3464 fields', async (t) => {
  const groups = await statusOf(failureInput({ queueId: 'Q123' }));
  t.equal(groups.length, 2, 'one per-message group and one per recipient');
  const [message, recipient] = groups as [Map<string, string>, Map<string, string>];
  t.equal(message.get('reporting-mta'), 'dns; mail.example.com');
  t.equal(message.get('arrival-date'), 'Mon, 1 Jan 2024 09:00:00 +0000');
  t.equal(message.get('x-letterbox-queue-id'), 'Q123');
  t.notOk(message.has('original-envelope-id'), 'no ENVID, no Original-Envelope-Id');

  t.equal(recipient.get('final-recipient'), 'rfc822; bob@example.net');
  t.equal(recipient.get('action'), 'failed');
  t.equal(recipient.get('status'), '5.1.1');
  t.equal(recipient.get('remote-mta'), 'dns; mx.example.net');
  t.equal(recipient.get('diagnostic-code'), 'smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown');
  t.equal(recipient.get('last-attempt-date'), 'Mon, 1 Jan 2024 09:04:30 +0000');
  t.notOk(recipient.has('original-recipient'), 'no ORCPT, no Original-Recipient');
  t.notOk(recipient.has('will-retry-until'), 'a failure has no Will-Retry-Until');
});

t.test('ENVID and ORCPT appear when the client gave them; several recipients each get a group', async (t) => {
  const input = failureInput({ envid: 'QQ314159' });
  input.recipients = [
    { ...input.recipients[0]!, orcpt: 'rfc822;Bob@Example.NET' },
    { address: 'carol@example.org', orcpt: 'carol@example.org', action: 'failed', status: '5.7.1', diagnostic: '554 5.7.1 rejected by policy' },
    { address: 'dave@example.org', action: 'failed', status: 'bogus', diagnostic: 'Host or domain name not found' },
  ];
  const groups = await statusOf(input);
  t.equal(groups.length, 4);
  t.equal(groups[0]?.get('original-envelope-id'), 'QQ314159');
  t.equal(groups[1]?.get('original-recipient'), 'rfc822; Bob@Example.NET');
  t.equal(groups[2]?.get('original-recipient'), 'rfc822; carol@example.org', 'a bare address gets the rfc822 type');
  t.notOk(groups[2]?.has('remote-mta'), 'no Remote-MTA when none answered');
  t.equal(groups[3]?.get('status'), '5.0.0', 'an invalid status becomes the generic one for the action');
  t.equal(groups[3]?.get('diagnostic-code'), 'X-Letterbox; Host or domain name not found', 'our own reason is not dressed as SMTP');
});

t.test('a multi-line SMTP reply reads as one answer', async (t) => {
  const input = failureInput();
  input.recipients = [
    { ...input.recipients[0]!, diagnostic: '550-5.1.1 The account you tried to reach\r\n550-5.1.1 does not exist. Please check\r\n550 5.1.1 the address.' },
  ];
  const mail = await parse(await collect(buildDsn(input)));
  const groups = statusGroups(attachment(mail, 'message/delivery-status')?.content.toString('latin1') ?? '', 'crlf');
  t.equal(groups[1]?.get('diagnostic-code'), 'smtp; 550 5.1.1 The account you tried to reach does not exist. Please check the address.');
  t.match((mail.text ?? '').replace(/\s+/g, ' '), /said: 550 5\.1\.1 The account you tried to reach does not exist\. Please check the address\./);
});

t.test('RET=HDRS (and no RET) returns only the header block', async (t) => {
  for (const ret of ['HDRS', undefined] as const) {
    const mail = await parse(await collect(buildDsn(failureInput(ret ? { ret } : {}))));
    const part = attachment(mail, 'text/rfc822-headers');
    t.ok(part, `RET=${ret ?? 'absent'}: text/rfc822-headers part`);
    t.equal(part?.content.toString('latin1'), ORIGINAL_HEADERS, 'exactly the original header block');
    t.notOk(attachment(mail, 'message/rfc822'));
  }
});

t.test('RET=FULL returns the whole message as message/rfc822', async (t) => {
  const raw = await collect(buildDsn(failureInput({ ret: 'FULL' })));
  t.ok(raw.includes('SECRET-BODY-LINE'), 'the body is there');
  const mail = await parse(raw);
  const part = attachment(mail, 'message/rfc822');
  t.ok(part, 'message/rfc822 part');
  t.equal(part?.content.toString('latin1'), ORIGINAL, 'byte for byte');
  t.notOk(attachment(mail, 'text/rfc822-headers'));
  t.match(mail.text, /copy of your message is attached/);
});

t.test('RET=FULL in a delay warning still returns only headers (RFC 3461 4.3)', async (t) => {
  const input = delayInput({ ret: 'FULL' });
  const raw = await collect(buildDsn(input));
  t.notOk(raw.includes('SECRET-BODY-LINE'));
  t.ok(attachment(await parse(raw), 'text/rfc822-headers'));
});

t.test('bare LF in the original become CRLF in what is returned', async (t) => {
  const lf = ORIGINAL.replace(/\r\n/g, '\n');
  for (const ret of ['HDRS', 'FULL'] as const) {
    const raw = await collect(buildDsn(failureInput({ ret, original: fromText(lf) })));
    t.notMatch(raw.toString('latin1'), /(?<!\r)\n/, `RET=${ret}`);
  }
});

function delayInput(extra: Partial<DsnInput> = {}): DsnInput {
  return failureInput({
    recipients: [
      {
        address: 'bob@example.net',
        action: 'delayed',
        status: '4.4.1',
        remoteMta: 'mx.example.net',
        diagnostic: '421 4.4.1 try again later',
        lastAttempt: new Date(Date.UTC(2024, 0, 1, 13, 0, 0)),
        willRetryUntil: new Date(Date.UTC(2024, 0, 6, 9, 0, 0)),
      },
    ],
    ...extra,
  });
}

t.test('a delay warning says so and when the queue gives up', async (t) => {
  const raw = await collect(buildDsn(delayInput()));
  const mail = await parse(raw);
  t.equal(mail.subject, 'Delayed Mail (still being retried)');
  t.match(mail.text, /WARNING ONLY/);
  t.match(mail.text, /keep trying until Sat, 6 Jan 2024 09:00:00 \+0000/);
  const part = attachment(mail, 'message/delivery-status');
  const groups = statusGroups(part?.content.toString('latin1') ?? '', 'crlf');
  t.equal(groups[1]?.get('action'), 'delayed');
  t.equal(groups[1]?.get('status'), '4.4.1');
  t.equal(groups[1]?.get('will-retry-until'), 'Sat, 6 Jan 2024 09:00:00 +0000');
});

t.test('a success report', async (t) => {
  const input = failureInput({ recipients: [{ address: 'bob@example.net', action: 'delivered', status: '2.0.0', remoteMta: 'mx.example.net', diagnostic: '250 2.0.0 OK queued as 1234' }] });
  const mail = await parse(await collect(buildDsn(input)));
  t.equal(mail.subject, 'Successful Mail Delivery Report');
  t.match(mail.text, /was delivered/);
});

t.test('CR/LF in remote answers and client values cannot create a header or a MIME part', async (t) => {
  const evil = '550 no such user\r\nX-Injected: yes\r\n\r\n--=_lb_fake\r\nContent-Type: text/html\r\n\r\n<b>owned</b>';
  const input = failureInput({ envid: 'id\r\nX-Injected: envid', queueId: 'Q\nX-Injected: q' });
  input.recipients = [
    {
      address: 'bob@example.net\r\nX-Injected: addr',
      orcpt: 'rfc822;bob@example.net\r\nX-Injected: orcpt',
      action: 'failed',
      status: '5.1.1',
      remoteMta: 'mx.example.net\r\nX-Injected: mta',
      diagnostic: evil,
    },
  ];
  input.sender = 'alice@example.com>\r\nBcc: victim@example.org';
  const raw = await collect(buildDsn(input));
  const text = raw.toString('latin1');
  t.notMatch(text, /^X-Injected/m, 'no line starts a header of its own');
  t.notMatch(text, /^Bcc:/im);
  t.notMatch(text, /^--=_lb_fake/m);
  const mail = await parse(raw);
  t.notOk(mail.headers.has('x-injected'));
  t.notOk(mail.headers.has('bcc'));
  t.same(
    mail.attachments.map((a) => a.contentType),
    ['message/delivery-status', 'text/rfc822-headers'],
    'no part was added',
  );
  const groups = statusGroups(attachment(mail, 'message/delivery-status')?.content.toString('latin1') ?? '', 'crlf');
  for (const group of groups) t.notOk(group.has('x-injected'), 'no field was added');
  t.match(groups[1]?.get('diagnostic-code'), /^smtp; 550 no such user X-Injected: yes --=_lb_fake/, 'the answer stays on its field');
  t.match(mail.text, /550 no such user X-Injected: yes/);
});

t.test('an internationalized recipient: RFC 6533 utf-8 address type, the text in UTF-8', async (t) => {
  const input = failureInput();
  input.recipients = [{ address: 'jörg+x@bücher.example', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 no such user' }];
  const raw = await collect(buildDsn(input));
  const mail = await parse(raw);
  t.match(mail.text, /<jörg\+x@bücher\.example>/);
  const groups = statusGroups(attachment(mail, 'message/delivery-status')?.content.toString('latin1') ?? '', 'crlf');
  t.equal(groups[1]?.get('final-recipient'), 'utf-8; j\\x{F6}rg\\x{2B}x@b\\x{FC}cher.example');
  const report = raw.toString('latin1');
  t.notMatch(report.slice(0, report.indexOf('Content-Description: Undelivered')), /[\x80-\xff]/, 'the report is 7-bit');
});

/** An original of `size` bytes made on demand, 64 KB at a time, that says how much was pulled from it. */
function bigOriginal(size: number) {
  const meter = { opened: 0, pulled: 0 };
  const line = Buffer.from('x'.repeat(76) + '\r\n');
  const chunk = Buffer.concat(Array.from({ length: 64 * 1024 / line.length }, () => line));
  const open = (): Readable => {
    meter.opened++;
    let sent = 0;
    const header = Buffer.from(ORIGINAL_HEADERS + '\r\n');
    return new Readable({
      read() {
        if (sent === 0) {
          sent += header.length;
          meter.pulled += header.length;
          this.push(header);
          return;
        }
        if (sent >= size) return void this.push(null);
        const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += piece.length;
        meter.pulled += piece.length;
        this.push(piece);
      },
    });
  };
  return { open, meter };
}

t.test('a 12 MB original with RET=FULL comes back as headers (over 50 KB), and the report stays small', async (t) => {
  const big = bigOriginal(12 * 1024 * 1024);
  const raw = await collect(buildDsn(failureInput({ ret: 'FULL', original: big.open })));
  t.ok(raw.length < 64 * 1024, `report is ${raw.length} bytes`);
  t.equal(big.meter.opened, 2, 'counted once, then opened for the headers');
  t.ok(big.meter.pulled < DSN_MAX_RETURN_BYTES + 512 * 1024, 'the count stopped at the limit');
  const mail = await parse(raw);
  t.match(mail.text, /larger than 50 KB, so only its headers are attached/);
  t.equal(attachment(mail, 'text/rfc822-headers')?.content.toString('latin1'), ORIGINAL_HEADERS);

  const known = bigOriginal(12 * 1024 * 1024);
  const again = await collect(buildDsn(failureInput({ ret: 'FULL', original: known.open, originalSize: 12 * 1024 * 1024 })));
  t.equal(known.meter.opened, 1, 'a known size spares the counting pass');
  t.ok(known.meter.pulled < 1024 * 1024, 'only the head of the original was read');
  t.ok(again.length < 64 * 1024);
});

t.test('an 8 MB original returned in full (the limit raised to 16 MB) is streamed, not held', async (t) => {
  const size = 8 * 1024 * 1024;
  const big = bigOriginal(size);
  const report = buildDsn(failureInput({ ret: 'FULL', original: big.open, originalSize: size, maxReturnBytes: 16 * 1024 * 1024 }));
  let consumed = 0;
  let widest = 0;
  for await (const chunk of report) {
    consumed += (chunk as Buffer).length;
    widest = Math.max(widest, big.meter.pulled - consumed);
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.ok(consumed > size && consumed < size + 64 * 1024, `report is ${consumed} bytes`);
  t.ok(widest < 2 * 1024 * 1024, `never more than ${widest} bytes read ahead of the reader`);
});

t.test('a report given up half way lets go of the original', async (t) => {
  const big = bigOriginal(8 * 1024 * 1024);
  let original: Readable | undefined;
  const report = buildDsn(
    failureInput({
      ret: 'FULL',
      originalSize: 8 * 1024 * 1024,
      maxReturnBytes: 16 * 1024 * 1024,
      original: () => (original = big.open()),
    }),
  );
  for await (const chunk of report) {
    if ((chunk as Buffer).length > 0 && original) break;
  }
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(original?.destroyed, 'the original stream is destroyed');
  t.ok(big.meter.pulled < 2 * 1024 * 1024);
});

t.test('an original that cannot be read makes the report stream fail, not end short', async (t) => {
  const broken = () =>
    new Readable({
      read() {
        this.destroy(new Error('message gone from the store'));
      },
    });
  for (const ret of ['HDRS', 'FULL'] as const) {
    await t.rejects(collect(buildDsn(failureInput({ ret, original: broken, originalSize: 100 }))), /message gone/, `RET=${ret}`);
  }
});

t.test('no report to the null sender, none without recipients', async (t) => {
  t.same(['', '<>', ' ', 'alice@example.com'].map(shouldBounce), [false, false, false, true]);
  for (const input of [failureInput({ sender: '' }), failureInput({ sender: '<>' }), failureInput({ recipients: [] }), failureInput({ reportingMta: '\r\n' })]) {
    let thrown: unknown;
    try {
      buildDsn(input);
    } catch (err) {
      thrown = err;
    }
    t.ok(isLetterboxError(thrown, 'INVALID'), `refused: sender ${JSON.stringify(input.sender)}, ${input.recipients.length} recipients`);
  }
});

t.test('dsnWanted follows RFC 3461 4.1 NOTIFY', async (t) => {
  const cases: Array<[notify: string[] | undefined, failure: boolean, delay: boolean, success: boolean]> = [
    [undefined, true, true, false],
    [[], true, true, false],
    [['NEVER'], false, false, false],
    [['FAILURE'], true, false, false],
    [['DELAY'], false, true, false],
    [['SUCCESS'], false, false, true],
    [['SUCCESS', 'FAILURE'], true, false, true],
    [['FAILURE', 'DELAY'], true, true, false],
    [['success,delay'], false, true, true],
    [['NEVER', 'FAILURE'], false, false, false],
  ];
  for (const [notify, ...want] of cases) {
    const events: DsnKind[] = ['failure', 'delay', 'success'];
    t.same(events.map((event) => dsnWanted(notify, event)), want, `NOTIFY=${notify?.join(',') ?? '(absent)'}`);
  }
});

t.test('a given Message-ID is used; the header block is what a client reads', async (t) => {
  const raw = await collect(buildDsn(failureInput({ messageId: () => 'dsn-1@mail.example.com' })));
  const header = topHeader(raw);
  t.match(header, /^Message-ID: <dsn-1@mail\.example\.com>\r\n/m);
  t.match(header, /^From: Mail Delivery System <MAILER-DAEMON@mail\.example\.com>\r\n/m);
  t.match(header, /^To: <alice@example\.com>\r\n/m);
  t.match(header, /^Auto-Submitted: auto-replied\r\n/m);
  t.match(header, /^MIME-Version: 1\.0\r\n/m);
});
