// Never let the disk fill up under LevelDB: once a write fails for want of space, LevelDB refuses
// every later write (and even reopening) until space is made. So, like Postfix's queue_minfree, a
// transaction starts only when the disk has room for the largest message and a reserve besides, and
// a transfer stops (452 4.3.1, the sender keeps the message) when the reserve is reached.
import type { MailStore } from '../core/interfaces.js';

/**
 * Kept free for LevelDB's compactions (which write new tables before deleting old ones) and the queue.
 * A level-0 compaction can rewrite every level-0 table and the level-1 tables they overlap (about
 * 15 MB with a 1 MB write buffer) while transfers are still writing; 16 MB proved too tight once in CI
 * with four 11 MB transfers on a 60 MB disk ("No space left on device" inside LevelDB).
 */
export const STORAGE_RESERVE = 32 * 1024 * 1024;

/** MAIL FROM: room for one more message of the largest size (or the declared SIZE), and the reserve? */
export async function roomForMessage(store: MailStore, maxMessageSize: number, declaredSize: number | undefined): Promise<boolean> {
  const needed = Math.max(declaredSize ?? 0, maxMessageSize * 1.5) + STORAGE_RESERVE;
  return (await store.freeSpace()) >= needed;
}

/** During DATA: has the reserve been reached (by several transfers at once)? */
export async function reserveReached(store: MailStore): Promise<boolean> {
  return (await store.freeSpace()) < STORAGE_RESERVE;
}
