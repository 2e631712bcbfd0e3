// The box itself: a clock kept by NTP (TLS certificates and DKIM signatures carry times), room on the
// disk for mail, and the listeners answering with an SMTP greeting.
import { execFile } from 'node:child_process';
import { readdir, stat, statfs } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { ok, problem, warning, type Finding } from './findings.js';

const CLOCK_TIMEOUT_MS = 3_000;
const GREETING_TIMEOUT_MS = 5_000;
const LOW_DISK_BYTES = 1024 ** 3;

export async function checkClock(): Promise<Finding> {
  const answer = await new Promise<string | null>((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: CLOCK_TIMEOUT_MS }, (err, stdout) => resolve(err ? null : stdout.trim()));
  });
  if (answer === 'yes') return ok('clock', 'NTP', 'the clock is synchronised by NTP');
  if (answer === 'no') return warning('clock', 'NTP', 'the clock is not synchronised by NTP: certificates and signatures may look expired or not yet valid', 'turn NTP on: timedatectl set-ntp true (and let the box reach an NTP server)');
  return warning('clock', 'NTP', 'cannot tell whether the clock is synchronised (timedatectl gave no answer)', 'make sure an NTP client (systemd-timesyncd, chrony) keeps the time');
}

export function megabytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

async function directorySize(path: string): Promise<number> {
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  const sizes = await Promise.all(
    entries.filter((e) => e.isFile()).map((e) => stat(join(e.parentPath ?? e.path, e.name)).then((s) => s.size, () => 0)),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

export async function checkDisk(dataDir: string, storePath: string, reserveBytes: number): Promise<Finding> {
  const disk = await statfs(dataDir);
  const free = disk.bavail * disk.bsize;
  const used = await directorySize(storePath).catch(() => 0);
  const summary = `${megabytes(free)} free of ${megabytes(disk.blocks * disk.bsize)}; the store uses ${megabytes(used)}`;
  // src/smtp/storage.ts: below the reserve, new mail is refused with 452 4.3.1.
  if (free < reserveBytes) return problem('disk', dataDir, `${summary}: below the ${megabytes(reserveBytes)} reserve, new mail is refused`, 'free space on this disk now (old backups, logs), or move the data directory to a larger one');
  if (free < LOW_DISK_BYTES) return warning('disk', dataDir, `${summary}: under 1 GB left`, 'free space on this disk, or move the data directory to a larger one');
  return ok('disk', dataDir, summary);
}

export interface Listener {
  service: string;
  address: string;
  port: number;
}

/** How each service greets (RFC 5321 4.2: 220; RFC 3501 7.1.1: `* OK`) and whether TLS comes first. */
function greetingOf(service: string): { pattern: RegExp; expected: string; implicitTls: boolean; goodbye: string } {
  if (service === 'imap' || service === 'imaps') return { pattern: /^\* OK[ \]]/i, expected: '* OK', implicitTls: service === 'imaps', goodbye: 'a LOGOUT\r\n' };
  return { pattern: /^220[ -]/, expected: '220', implicitTls: service === 'smtps', goodbye: 'QUIT\r\n' };
}

/** Connects to a listener as a client would and reads its greeting. */
export async function checkListener(listener: Listener): Promise<Finding> {
  // A wildcard address is reached on the loopback of its family.
  const host = listener.address === '0.0.0.0' ? '127.0.0.1' : listener.address === '::' ? '::1' : listener.address;
  const subject = `${listener.service} ${listener.address}:${listener.port}`;
  const greets = greetingOf(listener.service);
  const greeting = await readGreeting(host, listener.port, greets.implicitTls, greets.goodbye).catch((err: Error) => `(${err.message})`);
  if (greets.pattern.test(greeting)) return ok('listener', subject, `answers: ${greeting.slice(0, 80)}`);
  return problem('listener', subject, `does not greet with ${greets.expected}: ${greeting.slice(0, 80) || '(nothing)'}`, 'look at the service log (journalctl -u letterbox) and whether another program holds the port');
}

function readGreeting(host: string, port: number, implicitTls: boolean, goodbye: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Only whether it answers is checked here: the certificate has its own findings.
    const socket = implicitTls ? tls.connect({ host, port, rejectUnauthorized: false }) : net.connect({ host, port });
    let received = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no greeting within ${GREETING_TIMEOUT_MS / 1000} s`)), GREETING_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.end(goodbye);
      resolve(received.slice(0, end).trim());
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received.trim());
    });
  });
}
