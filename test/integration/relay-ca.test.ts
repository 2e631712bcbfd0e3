// `letterbox relay set --ca FILE` (issue 13): the PEM is checked (X.509 certificates only) before
// anything is stored, kept at <dataDir>/tls/relay-ca.pem (0600) where delivery reads it, shown by
// `relay show`, and removed with `--ca none`; through the running service and offline alike.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startAppliance } from '../helpers/appliance.js';
import { makeCa } from '../helpers/certificates.js';

t.setTimeout(120_000);

interface Trust {
  systemRoots: boolean;
  file: string | null;
  certificates: { subject: string; notAfter: string }[];
}

t.test('a CA file is checked, stored, shown and removed', async (t) => {
  const files = mkdtempSync(join(tmpdir(), 'letterbox-ca-files-'));
  t.teardown(() => rmSync(files, { recursive: true, force: true }));
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  const stored = join(app.dataDir, 'tls', 'relay-ca.pem');
  const ca = await makeCa('Office Relay CA');
  const good = join(files, 'relay-ca.pem');
  writeFileSync(good, `Issued by the provider for its relay\n${ca.cert}`);
  const show = async () => JSON.parse((await app.cli(['relay', 'show', '--json'])).stdout) as { configured: boolean; trust: Trust };

  t.match(await show(), { configured: false, trust: { systemRoots: true, file: null, certificates: [] } });

  const refusals: [string, string, RegExp][] = [
    ['garbage', 'this is not a certificate\n', /holds no PEM certificate/],
    ['broken', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n', /certificate 1 of 1 in .* is not a valid X\.509 certificate/],
    ['with-key', `${ca.cert}\n${ca.key}`, /holds a (EC |)PRIVATE KEY besides certificates/],
  ];
  for (const [name, content, message] of refusals) {
    const path = join(files, `${name}.pem`);
    writeFileSync(path, content);
    const refused = await app.cli(['relay', 'set', '--ca', path]);
    t.equal(refused.code, 2, `${name}: exit 2`);
    t.match(refused.stderr, message, `${name}: says why`);
  }
  const missing = await app.cli(['relay', 'set', '--ca', join(files, 'nowhere.pem')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read the --ca file .*nowhere\.pem: no such file/);
  t.notOk(existsSync(stored), 'nothing was stored for a refused file');

  const set = await app.cli(['relay', 'set', '--ca', good]);
  t.equal(set.code, 0, set.stderr);
  t.match(set.stdout, /trust: the system's root certificates \+ 1 certificate from .*relay-ca\.pem/);
  t.equal(statSync(stored).mode & 0o777, 0o600, 'stored 0600');
  t.equal(new X509Certificate(readFileSync(stored)).fingerprint256, new X509Certificate(ca.cert).fingerprint256, 'the certificate, without the text around it');
  t.match(await show(), { configured: false, trust: { file: stored, certificates: [{ subject: 'CN=Office Relay CA', notAfter: /^\d{4}-/ }] } });

  t.equal((await app.cli(['relay', 'set', '--host', 'relay.isp.test', '--port', '587'])).code, 0);
  const human = await app.cli(['relay', 'show']);
  t.match(human.stdout, /relay\.isp\.test:587/);
  t.match(human.stdout, /^trust: the system's root certificates \+ 1 certificate from .*relay-ca\.pem$/m);
  t.match(human.stdout, /^ {2}CN=Office Relay CA, valid until \d{4}-\d\d-\d\d$/m);
  t.match(await show(), { configured: true, trust: { file: stored } }, 'setting the smarthost kept the trust');

  const removed = await app.cli(['relay', 'set', '--ca', 'none']);
  t.equal(removed.code, 0, removed.stderr);
  t.notOk(existsSync(stored), 'the file is gone');
  t.match(await show(), { configured: true, host: 'relay.isp.test', trust: { file: null } });
  t.match((await app.cli(['relay', 'show'])).stdout, /^trust: the system's root certificates$/m);

  // Offline, the command opens the store itself and writes the same file.
  await app.stop();
  t.equal((await app.cli(['relay', 'set', '--ca', good])).code, 0);
  t.match(await show(), { trust: { file: stored, certificates: [{ subject: 'CN=Office Relay CA' }] } });
});
