// The data directory holds every message, every password hash and the smarthost's password: only the
// account that runs Letterbox may read it. Every process that opens the store (serve and the CLI alike)
// comes through here first: the directory is created 0700 (its parents fsynced, so it survives a power
// cut), what is already in it loses any group and other permission bits, and a directory that belongs
// to another account is refused, since files this process made there would be unreadable to the
// service (or readable to the wrong one).
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makeDirectoryDurably } from '../core/durable-files.js';
import { ConfigError } from '../core/errors.js';

/** Kernel file systems: creating a store there fails in odd ways, or never ends. */
const NOT_FOR_MAIL = /^\/(proc|sys|dev)(\/|$)/;

export async function prepareDataDir(dataDir: string): Promise<void> {
  const path = resolve(dataDir);
  if (NOT_FOR_MAIL.test(path)) throw new ConfigError('dataDir', `${dataDir} is on a kernel file system; choose a directory on a disk, such as /var/lib/letterbox`);
  try {
    await makeDirectoryDurably(path, 0o700);
  } catch (err) {
    throw new ConfigError('dataDir', `cannot create ${dataDir}: ${(err as Error).message}`);
  }
  const info = await lstat(path);
  if (!info.isDirectory()) throw new ConfigError('dataDir', `${dataDir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new ConfigError('dataDir', `${dataDir} belongs to uid ${info.uid}, not to this account (uid ${uid}); run letterbox as its owner, e.g. sudo -u letterbox letterbox ...`);
  }
  await tighten(path, info.mode);
}

/** Removes group and other permissions from a directory and everything below it. */
async function tighten(path: string, mode: number): Promise<void> {
  if ((mode & 0o077) !== 0) await chmod(path, mode & 0o700);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const child = join(path, entry.name);
    const childMode = (await lstat(child)).mode;
    if (entry.isDirectory()) await tighten(child, childMode);
    else if ((childMode & 0o077) !== 0) await chmod(child, childMode & 0o700);
  }
}
