// The IMAP benchmark's mailbox, generated deterministically (the same bytes on every run and for both
// servers): messages of about 4-8 KB, half plain text, three in ten multipart/alternative (text and
// HTML), two in ten multipart/mixed with a base64 attachment; some with Cc, replies with In-Reply-To,
// some subjects and names as RFC 2047 encoded words, so ENVELOPE has a bit of everything to say.

const WORDS = (
  'mail office invoice meeting tomorrow printer quarterly report please find attached the for with about ' +
  'schedule delivery client budget review draft update contract thanks regards question answer week ' +
  'monday friday morning afternoon coffee project plan team holiday order shipment payment reminder'
).split(' ');
const PEOPLE = [
  ['Alice Martin', 'alice@office.example'],
  ['Bob Leroy', 'bob@office.example'],
  ['Chloé Dubois', 'chloe@client.example'],
  ['Dmitri Ivanov', 'dmitri@supplier.example'],
  ['Eve', 'eve@example.net'],
  ['Fran\u00e7ois Caf\u00e9', 'francois@cafe.example'],
  [null, 'noreply@shop.example'],
  ['Grace Hopper', 'grace@navy.example'],
];
const FIRST_DATE = Date.UTC(2026, 0, 5, 8, 0, 0);

/** mulberry32: a small seeded generator, so the corpus is the same on every run. */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** RFC 2047 B-encoding for anything not ASCII. */
function encodedWord(text) {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function mailbox([name, address]) {
  return name === null ? address : `${/^[\w ]+$/.test(name) ? name : encodedWord(name)} <${address}>`;
}

/** Lines of prose up to `size` bytes, wrapped under 78 characters (RFC 5322 2.1.1). */
function prose(random, size) {
  const lines = [];
  let line = '';
  let total = 0;
  while (total < size) {
    const word = WORDS[Math.floor(random() * WORDS.length)];
    if (line.length + word.length + 1 > 72) {
      lines.push(line);
      total += line.length + 2;
      line = '';
    }
    line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\r\n');
}

function base64Lines(random, size) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256);
  return bytes.toString('base64').replace(/.{76}/g, '$&\r\n').replace(/\r\n$/, '');
}

function headers(random, i, contentHeaders) {
  const pick = () => PEOPLE[Math.floor(random() * PEOPLE.length)];
  const date = new Date(FIRST_DATE + i * 137_000);
  const subjectWords = Array.from({ length: 3 + Math.floor(random() * 6) }, () => WORDS[Math.floor(random() * WORDS.length)]);
  const subject = random() < 0.15 ? encodedWord(`Réunion ${subjectWords.join(' ')}`) : subjectWords.join(' ');
  const lines = [
    `From: ${mailbox(pick())}`,
    `To: ${mailbox(pick())}${random() < 0.3 ? `, ${mailbox(pick())}` : ''}`,
  ];
  if (random() < 0.25) lines.push(`Cc: ${mailbox(pick())}`);
  lines.push(`Subject: ${random() < 0.3 ? 'Re: ' : ''}${subject}`, `Date: ${date.toUTCString().replace('GMT', '+0000')}`, `Message-ID: <bench.${i}@letterbox.test>`);
  if (i > 0 && random() < 0.3) lines.push(`In-Reply-To: <bench.${Math.floor(random() * i)}@letterbox.test>`);
  lines.push('MIME-Version: 1.0', ...contentHeaders);
  return { text: lines.join('\r\n'), date };
}

function plain(random, size) {
  return { contentHeaders: ['Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'], body: prose(random, size) };
}

function alternative(random, size, i) {
  const boundary = `alt-${i}-boundary`;
  const text = prose(random, size / 2);
  const html = `<html><body><p>${prose(random, size / 2 - 60).replace(/\r\n/g, '</p>\r\n<p>')}</p></body></html>`;
  const body = [
    `--${boundary}`, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', text,
    `--${boundary}`, 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', html,
    `--${boundary}--`, '',
  ].join('\r\n');
  return { contentHeaders: [`Content-Type: multipart/alternative; boundary="${boundary}"`], body };
}

function withAttachment(random, size, i) {
  const boundary = `mixed-${i}-boundary`;
  const attachment = Math.floor(size * 0.45);
  const body = [
    `--${boundary}`, 'Content-Type: text/plain; charset=us-ascii', '', prose(random, size - attachment * 1.37),
    `--${boundary}`, `Content-Type: application/pdf; name="report-${i}.pdf"`, `Content-Disposition: attachment; filename="report-${i}.pdf"`,
    'Content-Transfer-Encoding: base64', '', base64Lines(random, attachment),
    `--${boundary}--`, '',
  ].join('\r\n');
  return { contentHeaders: [`Content-Type: multipart/mixed; boundary="${boundary}"`], body };
}

/** Message `i` of the corpus: { bytes: Buffer with CRLF lines, date: Date }. */
export function benchMessage(i) {
  const random = generator(0x1e77e4b0 + i);
  const kind = random();
  const size = 3_500 + Math.floor(random() * 4_000); // body size; headers bring the whole to 4-8 KB
  const part = kind < 0.5 ? plain(random, size) : kind < 0.8 ? alternative(random, size, i) : withAttachment(random, size, i);
  const head = headers(random, i, part.contentHeaders);
  return { bytes: Buffer.from(`${head.text}\r\n\r\n${part.body}\r\n`, 'utf8'), date: head.date };
}

/** The first `count` messages of the corpus. */
export function benchMessages(count) {
  return Array.from({ length: count }, (_, i) => benchMessage(i));
}
