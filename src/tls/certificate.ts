// TLS material for SMTP (and later IMAP, POP3 and the web page). An installed certificate at
// <dataDir>/tls/{cert,key}.pem is used as it is; on first start, when there is none, a self-signed
// one for the configured hostname is made, so STARTTLS and 465 work out of the box.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** True when this start created it. */
  created: boolean;
  certPath: string;
}

export async function loadOrCreateCertificate(dataDir: string, hostname: string): Promise<TlsMaterial> {
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key, created: false, certPath };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + 10);
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] },
    ],
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key first, each written whole then renamed: a crash never leaves a certificate without its key.
  await writeFile(`${keyPath}.tmp`, pems.private, { mode: 0o600 });
  await rename(`${keyPath}.tmp`, keyPath);
  await writeFile(`${certPath}.tmp`, pems.cert, { mode: 0o644 });
  await rename(`${certPath}.tmp`, certPath);
  return { cert: pems.cert, key: pems.private, created: true, certPath };
}
