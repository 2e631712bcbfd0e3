// RFC 3501 2.3.2 \Recent, kept in memory per folder as Dovecot keeps it per folder on disk: the first
// UID no session has claimed yet (`from`), and how many messages at or above it are still there, so
// STATUS (RECENT) needs no listing. A folder nobody has received mail in since the process started has
// nothing recent (a restart forgets what was recent, which RFC 3501 allows: \Recent is per session).
import type { FolderChange } from '../core/types.js';

interface Unclaimed {
  from: number;
  count: number;
}

export class RecentTracker {
  private readonly folders = new Map<string, Unclaimed>();

  /** The first unclaimed UID of a folder (Infinity: none). */
  from(folderId: string): number {
    return this.folders.get(folderId)?.from ?? Number.POSITIVE_INFINITY;
  }

  count(folderId: string): number {
    return this.folders.get(folderId)?.count ?? 0;
  }

  /** A read-write session saw everything below `uidNext`: none of it is recent for anyone else. */
  claim(folderId: string, uidNext: number): void {
    this.folders.set(folderId, { from: uidNext, count: 0 });
  }

  /** Follows a change of the store (before any session claims what it brings). */
  apply(change: FolderChange): void {
    const unclaimed = this.folders.get(change.folderId);
    switch (change.kind) {
      case 'appended':
        if (change.entries.length === 0) return;
        if (unclaimed) unclaimed.count += change.entries.length;
        else this.folders.set(change.folderId, { from: change.entries[0]!.uid, count: change.entries.length });
        return;
      case 'expunged':
        if (unclaimed) unclaimed.count -= change.uids.filter((uid) => uid >= unclaimed.from).length;
        return;
      case 'deleted':
        this.folders.delete(change.folderId);
        return;
      default:
        return;
    }
  }
}
