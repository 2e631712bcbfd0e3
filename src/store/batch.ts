// One atomic LevelDB batch across sublevels. Every state change of the store goes through one of these.
import type { Level } from 'level';
import type { BytesSublevel, JsonSublevel } from './db.js';

type Op =
  | { type: 'put'; sublevel: JsonSublevel | BytesSublevel; key: string; value: unknown }
  | { type: 'del'; sublevel: JsonSublevel | BytesSublevel; key: string };

export class Batch {
  private readonly ops: Op[] = [];
  constructor(private readonly db: Level<string, unknown>) {}

  put(sublevel: JsonSublevel | BytesSublevel, key: string, value: unknown): this {
    this.ops.push({ type: 'put', sublevel, key, value });
    return this;
  }

  del(sublevel: JsonSublevel | BytesSublevel, key: string): this {
    this.ops.push({ type: 'del', sublevel, key });
    return this;
  }

  /** `durable` makes LevelDB fsync its log before resolving: required before anything is acknowledged. */
  async write(durable: boolean): Promise<void> {
    if (this.ops.length === 0) return;
    // The sublevel-aware batch form is typed per sublevel in abstract-level; one cast keeps callers simple.
    await this.db.batch(this.ops as never, { sync: durable });
  }
}
