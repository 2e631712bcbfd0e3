// Makes the names of files LevelDB creates durable before anything that depends on them is acknowledged.
//
// LevelDB 1.20 (the one classic-level bundles) fsyncs its directory only when it writes a MANIFEST. The
// write-ahead log it opens at each memtable switch is fdatasynced by every `sync: true` write, but its
// name is not: after a power cut on a file system that keeps POSIX's promise and no more, the log and
// every commit in it can be gone although each commit was synced. So after each synced batch, the
// store's directory is listed and, when a name appeared since the last look, fsynced. Listing a directory
// of a few dozen files costs microseconds; the fsync happens about once per megabyte written.
import { readdir } from 'node:fs/promises';
import { syncDirectory } from '../core/durable-files.js';

export class NameSync {
  private known = new Set<string>();
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  /** How many times the directory had new names and was fsynced; for tests and benchmarks. */
  directorySyncs = 0;

  constructor(private readonly location: string) {}

  /** Syncs the directory once (LevelDB's open renames CURRENT and starts a log without doing so). */
  async start(): Promise<void> {
    this.known = new Set(await readdir(this.location));
    await syncDirectory(this.location);
    this.directorySyncs += 1;
  }

  /**
   * Resolves once every file that existed when it was called has a durable name. Calls that arrive
   * while a look is running share the one after it, which starts after their writes finished.
   */
  settle(): Promise<void> {
    if (!this.running) {
      this.running = this.look().finally(() => (this.running = null));
      return this.running;
    }
    this.next ??= this.running.then(undefined, () => undefined).then(() => {
      this.next = null;
      return this.settle();
    });
    return this.next;
  }

  private async look(): Promise<void> {
    const names = await readdir(this.location);
    if (names.some((name) => !this.known.has(name))) {
      await syncDirectory(this.location);
      this.directorySyncs += 1;
    }
    // Only once synced: a failed fsync leaves the names new for the next look.
    this.known = new Set(names);
  }
}
