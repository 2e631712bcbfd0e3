// Password hashing with scrypt from node:crypto. The stored form carries its parameters
// (`scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>`), so they can be raised later and old hashes still
// verify. N = 2^14, r = 8 costs 16 MiB per hash: a Pi Zero 2 W (512 MiB) must survive a burst of AUTH
// attempts, so at most two hashes run at once, and at most MAX_WAITING logins wait for a turn; past that a
// login is refused at once with a BUSY error (454 4.7.0 over SMTP) rather than queued without bound.
// Setting a password (the administrator's `user add`/`passwd`) always waits its turn.
//
// The 16 MiB are malloc'ed by OpenSSL on libuv's worker threads. glibc keeps such a block in each worker
// thread's arena once its dynamic mmap threshold has risen past it: up to 64 MB that never go back. The
// systemd unit fixes the threshold (MALLOC_MMAP_THRESHOLD_), so each block is mapped and unmapped.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { LetterboxError } from '../core/errors.js';

const LOG_N = 14;
const R = 8;
const P = 1;
const KEY_LEN = 32;
const MAX_PARALLEL = 2;
/** Password checks that may wait for a turn: each holds a connection and will take 16 MiB. */
export const MAX_WAITING = 16;

let running = 0;
const waiting: (() => void)[] = [];

async function derive(password: string, salt: Buffer, logN: number, r: number, p: number, bounded: boolean): Promise<Buffer> {
  if (running >= MAX_PARALLEL && bounded && waiting.length >= MAX_WAITING) {
    throw new LetterboxError('BUSY', `${MAX_WAITING} password checks are waiting already`);
  }
  while (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const N = 2 ** logN;
      scrypt(password.normalize('NFC'), salt, KEY_LEN, { N, r, p, maxmem: 256 * N * r }, (err, key) =>
        err ? reject(err) : resolve(key),
      );
    });
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, LOG_N, R, P, false);
  return ['scrypt', LOG_N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

// A hash to compare against when the user does not exist, so an unknown name costs as much as a wrong password.
// Made at the first check of any kind, so that it is ready when the first unknown name comes.
let decoy: Promise<string> | undefined;

function decoyHash(): Promise<string> {
  if (!decoy) {
    const made = hashPassword(randomBytes(12).toString('hex'));
    // Made again by the next check rather than failing every one after (and never an unhandled rejection).
    made.catch(() => {
      if (decoy === made) decoy = undefined;
    });
    decoy = made;
  }
  return decoy;
}

/** Whether `password` matches `stored`; throws LetterboxError BUSY when too many checks wait already. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const pending = decoyHash();
  const encoded = stored ?? (await pending);
  const [scheme, logN, r, p, salt, hash] = encoded.split('$');
  const [n, blocks, lanes] = [Number(logN), Number(r), Number(p)];
  // A damaged record is a failed login, not a crash (nor a 2^40 memory request).
  if (scheme !== 'scrypt' || !salt || !hash || !(n >= 10 && n <= 20) || !(blocks >= 1 && blocks <= 32) || !(lanes >= 1 && lanes <= 16)) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), n, blocks, lanes, true);
  return actual.length === expected.length && timingSafeEqual(actual, expected) && stored !== undefined;
}
