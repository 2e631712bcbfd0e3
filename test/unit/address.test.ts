// Address parsing and validation: what SMTP, the directory and delivery agree an address is.
import t from 'tap';
import { isValidDomain, isValidMailboxAddress, normalizeAddress, normalizeDomain, parseAddress, withoutDetail } from '../../src/core/address.js';

t.test('parseAddress', async (t) => {
  const cases: Array<[input: string, want: ReturnType<typeof parseAddress>]> = [
    ['alice@example.com', { local: 'alice', domain: 'example.com' }],
    // Local parts keep their case here; only the domain is folded (RFC 5321 2.4).
    ['Alice@EXAMPLE.Com', { local: 'Alice', domain: 'example.com' }],
    // A quoted local part may hold `@`: the split is at the last one.
    ['"a@b"@example.com', { local: '"a@b"', domain: 'example.com' }],
    ['"john doe"@example.com', { local: '"john doe"', domain: 'example.com' }],
    // The root label's dot names the same domain.
    ['alice@example.com.', { local: 'alice', domain: 'example.com' }],
    ['alice+news@example.com', { local: 'alice+news', domain: 'example.com' }],
    ['alice', null],
    ['', null],
    ['alice@', null],
    ['@example.com', null],
    ['@', null],
    ['alice@.', null],
    ['alice@exa mple.com', null],
    ['alice@<example.com>', null],
    ['alice@[192.0.2.1]', null],
    ['alice@exam"ple.com', null],
    ['alice@a,b.com', null],
  ];
  for (const [input, want] of cases) t.same(parseAddress(input), want, JSON.stringify(input));
});

t.test('normalizeAddress and normalizeDomain fold case, spaces and the trailing dot', async (t) => {
  const addresses: Array<[string, string]> = [
    [' Alice@Example.COM. ', 'alice@example.com'],
    ['Alice+News@example.com', 'alice+news@example.com'],
    // Not an address at all: folded as it is, so it never matches a stored key by accident of case.
    ['NoDomain', 'nodomain'],
  ];
  for (const [input, want] of addresses) t.equal(normalizeAddress(input), want, JSON.stringify(input));
  t.equal(normalizeDomain(' Example.COM. '), 'example.com');
});

t.test('withoutDetail', async (t) => {
  const cases: Array<[input: string, want: string | null]> = [
    ['alice+news@example.com', 'alice@example.com'],
    // RFC 5233: the detail starts at the first separator, whatever follows.
    ['alice+news+2024@example.com', 'alice@example.com'],
    ['alice+@example.com', 'alice@example.com'],
    ['alice@example.com', null],
    // Nothing before the `+`: there is no base address to fall back to.
    ['+news@example.com', null],
    ['not an address', null],
    ['alice+news@', null],
  ];
  for (const [input, want] of cases) t.equal(withoutDetail(input), want, JSON.stringify(input));
});

t.test('isValidDomain', async (t) => {
  const cases: Array<[domain: string, valid: boolean]> = [
    ['example.com', true],
    ['mail.example.co.uk', true],
    ['a-b.example', true],
    ['123.example', true],
    ['xn--bcher-kva.example', true],
    ['letterbox.test', true],
    // A mail domain needs a dot: a bare host name is not one.
    ['localhost', false],
    ['', false],
    // Callers normalize first: upper case, a trailing dot and spaces are not accepted as they are.
    ['Example.com', false],
    ['example.com.', false],
    [' example.com', false],
    ['-example.com', false],
    ['example-.com', false],
    ['example.-com', false],
    ['example.com-', false],
    ['ex_ample.com', false],
    ['example..com', false],
    ['.example.com', false],
    ['example.c', false],
    // An IPv4 address is not a domain (RFC 3696 2: the top-level label is never all digits).
    ['192.168.1.1', false],
    ['10.0.0.10', false],
    [`${'a'.repeat(63)}.com`, true],
    [`${'a'.repeat(64)}.com`, false],
    // 253 characters is the limit of a name (RFC 1035 2.3.4 less the root's length octets).
    [`${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(61)}.ee`, true],
    [`${'a'.repeat(62)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.ee`, false],
  ];
  for (const [domain, valid] of cases) t.equal(isValidDomain(domain), valid, `${JSON.stringify(domain)} (${domain.length} chars)`);
});

t.test('isValidMailboxAddress', async (t) => {
  const cases: Array<[address: string, valid: boolean]> = [
    ['alice@example.com', true],
    ['Alice.Smith@Example.com', true],
    ['alice+news@example.com', true],
    ["o'brien@example.com", true],
    ['a!#$%&*/=?^_`{|}~-@example.com', true],
    ['alice@example.com.', true],
    [`${'a'.repeat(64)}@example.com`, true],
    [`${'a'.repeat(65)}@example.com`, false],
    // A mailbox an administrator creates is a dot-atom (RFC 5322 3.4.1): no quotes, spaces or stray dots.
    ['"a@b"@example.com', false],
    ['"alice"@example.com', false],
    ['al ice@example.com', false],
    ['.alice@example.com', false],
    ['alice.@example.com', false],
    ['al..ice@example.com', false],
    ['alice@localhost', false],
    ['alice@192.168.1.1', false],
    ['alice', false],
    ['@example.com', false],
    ['alice@', false],
  ];
  for (const [address, valid] of cases) t.equal(isValidMailboxAddress(address), valid, JSON.stringify(address));
});
