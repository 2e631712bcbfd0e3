// The certificate the listeners serve (<dataDir>/tls/cert.pem): its names cover the hostname, it has
// not expired and is not about to, and it comes with its chain rather than self-signed.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ok, problem, warning, type Finding } from './findings.js';

const EXPIRY_WARNING_DAYS = 21;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Every CERTIFICATE block of a PEM text, parsed; throws on one that does not parse. */
export function certificatesIn(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

export async function checkCertificate(path: string, hostname: string, now: number): Promise<Finding[]> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return [warning('tls', hostname, `no certificate at ${path} yet`, 'start letterbox serve once: it makes a self-signed one; then install one from a CA')];
  }
  let chain: X509Certificate[];
  try {
    chain = certificatesIn(pem);
  } catch {
    chain = [];
  }
  const leaf = chain[0];
  if (!leaf) return [problem('tls', hostname, `${path} holds no certificate that parses`, 'install a certificate and its key (cert.pem, key.pem); serve sets an unusable one aside at start')];
  return [namesFinding(leaf, hostname), expiryFinding(leaf, hostname, now), chainFinding(chain, hostname, path)];
}

function namesFinding(leaf: X509Certificate, hostname: string): Finding {
  const names = leaf.subjectAltName ?? leaf.subject;
  if (leaf.checkHost(hostname)) return ok('tls', hostname, `the certificate covers ${hostname} (${names})`);
  return problem('tls', hostname, `the certificate does not name ${hostname} (it has ${names}): mail clients refuse it`, `get a certificate for ${hostname} and install it as cert.pem and key.pem`);
}

function expiryFinding(leaf: X509Certificate, hostname: string, now: number): Finding {
  const notAfter = new Date(leaf.validTo).getTime();
  const notBefore = new Date(leaf.validFrom).getTime();
  const days = Math.floor((notAfter - now) / DAY_MS);
  const until = new Date(notAfter).toISOString().slice(0, 10);
  const renew = 'renew it and install the new one as cert.pem and key.pem';
  if (notBefore > now) return problem('tls', hostname, `the certificate is valid only from ${new Date(notBefore).toISOString()}: is the clock right?`, 'check the clock, or install a certificate that is valid now');
  if (notAfter <= now) return problem('tls', hostname, `the certificate expired on ${until}`, renew);
  if (days < EXPIRY_WARNING_DAYS) return warning('tls', hostname, `the certificate expires in ${days} days (${until})`, renew);
  return ok('tls', hostname, `the certificate is valid until ${until} (${days} days)`);
}

function chainFinding(chain: X509Certificate[], hostname: string, path: string): Finding {
  const leaf = chain[0] as X509Certificate;
  if (leaf.issuer === leaf.subject && leaf.verify(leaf.publicKey)) {
    return warning('tls', hostname, 'the certificate is self-signed: mail clients warn about it (other servers still encrypt)', `install one from a CA (Let's Encrypt, say) for ${hostname} at ${path} with its key`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    const [cert, issuer] = [chain[i] as X509Certificate, chain[i + 1] as X509Certificate];
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
      return problem('tls', hostname, `certificate ${i + 1} in ${path} is not signed by the one after it`, 'put the server certificate first, then each issuer in order (a CA\'s fullchain.pem)');
    }
  }
  if (chain.length === 1) {
    return warning('tls', hostname, `${path} holds the server certificate only, without its issuer's (${oneLine(leaf.issuer)})`, 'install the full chain (a CA\'s fullchain.pem) as cert.pem');
  }
  return ok('tls', hostname, `chain of ${chain.length} certificates, issued by ${oneLine(leaf.issuer)}`);
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
