// `letterbox relay set|show|test`: the upstream smarthost, kept in the store's settings so it applies
// at the next delivery without a restart. The password is stored (the smarthost needs it in clear)
// but never shown, logged or returned.
//
// A private smarthost's certificate (or its CA's) is trusted besides the system's roots when it is in
// <dataDir>/tls/relay-ca.pem: `relay set --ca FILE` puts it there, `--ca none` removes it, and a file
// placed there by hand (before the option existed) is read the same way. Delivery reads the file at
// each smarthost session, so a change applies without a restart.
import { X509Certificate } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LetterboxError } from '../core/errors.js';
import { makeDirectoryDurably, syncDirectory, writeFileDurably } from '../core/durable-files.js';
import type { RelaySettings } from '../core/types.js';
import type { AdminContext, AdminParams } from './api.js';

export const RELAY_SETTING = 'relay';

const TLS_MODES = ['starttls', 'implicit'] as const;
const MODES = ['fallback', 'always', 'never'] as const;

function parseRelay(p: AdminParams, previous: RelaySettings | undefined): RelaySettings {
  const host = typeof p.host === 'string' ? p.host.trim() : '';
  if (!host || /[\s/]/.test(host)) throw new LetterboxError('INVALID', 'relay set needs --host HOST');
  const port = Number(p.port ?? 587);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LetterboxError('INVALID', `--port must be 1-65535, not ${String(p.port)}`);
  const tls = (p.tls ?? (port === 465 ? 'implicit' : 'starttls')) as RelaySettings['tls'];
  if (!TLS_MODES.includes(tls)) throw new LetterboxError('INVALID', `--tls must be one of ${TLS_MODES.join(', ')}`);
  const mode = (p.mode ?? previous?.mode ?? 'fallback') as RelaySettings['mode'];
  if (!MODES.includes(mode)) throw new LetterboxError('INVALID', `--mode must be one of ${MODES.join(', ')}`);
  const user = typeof p.user === 'string' && p.user ? p.user : undefined;
  const password = typeof p.password === 'string' && p.password ? p.password : undefined;
  if (user && !password) throw new LetterboxError('INVALID', '--user needs a password (--password-stdin)');
  return { host, port, tls, mode, ...(user ? { user, password } : {}) };
}

/** What may be shown of the settings. */
export function publicRelay(relay: RelaySettings | undefined) {
  if (!relay) return { configured: false };
  return { configured: true, host: relay.host, port: relay.port, tls: relay.tls, mode: relay.mode, user: relay.user ?? null, password: relay.password ? '(set)' : null };
}

const RELAY_OPTIONS = ['host', 'port', 'user', 'password', 'tls', 'mode'] as const;

export const relayOperations = {
  'relay.set': async (ctx: AdminContext, p: AdminParams) => {
    // Checked before anything is stored, so a refused file changes nothing.
    const ca = p.ca === undefined ? undefined : p.ca === 'none' ? 'none' : caCertificates(String(p.ca), 'the --ca file').pem;
    const trustOnly = ca !== undefined && RELAY_OPTIONS.every((name) => p[name] === undefined);
    let relay = await ctx.settings.getSetting<RelaySettings>(RELAY_SETTING);
    if (!trustOnly) {
      relay = parseRelay(p, relay);
      await ctx.settings.putSetting(RELAY_SETTING, relay);
    }
    if (ca !== undefined) await setRelayCa(ctx.dataDir, ca === 'none' ? undefined : ca);
    return { ...publicRelay(relay), trust: await relayTrust(ctx.dataDir) };
  },
  'relay.show': async (ctx: AdminContext) => ({ ...publicRelay(await ctx.settings.getSetting<RelaySettings>(RELAY_SETTING)), trust: await relayTrust(ctx.dataDir) }),
  'relay.test': async (ctx: AdminContext, p: AdminParams) => {
    if (!(await ctx.settings.getSetting<RelaySettings>(RELAY_SETTING))) throw new LetterboxError('INVALID', 'no smarthost is set (letterbox relay set ...)');
    const to = typeof p.address === 'string' ? p.address : '';
    if (!to.includes('@')) throw new LetterboxError('INVALID', 'relay test takes an ADDRESS');
    return ctx.testRelay(to);
  },
};

/** Extra CA certificates (PEM) trusted for the smarthost, besides the system's roots. */
export function relayCaPath(dataDir: string): string {
  return join(dataDir, 'tls', 'relay-ca.pem');
}

export async function readRelayCa(dataDir: string): Promise<string | undefined> {
  try {
    return await readFile(relayCaPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The certificates of a PEM text, each parsed as X.509, and the PEM of only those (text around them,
 * as `openssl x509 -text` leaves, is dropped). A key or anything that is not a certificate is refused.
 */
export function caCertificates(text: string, source: string): { pem: string; certificates: X509Certificate[] } {
  const blocks = text.match(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/g) ?? [];
  const other = blocks.find((block) => !block.startsWith('-----BEGIN CERTIFICATE-----'));
  if (other) throw new LetterboxError('INVALID', `${source} holds a ${/-----BEGIN ([A-Z0-9 ]+)-----/.exec(other)?.[1] ?? 'PEM block'} besides certificates: give only the smarthost's certificate or its CA's`);
  if (blocks.length === 0) throw new LetterboxError('INVALID', `${source} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const certificates = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new LetterboxError('INVALID', `certificate ${i + 1} of ${blocks.length} in ${source} is not a valid X.509 certificate`);
    }
  });
  return { pem: blocks.join('\n') + '\n', certificates };
}

/** `relay set --ca FILE` on the command line: the file's text, read by the CLI (the service may not see the path). */
export async function readCaOption(file: string): Promise<string> {
  if (file === 'none') return 'none';
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new LetterboxError('INVALID', `cannot read the --ca file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  return caCertificates(text, file).pem;
}

async function setRelayCa(dataDir: string, pem: string | undefined): Promise<void> {
  const path = relayCaPath(dataDir);
  if (pem === undefined) {
    await rm(path, { force: true });
    await syncDirectory(dirname(path)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    return;
  }
  await makeDirectoryDurably(dirname(path), 0o700);
  await writeFileDurably(path, pem, 0o600);
}

export interface RelayTrust {
  /** The system's (Node's bundled) roots are always trusted. */
  systemRoots: true;
  /** The extra file when there is one. */
  file: string | null;
  certificates: { subject: string; notAfter: string }[];
  /** Why the file cannot be used, when it cannot. */
  problem?: string;
}

export async function relayTrust(dataDir: string): Promise<RelayTrust> {
  const pem = await readRelayCa(dataDir);
  if (pem === undefined) return { systemRoots: true, file: null, certificates: [] };
  const file = relayCaPath(dataDir);
  try {
    const { certificates } = caCertificates(pem, file);
    return { systemRoots: true, file, certificates: certificates.map((c) => ({ subject: c.subject.split('\n').join(', '), notAfter: new Date(c.validTo).toISOString() })) };
  } catch (err) {
    return { systemRoots: true, file, certificates: [], problem: (err as Error).message };
  }
}

/** Which certificates the smarthost's must chain to, for `relay show` and `relay set` (format/relay.ts). */
export function relayTrustLines(trust: RelayTrust): string[] {
  if (!trust.file) return ['trust: the system\'s root certificates'];
  if (trust.problem) return [`trust: the system's root certificates only; ${trust.file} is not used: ${trust.problem}`];
  const n = trust.certificates.length;
  return [
    `trust: the system's root certificates + ${n} certificate${n === 1 ? '' : 's'} from ${trust.file}`,
    ...trust.certificates.map((c) => `  ${c.subject}, valid until ${c.notAfter.slice(0, 10)}`),
  ];
}
