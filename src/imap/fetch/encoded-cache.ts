// Encoded responses that never change, by key: a message's `ENVELOPE (...)` by its id. A client's sync
// asks for every message's ENVELOPE again and again; encoding one is some sixty small strings, quoted
// or made literals one by one, which is most of the cost of `UID FETCH 1:* (FLAGS ENVELOPE)`. One cache
// per server, least recently used first out; an entry is a few hundred bytes.

export const DEFAULT_ENCODED_ENTRIES = 10_000;

export class EncodedCache {
  private readonly entries = new Map<string, Buffer>();

  constructor(readonly capacity = DEFAULT_ENCODED_ENTRIES) {}

  /** The bytes kept under `key`, else what `encode()` makes, kept. */
  get(key: string, encode: () => Buffer): Buffer {
    const found = this.entries.get(key);
    if (found) {
      // Map keeps insertion order: moving the entry to the end makes the first the least recently used.
      this.entries.delete(key);
      this.entries.set(key, found);
      return found;
    }
    const made = encode();
    if (this.capacity <= 0) return made;
    // A copy of its own: small buffers are slices of a shared 8 KB pool, which a kept slice keeps alive.
    const bytes = Buffer.allocUnsafeSlow(made.length);
    made.copy(bytes);
    this.entries.set(key, bytes);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return bytes;
  }

  get size(): number {
    return this.entries.size;
  }
}
