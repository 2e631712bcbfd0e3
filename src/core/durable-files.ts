// Files and directories that survive a power cut (DESIGN.md principle 1). POSIX makes a file's bytes
// durable with fsync, and its name (a create, a rename) durable only with an fsync of the directory
// that holds it. ext4, xfs and btrfs happen to do more; an office's SD card may carry any file system,
// so nothing here relies on that.
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** fsync of a file that is already written, by its name. */
export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync of a directory: makes the names created, renamed or removed in it durable. */
export async function syncDirectory(path: string): Promise<void> {
  await syncFile(path);
}

/**
 * `mkdir -p` whose result survives a cut: each directory it creates has its parent synced, so the new
 * name is on disk before anything is written inside it.
 */
export async function makeDirectoryDurably(path: string, mode = 0o700): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  const created = resolve(first);
  // From the deepest created directory up to the parent of the first one.
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    await syncDirectory(dirname(dir));
    if (dir === created || dir === dirname(dir)) break;
  }
}

/**
 * Replaces `path` with `content` so that a cut at any instant leaves the old file or the new one,
 * never an empty or partial one: written to a temporary name, fsynced, renamed, directory fsynced.
 */
export async function writeFileDurably(path: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  const temporary = join(dirname(path), `.${Date.now().toString(36)}-${process.pid}.tmp`);
  try {
    const handle = await open(temporary, 'w', mode);
    try {
      await writeFile(handle, content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await syncDirectory(dirname(path));
}
