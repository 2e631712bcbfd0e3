// `letterbox doctor` (issue 13) against a loopback DNS (dnsmasq) whose zones are right, half right and
// wrong, a certificate that expires soon or has expired, and a box whose outbound port 25 is blocked:
// each finding with its level and advice, the human lines, and the exit code (1 on any problem).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { DOMAIN, HOSTNAME } from '../helpers/addresses.js';
import { provision, startAppliance, waitForLog, type RunningAppliance } from '../helpers/appliance.js';
import { installCertificate, makeCa, makeServerCertificate } from '../helpers/certificates.js';
import { startDnsmasq, type DnsZone } from '../helpers/dnsmasq.js';
import { compose } from '../helpers/messages.js';
import { portFreeOnAll } from '../helpers/ports.js';
import { startQueueAppliance, submit } from '../helpers/queue.js';

t.setTimeout(240_000);

const BOX = '192.0.2.10'; // TEST-NET-1 (RFC 5737): a public-looking address that goes nowhere
const RELAY = '198.51.100.25';

interface Finding {
  check: string;
  subject: string;
  level: 'ok' | 'warning' | 'problem';
  summary: string;
  advice?: string;
}
interface Report {
  hostname: string;
  problems: number;
  warnings: number;
  findings: Finding[];
}

/** The appliance on `zone`'s DNS with letterbox.test, after `prepare` ran on its data directory. */
async function boxOn(t: Test, zone: DnsZone, prepare?: (dataDir: string) => Promise<void>): Promise<RunningAppliance | null> {
  const dns = await startDnsmasq(t, zone);
  if (!dns) return null;
  const dataDir = mkdtempSync(join(tmpdir(), 'letterbox-doctor-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  await prepare?.(dataDir);
  const app = await startAppliance({ dataDir, config: { dns: { servers: [dns.server] } } });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], []);
  return app;
}

async function doctor(t: Test, app: RunningAppliance): Promise<{ report: Report; human: string; code: number; humanCode: number }> {
  const json = await app.cli(['doctor', '--json']);
  const human = await app.cli(['doctor']);
  t.equal(json.stderr, '', 'nothing on stderr');
  return { report: JSON.parse(json.stdout) as Report, human: human.stdout, code: json.code, humanCode: human.code };
}

function findings(report: Report, check: string): Finding[] {
  return report.findings.filter((f) => f.check === check);
}

t.test('right zones, a CA-signed certificate and a smarthost: every finding ok, exit 0', async (t) => {
  const app = await boxOn(
    t,
    {
      mx: [{ domain: DOMAIN, host: HOSTNAME, preference: 10 }],
      hosts: [
        { name: HOSTNAME, addresses: [BOX] },
        { name: 'relay.isp.test', addresses: [RELAY] },
      ],
      txt: [
        { name: DOMAIN, text: 'v=spf1 mx include:_spf.isp.test -all' },
        { name: '_spf.isp.test', text: 'v=spf1 ip4:198.51.100.0/24 -all' },
        { name: `_dmarc.${DOMAIN}`, text: `v=DMARC1; p=quarantine; rua=mailto:postmaster@${DOMAIN}` },
      ],
    },
    async (dataDir) => {
      const ca = await makeCa();
      const server = await makeServerCertificate(ca, HOSTNAME, 90);
      installCertificate(dataDir, [server.cert, ca.cert], server.key);
    },
  );
  if (!app) return;
  t.equal((await app.cli(['relay', 'set', '--host', 'relay.isp.test', '--port', '587'])).code, 0);
  const { report, human, code, humanCode } = await doctor(t, app);
  t.equal(code, 0, 'exit 0');
  t.equal(humanCode, 0);
  t.equal(report.problems, 0);
  // The clock is the machine's: a container without systemd cannot tell, which is a warning.
  const notOk = report.findings.filter((f) => f.level !== 'ok' && f.check !== 'clock');
  t.same(notOk, [], 'every finding but the clock is ok');
  for (const check of ['mx', 'spf', 'dmarc', 'hostname', 'ptr', 'outbound', 'smarthost', 'tls', 'disk', 'listener']) t.ok(findings(report, check).length > 0, `${check} was checked`);
  t.equal(findings(report, 'tls').length, 3, 'names, expiry and chain');
  t.equal(findings(report, 'listener').length, 5, 'port 25, submission, smtps, imap and imaps answered');
  t.match(findings(report, 'spf')[0]?.summary, /allows mx\.letterbox\.test and smarthost relay\.isp\.test/);
  t.match(human, /^ok\s+MX\s+letterbox\.test\s+MX is mx\.letterbox\.test \(10\): this host$/m);
  t.match(human, /^ok\s+PTR\s+192\.0\.2\.10\s+the PTR of 192\.0\.2\.10 is mx\.letterbox\.test$/m);
  t.match(human, /^ok\s+listener\s+mx 127\.0\.0\.1:\d+\s+answers: 220 /m);
  t.match(human, /^ok\s+listener\s+imaps 127\.0\.0\.1:\d+\s+answers: \* OK /m);
  t.match(human, /^(everything checked is ok|no problems, 1 warning)$/m);
});

t.test('half right: SPF does not allow the box, no DMARC, PTR elsewhere, self-signed', async (t) => {
  const app = await boxOn(t, {
    mx: [{ domain: DOMAIN, host: HOSTNAME, preference: 10 }],
    hosts: [{ name: HOSTNAME, addresses: [BOX] }],
    txt: [{ name: DOMAIN, text: 'v=spf1 ip4:198.51.100.7 ~all' }],
    ptr: [{ address: BOX, name: 'dsl-10.isp.test' }],
  });
  if (!app) return;
  const { report, human, code } = await doctor(t, app);
  t.equal(code, 1, 'exit 1: there is a problem');
  t.match(findings(report, 'mx'), [{ level: 'ok' }]);
  t.match(findings(report, 'spf'), [
    { level: 'problem', summary: /does not allow mx\.letterbox\.test 192\.0\.2\.10 \(softfail: ~all in the record of letterbox\.test\)/, advice: /change the TXT record at letterbox\.test .*"v=spf1 mx -all"/ },
  ]);
  t.match(findings(report, 'dmarc'), [{ level: 'warning', summary: /no DMARC record at _dmarc\.letterbox\.test/, advice: /"v=DMARC1; p=none; rua=mailto:postmaster@letterbox\.test"/ }]);
  t.match(findings(report, 'ptr'), [{ level: 'warning', summary: /PTR of 192\.0\.2\.10 is dsl-10\.isp\.test, not mx\.letterbox\.test/, advice: /reverse DNS/ }]);
  t.match(findings(report, 'tls'), [{ level: 'ok' }, { level: 'ok' }, { level: 'warning', summary: /self-signed/, advice: /install one from a CA/ }]);
  t.match(human, /^problem\s+SPF\s+letterbox\.test\s+".*" does not allow/m);
  t.match(human, /^\s+-> change the TXT record at letterbox\.test/m, 'the advice under the finding');
  t.match(human, /^warning\s+DMARC\s+letterbox\.test/m);
  t.match(human, /^1 problem, \d+ warnings: /m);
});

t.test('wrong: MX elsewhere, no SPF, the hostname not in DNS; offline, listeners and port 25 unknown', async (t) => {
  const app = await boxOn(t, {
    mx: [{ domain: DOMAIN, host: 'mx.elsewhere.test', preference: 10 }],
    hosts: [{ name: 'mx.elsewhere.test', addresses: ['198.51.100.50'] }],
  });
  if (!app) return;
  await app.stop();
  const { report, human, code } = await doctor(t, app);
  t.equal(code, 1);
  t.match(findings(report, 'mx'), [{ level: 'problem', summary: /MX is mx\.elsewhere\.test \(10\), not this host/, advice: 'set the MX record of letterbox.test to mx.letterbox.test' }]);
  t.match(findings(report, 'spf'), [{ level: 'problem', summary: /has no SPF record/, advice: /add a TXT record at letterbox\.test: "v=spf1 mx -all"/ }]);
  t.match(findings(report, 'hostname'), [{ level: 'problem', summary: /mx\.letterbox\.test has no A or AAAA record/ }]);
  t.match(findings(report, 'listener'), [{ level: 'warning', summary: /serve is not running/ }]);
  t.match(findings(report, 'outbound'), [{ level: 'warning', summary: /cannot tell/ }]);
  t.match(human, /^problem\s+MX\s+letterbox\.test\s+MX is mx\.elsewhere\.test/m);
  t.match(human, /^\s+-> set the MX record of letterbox\.test to mx\.letterbox\.test$/m);
});

t.test('a certificate that expires in 10 days is a warning; one that expired, a problem', async (t) => {
  const ca = await makeCa();
  const zone: DnsZone = { mx: [{ domain: DOMAIN, host: HOSTNAME, preference: 10 }], hosts: [{ name: HOSTNAME, addresses: [BOX] }] };
  let dataDir = '';
  const app = await boxOn(t, zone, async (dir) => {
    dataDir = dir;
    const soon = await makeServerCertificate(ca, HOSTNAME, 10.5);
    installCertificate(dir, [soon.cert, ca.cert], soon.key);
  });
  if (!app) return;
  const soon = await doctor(t, app);
  t.match(findings(soon.report, 'tls'), [{ level: 'ok' }, { level: 'warning', summary: /expires in 10 days/, advice: /renew it/ }, { level: 'ok' }]);
  t.match(soon.human, /^warning\s+TLS\s+mx\.letterbox\.test\s+the certificate expires in 10 days/m);

  await app.stop();
  const expired = await makeServerCertificate(ca, HOSTNAME, -1, -30);
  installCertificate(dataDir, [expired.cert, ca.cert], expired.key);
  const after = await doctor(t, app);
  t.equal(after.code, 1);
  t.match(findings(after.report, 'tls'), [{ level: 'ok' }, { level: 'problem', summary: /the certificate expired on \d{4}-\d\d-\d\d/, advice: /renew it/ }, { level: 'ok' }]);
});

t.test('outbound port 25 blocked and no smarthost: a problem, with the advice to set one', async (t) => {
  const DEAD_MX = '127.0.0.6'; // refuses every connection, as a blocked port 25 does
  const mxPort = await portFreeOnAll([DEAD_MX]);
  const dns = await startDnsmasq(t, {
    mx: ['down1', 'down2', 'down3'].map((name) => ({ domain: `${name}.test`, host: 'mx.down.test', preference: 10 })),
    hosts: [{ name: 'mx.down.test', addresses: [DEAD_MX] }],
  });
  if (!dns) return;
  const app = await startQueueAppliance(t, { dnsServer: dns.server, mxPort });
  const before = await doctor(t, app);
  t.match(findings(before.report, 'outbound'), [{ level: 'ok', summary: /no sign/ }]);
  for (const domain of ['down1.test', 'down2.test', 'down3.test']) {
    await submit(app, [{ to: [`carol@${domain}`], raw: compose({ to: [`carol@${domain}`], subject: `to ${domain}` }) }]);
  }
  await waitForLog(app, 'outbound port 25 seems blocked');
  const { report, human, code } = await doctor(t, app);
  t.equal(code, 1);
  t.match(findings(report, 'outbound'), [{ level: 'problem', summary: /seems blocked and there is no smarthost/, advice: /letterbox relay set --host/ }]);
  t.match(human, /^problem\s+outbound\s+port 25\s+outbound port 25 seems blocked/m);
});
