// LIST patterns (src/imap/folders/list-pattern.ts, RFC 3501 6.3.8): wildcards, reference joining,
// INBOX without case, names beyond ASCII, and patterns that would make a naive matcher backtrack.
import t from 'tap';
import { canonicalPattern, ListPattern, wildcardMatch } from '../../src/imap/folders/list-pattern.js';

const NAMES = ['INBOX', 'INBOX/Receipts', 'INBOX/Receipts/2024', 'Sent', 'Archive', 'Archive/2023', 'Archive/2024', 'Archive/2024/Q1', 'Zürich', 'Zürich/Büro', 'a%b', 'a*b', 'Inbox-old', '日本語/メール'];

const matching = (pattern: string) => NAMES.filter((n) => new ListPattern(pattern).matches(n));

t.test('wildcards: * crosses levels, % does not', async (t) => {
  const cases: [string, string[]][] = [
    ['*', NAMES],
    ['%', ['INBOX', 'Sent', 'Archive', 'Zürich', 'a%b', 'a*b', 'Inbox-old']],
    ['Archive/%', ['Archive/2023', 'Archive/2024']],
    ['Archive/*', ['Archive/2023', 'Archive/2024', 'Archive/2024/Q1']],
    ['Archive*', ['Archive', 'Archive/2023', 'Archive/2024', 'Archive/2024/Q1']],
    ['Archive%', ['Archive']],
    ['%/%', ['INBOX/Receipts', 'Archive/2023', 'Archive/2024', 'Zürich/Büro', '日本語/メール']],
    ['%/%/%', ['INBOX/Receipts/2024', 'Archive/2024/Q1']],
    ['*2024', ['INBOX/Receipts/2024', 'Archive/2024']],
    ['%2024', []],
    ['A%/20%4', ['Archive/2024']],
    ['Sent', ['Sent']],
    ['sent', []],
    ['Sen', []],
    ['Z%', ['Zürich']],
    ['*ü*', ['Zürich', 'Zürich/Büro']],
    ['日本語/%', ['日本語/メール']],
    ['a%b', ['a%b', 'a*b']],
    ['', []],
  ];
  for (const [pattern, want] of cases) t.same(matching(pattern), want, `"${pattern}"`);
});

t.test('INBOX is matched without case, other names with it (RFC 3501 5.1)', async (t) => {
  const cases: [string, string[]][] = [
    ['inbox', ['INBOX']],
    ['InBoX', ['INBOX']],
    ['in%', ['INBOX']],
    ['i*', ['INBOX', 'INBOX/Receipts', 'INBOX/Receipts/2024']],
    ['inbox/%', ['INBOX/Receipts']],
    ['Inbox/receipts', []],
    ['INBOX/Receipts', ['INBOX/Receipts']],
    ['Inbox-*', ['Inbox-old']],
    ['inbox-*', []],
    ['INBOX%', ['INBOX']],
  ];
  for (const [pattern, want] of cases) t.same(matching(pattern), want, `"${pattern}"`);
});

t.test('reference and pattern are joined into one canonical pattern', async (t) => {
  const cases: [string, string, string][] = [
    ['', '*', '*'],
    ['Archive/', '%', 'Archive/%'],
    ['Archive', '/%', '/%'],
    ['Archive/', '2024/*', 'Archive/2024/*'],
    ['Arch', 'ive*', 'Archive*'],
    ['INBOX/', '%', 'INBOX/%'],
  ];
  for (const [reference, pattern, want] of cases) t.equal(canonicalPattern(reference, pattern), want, `"${reference}" "${pattern}"`);
  t.same(matching(canonicalPattern('Archive/', '%')), ['Archive/2023', 'Archive/2024']);
  t.same(matching(canonicalPattern('inbox/', '*')), ['INBOX/Receipts', 'INBOX/Receipts/2024']);
});

t.test('a hostile pattern is matched in linear time per character', async (t) => {
  const name = 'a'.repeat(400);
  const pattern = `${'*a'.repeat(200)}b`;
  const started = process.hrtime.bigint();
  t.equal(wildcardMatch(pattern, name), false);
  t.equal(wildcardMatch('%'.repeat(300) + 'a', name), true);
  t.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2000, 'well under two seconds');
});

t.test('astral characters (surrogate pairs) match as units', async (t) => {
  t.equal(new ListPattern('📧%').matches('📧 Mail'), true);
  t.equal(new ListPattern('%').matches('📧/x'), false);
  t.equal(new ListPattern('*').matches('📧/x'), true);
});
