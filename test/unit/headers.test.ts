// The header editor on the way into the store: Received on top, Message-ID and Date added when missing,
// every other byte untouched, and the same result however the message is split into chunks (DESIGN 4).
import { once } from 'node:events';
import t from 'tap';
import { rfc5322Date } from '../../src/core/rfc5322.js';
import { HeaderEditor, type HeaderEdits } from '../../src/smtp/headers.js';

const RECEIVED = 'Received: from client.example (client.example [192.0.2.1])\r\n\tby mx.letterbox.test (Letterbox) with ESMTP\r\n\tid 0001; Fri, 5 Jan 2024 03:04:05 +0000\r\n';
const MESSAGE_ID = 'Message-ID: <generated@mx.letterbox.test>\r\n';
const DATE = 'Date: Fri, 5 Jan 2024 03:04:05 +0000\r\n';

const edits: HeaderEdits = {
  prepend: [RECEIVED],
  addIfMissing: [
    { name: 'Message-ID', value: () => '<generated@mx.letterbox.test>' },
    { name: 'Date', value: () => 'Fri, 5 Jan 2024 03:04:05 +0000' },
  ],
};

/** The scan limit of headers.ts; a header block whose blank line starts past it is left alone. */
const SCAN_LIMIT = 256 * 1024;

/** A header block of exactly `length` bytes (CRLF line ends), so the blank line starts at `length`. */
function paddedHeader(length: number): string {
  const start = 'Subject: padded\r\nX-Pad: ';
  return `${start}${'p'.repeat(length - start.length - 2)}\r\n`;
}

/** Runs `input` through a fresh editor in pieces of `size` bytes. */
async function edit(input: Buffer, size: number): Promise<Buffer> {
  const editor = new HeaderEditor(edits);
  const output: Buffer[] = [];
  editor.on('data', (chunk: Buffer) => output.push(chunk));
  const ended = once(editor, 'end');
  for (let at = 0; at < input.length; at += size) editor.write(input.subarray(at, at + size));
  editor.end();
  await ended;
  return Buffer.concat(output);
}

// `want` is what follows the Received header in the output.
const cases: Array<{ name: string; input: string; want: string }> = [
  {
    name: 'both present: nothing added',
    input: 'From: bob@remote.test\r\nMessage-ID: <1@remote.test>\r\nDate: Thu, 4 Jan 2024 10:00:00 +0100\r\nSubject: hi\r\n\r\nHello\r\n',
    want: 'From: bob@remote.test\r\nMessage-ID: <1@remote.test>\r\nDate: Thu, 4 Jan 2024 10:00:00 +0100\r\nSubject: hi\r\n\r\nHello\r\n',
  },
  {
    name: 'both missing: added at the end of the header block',
    input: 'From: bob@remote.test\r\nSubject: hi\r\n\r\nHello\r\n',
    want: `From: bob@remote.test\r\nSubject: hi\r\n${MESSAGE_ID}${DATE}\r\nHello\r\n`,
  },
  {
    name: 'only Date missing',
    input: 'Message-ID: <1@remote.test>\r\nSubject: hi\r\n\r\nHello\r\n',
    want: `Message-ID: <1@remote.test>\r\nSubject: hi\r\n${DATE}\r\nHello\r\n`,
  },
  {
    name: 'only Message-ID missing',
    input: 'Date: Thu, 4 Jan 2024 10:00:00 +0100\r\n\r\nHello\r\n',
    want: `Date: Thu, 4 Jan 2024 10:00:00 +0100\r\n${MESSAGE_ID}\r\nHello\r\n`,
  },
  {
    name: 'header names in another case count as present',
    input: 'message-id: <1@remote.test>\r\nDATE: Thu, 4 Jan 2024 10:00:00 +0100\r\n\r\nHello\r\n',
    want: 'message-id: <1@remote.test>\r\nDATE: Thu, 4 Jan 2024 10:00:00 +0100\r\n\r\nHello\r\n',
  },
  {
    name: 'LF-only line ends',
    input: 'From: bob@remote.test\nSubject: hi\n\nHello\n\nBye\n',
    want: `From: bob@remote.test\nSubject: hi\n${MESSAGE_ID}${DATE}\nHello\n\nBye\n`,
  },
  {
    name: 'an LF header line followed by a CRLF empty line',
    input: 'Subject: hi\n\r\nHello\r\n',
    want: `Subject: hi\n${MESSAGE_ID}${DATE}\r\nHello\r\n`,
  },
  {
    name: 'no body: the header block ends with the data',
    input: 'From: bob@remote.test\r\nSubject: hi\r\n',
    want: `From: bob@remote.test\r\nSubject: hi\r\n${MESSAGE_ID}${DATE}`,
  },
  {
    name: 'no body and no final line break: the last line is ended before ours',
    input: 'From: bob@remote.test\r\nSubject: hi',
    want: `From: bob@remote.test\r\nSubject: hi\r\n${MESSAGE_ID}${DATE}`,
  },
  {
    name: 'no body, no final line break, nothing to add: not a byte changed',
    input: 'Message-ID: <1@remote.test>\r\nDate: Thu, 4 Jan 2024 10:00:00 +0100',
    want: 'Message-ID: <1@remote.test>\r\nDate: Thu, 4 Jan 2024 10:00:00 +0100',
  },
  {
    name: 'empty message',
    input: '',
    want: `${MESSAGE_ID}${DATE}`,
  },
  {
    name: 'empty header block (the message starts with the blank line)',
    input: '\r\nHello\r\n',
    want: `${MESSAGE_ID}${DATE}\r\nHello\r\n`,
  },
  {
    name: 'empty header block, LF',
    input: '\nHello\n',
    want: `${MESSAGE_ID}${DATE}\nHello\n`,
  },
  {
    name: 'the body holds a blank line and header-like text, which are not headers',
    input: 'From: bob@remote.test\r\nSubject: hi\r\n\r\nHello\r\n\r\nMessage-ID: <fake@remote.test>\r\nDate: never\r\n',
    want: `From: bob@remote.test\r\nSubject: hi\r\n${MESSAGE_ID}${DATE}\r\nHello\r\n\r\nMessage-ID: <fake@remote.test>\r\nDate: never\r\n`,
  },
  {
    name: 'a folded line that reads like a header is part of the header above',
    input: 'Subject: hi\r\n Message-ID: <no@remote.test>\r\n\r\nHello\r\n',
    want: `Subject: hi\r\n Message-ID: <no@remote.test>\r\n${MESSAGE_ID}${DATE}\r\nHello\r\n`,
  },
  {
    name: 'a CR that does not start an empty line does not end the block',
    input: 'Subject: hi\r\n\rX: y\r\n\r\nHello\r\n',
    want: `Subject: hi\r\n\rX: y\r\n${MESSAGE_ID}${DATE}\r\nHello\r\n`,
  },
  {
    name: 'a header block that ends exactly at the scan limit is edited',
    input: `${paddedHeader(SCAN_LIMIT)}\r\nHello\r\n`,
    want: `${paddedHeader(SCAN_LIMIT)}${MESSAGE_ID}${DATE}\r\nHello\r\n`,
  },
  {
    name: 'a header block one byte past the scan limit passes unchanged',
    input: `${paddedHeader(SCAN_LIMIT + 1)}\r\nHello\r\n`,
    want: `${paddedHeader(SCAN_LIMIT + 1)}\r\nHello\r\n`,
  },
  {
    name: 'a header block far longer than the scan limit passes unchanged',
    input: `${paddedHeader(SCAN_LIMIT + 40_000)}\r\nHello\r\n\r\nBye\r\n`,
    want: `${paddedHeader(SCAN_LIMIT + 40_000)}\r\nHello\r\n\r\nBye\r\n`,
  },
  {
    name: 'an all-header message longer than the scan limit passes unchanged',
    input: paddedHeader(SCAN_LIMIT + 40_000).slice(0, -2),
    want: paddedHeader(SCAN_LIMIT + 40_000).slice(0, -2),
  },
];

for (const { name, input, want } of cases) {
  t.test(name, async (t) => {
    const bytes = Buffer.from(input, 'latin1');
    const expected = Buffer.concat([Buffer.from(RECEIVED), Buffer.from(want, 'latin1')]);
    const whole = await edit(bytes, Math.max(bytes.length, 1));
    t.ok(whole.subarray(0, RECEIVED.length).equals(Buffer.from(RECEIVED)), 'the Received header comes first');
    t.equal(whole.toString('latin1'), expected.toString('latin1'), 'fed in one piece');
    const differing: number[] = [];
    for (let size = 1; size <= 512; size++) {
      if (!(await edit(bytes, size)).equals(expected)) differing.push(size);
    }
    t.same(differing, [], 'the same output at every chunk size from 1 to 512');
  });
}

t.test('without headers to add, bytes pass straight through after the prepended ones', async (t) => {
  const editor = new HeaderEditor({ prepend: [RECEIVED, 'X-Second: 2\r\n'], addIfMissing: [] });
  const output: Buffer[] = [];
  editor.on('data', (chunk: Buffer) => output.push(chunk));
  const ended = once(editor, 'end');
  editor.end(Buffer.from('Subject: hi'));
  await ended;
  t.equal(Buffer.concat(output).toString(), `${RECEIVED}X-Second: 2\r\nSubject: hi`, 'prepended in order; nothing else changed');
});

t.test('a value is made only for a header that is added', async (t) => {
  const made: string[] = [];
  const editor = new HeaderEditor({
    prepend: [],
    addIfMissing: ['Message-ID', 'Date'].map((name) => ({ name, value: () => (made.push(name), 'x') })),
  });
  editor.resume();
  const ended = once(editor, 'end');
  editor.end(Buffer.from('Message-ID: <1@remote.test>\r\n\r\nHello\r\n'));
  await ended;
  t.same(made, ['Date']);
});

t.test('rfc5322Date', async (t) => {
  const shape = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [1-9]\d? (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/;
  t.match(rfc5322Date(), shape, 'now, in the local zone');
  const moment = new Date(Date.UTC(2024, 0, 5, 3, 4, 5));
  // The zone is read per call, so the test can visit a few (this process is the test's own).
  const saved = process.env.TZ;
  t.teardown(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });
  const zones: Array<[zone: string, want: string]> = [
    ['UTC', 'Fri, 5 Jan 2024 03:04:05 +0000'],
    ['Asia/Kolkata', 'Fri, 5 Jan 2024 08:34:05 +0530'],
    // Half an hour behind and the day before: sign, minutes and date all follow the zone.
    ['America/St_Johns', 'Thu, 4 Jan 2024 23:34:05 -0330'],
  ];
  for (const [zone, want] of zones) {
    process.env.TZ = zone;
    const text = rfc5322Date(moment);
    t.equal(text, want, zone);
    t.match(text, shape);
    t.equal(Date.parse(text), moment.getTime(), `${zone}: parses back to the same instant`);
  }
  process.env.TZ = 'UTC';
  t.equal(rfc5322Date(new Date(Date.UTC(2024, 11, 25, 23, 59, 9))), 'Wed, 25 Dec 2024 23:59:09 +0000');
});
