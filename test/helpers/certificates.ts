// Certificates for tests that look at the box's TLS setup: a private CA and server certificates it
// signs, with any validity period (one that ends in a few days, one that has ended), made with the
// same `selfsigned` package the appliance uses for its first certificate.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TestCa {
  cert: string;
  key: string;
}

export async function makeCa(name = 'Letterbox Test CA'): Promise<TestCa> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 3650 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A server certificate for `hostname` signed by `ca`, valid from `fromDays` to `untilDays` from now. */
export async function makeServerCertificate(ca: TestCa, hostname: string, untilDays: number, fromDays = -1): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() + fromDays * DAY_MS),
    notAfterDate: new Date(Date.now() + untilDays * DAY_MS),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Installs a certificate (with its chain after it) and key where the appliance reads them (src/tls/certificate.ts). */
export function installCertificate(dataDir: string, chain: string[], key: string): void {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 });
  writeFileSync(join(dir, 'cert.pem'), chain.map((pem) => `${pem.trim()}\n`).join(''), { mode: 0o644 });
}
