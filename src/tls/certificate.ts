// TLS material for SMTP (and later IMAP, POP3 and the web page). An installed certificate at
// <dataDir>/tls/{cert,key}.pem is used as it is; on first start, when there is none, a self-signed
// one for the configured hostname is made, so STARTTLS and 465 work out of the box.
//
// A certificate or key that does not parse, or a pair that does not match, is never served: a server
// that offers STARTTLS with it fails every handshake forever. It is set aside (`*.pem.bad`) and a
// self-signed pair is made in its place. Both files are written so a power cut leaves the old file or
// the new one (core/durable-files.ts), key first, so a cut between the two leaves a pair that does not
// match, which the next start replaces.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { makeDirectoryDurably, syncDirectory, writeFileDurably } from '../core/durable-files.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** True when this start created it. */
  created: boolean;
  /** Why an existing pair was set aside and replaced, when it was. */
  replaced?: string;
  certPath: string;
}

/** The certificate the listeners serve (PEM, the chain after it); its key is key.pem beside it. */
export function certificatePath(dataDir: string): string {
  return join(dataDir, 'tls', 'cert.pem');
}

export async function loadOrCreateCertificate(dataDir: string, hostname: string): Promise<TlsMaterial> {
  const dir = join(dataDir, 'tls');
  const certPath = certificatePath(dataDir);
  const keyPath = join(dir, 'key.pem');
  const installed = await readPair(certPath, keyPath);
  let replaced: string | undefined;
  if (installed) {
    replaced = unusable(installed.cert, installed.key);
    if (!replaced) return { ...installed, created: false, certPath };
    await setAside(dir, [certPath, keyPath]);
  }
  const pems = await selfSigned(hostname);
  await makeDirectoryDurably(dir, 0o700);
  await writeFileDurably(keyPath, pems.private, 0o600);
  await writeFileDurably(certPath, pems.cert, 0o644);
  return { cert: pems.cert, key: pems.private, created: true, certPath, ...(replaced ? { replaced } : {}) };
}

/** Both files' text, or null when either is missing. */
async function readPair(certPath: string, keyPath: string): Promise<{ cert: string; key: string } | null> {
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Why the pair cannot be served, or undefined when it can. */
export function unusable(cert: string, key: string): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    return cert.trim() === '' ? 'the certificate file is empty' : 'the certificate does not parse';
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) return 'the key does not belong to the certificate';
  } catch {
    return key.trim() === '' ? 'the key file is empty' : 'the key does not parse';
  }
  return undefined;
}

async function setAside(dir: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    await rename(path, `${path}.bad`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  await syncDirectory(dir);
}

async function selfSigned(hostname: string) {
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + 10);
  return generate([{ name: 'commonName', value: hostname }], {
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
}
