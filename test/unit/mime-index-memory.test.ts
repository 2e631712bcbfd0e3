// The indexer never holds a message: a 20 MB message fed in 64 KiB chunks (made on the fly, never held
// whole) leaves it holding one line prefix and at most one capped header block, and the heap flat.
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import t from 'tap';
import { HEADER_CAP, MimeIndexer } from '../../src/mailbox/mime/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CHUNK = 64 * 1024;
const TOTAL = 20 * 1024 * 1024;
const HEAD = 'From: big@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=big\r\n\r\n--big\r\nContent-Type: text/plain\r\n\r\n';
const MIDDLE = '\r\n--big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n';
const TAIL = '\r\n--big--\r\n';
const TEXT_LINE = 'All work and no play makes Jack a dull boy.\r\n';

/** 64 KiB chunks of a 20 MB message: a text part of 10 MB, then a base64 part, made as they are asked for. */
function* bigMessage(): Generator<Buffer> {
  const text = Buffer.alloc(CHUNK, TEXT_LINE);
  const base64 = Buffer.alloc(CHUNK, 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1\r\n');
  yield Buffer.from(HEAD);
  for (let sent = 0; sent < TOTAL / 2; sent += CHUNK) yield text;
  yield Buffer.from(MIDDLE);
  for (let sent = 0; sent < TOTAL / 2; sent += CHUNK) yield base64;
  yield Buffer.from(TAIL);
}

const used = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

t.test('a 20 MB message in 64 KiB chunks', async (t) => {
  const indexer = new MimeIndexer();
  let before = 0;
  let during = 0;
  let count = 0;
  let size = 0;
  for (const chunk of bigMessage()) {
    indexer.write(chunk);
    size += chunk.length;
    count += 1;
    if (count === 20) before = used();
  }
  during = used();
  const index = indexer.end();
  t.equal(index.size, size);
  t.ok(size > TOTAL, `${size} bytes fed`);
  t.ok(indexer.peakRetainedBytes < 8 * 1024, `peak held ${indexer.peakRetainedBytes} bytes (no header was long)`);
  t.ok(during - before < 4 * 1024 * 1024, `heap grew ${during - before} bytes over ${size} bytes of input`);
  const [text, binary] = index.root.children;
  t.equal(text?.body.length, TOTAL / 2);
  const linesPerChunk = Buffer.alloc(CHUNK, TEXT_LINE).toString('latin1').split('\n').length - 1;
  t.equal(text?.bodyLines, linesPerChunk * (TOTAL / 2 / CHUNK), 'every LF of the text part counted');
  t.equal(binary?.encoding, 'base64');
  t.equal(binary && binary.body.start + binary.body.length, size - TAIL.length);
});

t.test('a header block beyond the cap is truncated, said so, and held only up to the cap', async (t) => {
  const indexer = new MimeIndexer();
  indexer.write(Buffer.from('Subject: long\r\nX-Filler: '));
  const filler = Buffer.alloc(CHUNK, 'x');
  for (let sent = 0; sent < 2 * HEADER_CAP; sent += CHUNK) indexer.write(filler);
  indexer.write(Buffer.from('\r\nContent-Type: text/html\r\n\r\nbody\r\n'));
  const index = indexer.end();
  t.equal(index.headerTruncated, true);
  t.equal(index.root.headerTruncated, true);
  t.equal(index.root.envelope?.subject, 'long', 'fields before the cap are read');
  t.equal(index.root.subtype, 'plain', 'a field after the cap is not');
  t.equal(index.root.body.length, 6, 'the body is still found after the long header');
  t.ok(indexer.peakRetainedBytes <= HEADER_CAP + 1024, `peak held ${indexer.peakRetainedBytes} bytes`);
});
