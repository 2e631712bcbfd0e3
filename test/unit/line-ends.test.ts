// Stored messages end lines with CRLF: bare LF becomes CRLF, whatever the chunks a message arrives in.
import t from 'tap';
import { CrlfLineEnds } from '../../src/core/line-ends.js';

function canonical(input: string, chunkSize: number): string {
  const lineEnds = new CrlfLineEnds();
  const bytes = Buffer.from(input, 'latin1');
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) out.push(lineEnds.canonical(bytes.subarray(at, at + chunkSize)));
  return Buffer.concat(out).toString('latin1');
}

const CASES: [string, string][] = [
  ['a\r\nb\r\n', 'a\r\nb\r\n'],
  ['a\nb\n', 'a\r\nb\r\n'],
  ['\n\n', '\r\n\r\n'],
  ['a\r\n\nb', 'a\r\n\r\nb'],
  ['mixed\r\nbare\nend', 'mixed\r\nbare\r\nend'],
  // A lone CR is left alone: it is not a line end to convert, and no byte is dropped.
  ['a\rb\r', 'a\rb\r'],
  ['', ''],
];

t.test('bare LF becomes CRLF at every chunk size, a CRLF split across chunks stays one', async (t) => {
  for (const [input, expected] of CASES) {
    for (let size = 1; size <= Math.max(1, input.length); size += 1) {
      t.equal(canonical(input, size), expected, `${JSON.stringify(input)} in chunks of ${size}`);
    }
  }
});

t.test('a chunk without a bare LF is passed on as it is, not copied', async (t) => {
  const chunk = Buffer.from('Subject: x\r\n\r\nbody\r\n');
  t.equal(new CrlfLineEnds().canonical(chunk), chunk);
});
