// The doctor's basic SPF evaluation (RFC 7208) against a table of records held in memory: which terms
// it follows (ip4, ip6, a, mx, include, redirect), the errors of RFC 7208 4.5 and 4.6.4, and the terms
// it says it did not evaluate.
import t from 'tap';
import type { Answer, DoctorDns } from '../../src/admin/doctor/lookup.js';
import { evaluateSpf } from '../../src/admin/doctor/spf.js';

type Records = Record<string, string[]>;

/** A DoctorDns answering from `records`, keyed "TXT name", "A name", "AAAA name", "MX name". */
function dnsOf(records: Records): DoctorDns {
  const answer = (key: string): Promise<Answer<string>> => Promise.resolve(records[key] ? { records: records[key] } : { none: 'no-record' });
  return {
    txt: (name: string) => answer(`TXT ${name}`),
    a: (host: string) => answer(`A ${host}`),
    aaaa: (host: string) => answer(`AAAA ${host}`),
    mx: async (domain: string) => {
      const hosts = records[`MX ${domain}`];
      return hosts ? { records: hosts.map((exchange, i) => ({ exchange, priority: 10 * (i + 1) })) } : { none: 'no-record' };
    },
  } as unknown as DoctorDns;
}

const BOX = '192.0.2.10';

t.test('each mechanism, as a receiver would evaluate it for the box', async (t) => {
  const cases: [record: string, extra: Records, address: string, want: string][] = [
    ['v=spf1 ip4:192.0.2.0/24 -all', {}, BOX, 'pass'],
    ['v=spf1 ip4:192.0.2.11 -all', {}, BOX, 'fail'],
    ['v=spf1 ip4:192.0.2.11 ~all', {}, BOX, 'softfail'],
    ['v=spf1 ip4:192.0.2.11', {}, BOX, 'neutral'],
    ['v=spf1 ip6:2001:db8::/32 -all', {}, '2001:db8::10', 'pass'],
    ['v=spf1 a -all', { 'A example.test': [BOX] }, BOX, 'pass'],
    ['v=spf1 a:mail.example.test/24 -all', { 'A mail.example.test': ['192.0.2.99'] }, BOX, 'pass'],
    ['v=spf1 mx -all', { 'MX example.test': ['mx.example.test'], 'A mx.example.test': [BOX] }, BOX, 'pass'],
    ['v=spf1 mx -all', { 'MX example.test': ['mx.elsewhere.test'], 'A mx.elsewhere.test': ['198.51.100.1'] }, BOX, 'fail'],
    ['v=spf1 include:_spf.isp.test -all', { 'TXT _spf.isp.test': ['v=spf1 ip4:192.0.2.0/28 -all'] }, BOX, 'pass'],
    // RFC 7208 5.2: an include whose record fails does not match; the outer record goes on.
    ['v=spf1 include:_spf.isp.test ?all', { 'TXT _spf.isp.test': ['v=spf1 -all'] }, BOX, 'neutral'],
    ['v=spf1 include:nothing.test -all', {}, BOX, 'permerror'],
    ['v=spf1 redirect=_spf.isp.test', { 'TXT _spf.isp.test': ['v=spf1 ip4:192.0.2.10 -all'] }, BOX, 'pass'],
    ['v=spf1 -all redirect=_spf.isp.test', { 'TXT _spf.isp.test': ['v=spf1 +all'] }, BOX, 'fail'],
    ['v=spf1 exists:%{i}.bl.test -all', {}, BOX, 'fail'],
  ];
  for (const [record, extra, address, want] of cases) {
    const verdict = await evaluateSpf(dnsOf({ 'TXT example.test': [record], ...extra }), 'example.test', address);
    t.equal(verdict.result, want, `${record} for ${address}: ${verdict.why}`);
  }
});

t.test('the errors of RFC 7208 4.5 and 4.6.4, and what was not evaluated', async (t) => {
  const two = await evaluateSpf(dnsOf({ 'TXT example.test': ['v=spf1 -all', 'v=spf1 +all', 'google-site-verification=x'] }), 'example.test', BOX);
  t.match(two, { result: 'permerror', why: /2 SPF records/ });
  const none = await evaluateSpf(dnsOf({ 'TXT example.test': ['google-site-verification=x'] }), 'example.test', BOX);
  t.equal(none.result, 'none');
  const includes = Array.from({ length: 11 }, (_, i) => `include:i${i}.test`).join(' ');
  const many: Records = { 'TXT example.test': [`v=spf1 ${includes} -all`] };
  for (let i = 0; i < 11; i++) many[`TXT i${i}.test`] = ['v=spf1 -all'];
  t.match(await evaluateSpf(dnsOf(many), 'example.test', BOX), { result: 'permerror', why: /more than 10 DNS look-ups/ });
  const skipped = await evaluateSpf(dnsOf({ 'TXT example.test': ['v=spf1 ptr exists:%{i}.bl.test -all'] }), 'example.test', BOX);
  t.match(skipped, { result: 'fail', why: /not evaluated here: ptr, exists/ });
});
