// One thing at a time per queue entry: the writes after attempts and the administrator's operations
// on an entry each wait for the one before (see scheduler.ts, "Recording").
export class Turns {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once everything queued earlier for `key` has finished, whether it succeeded or not. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves when everything queued so far has finished. */
  settled(): Promise<void> {
    return Promise.allSettled([...this.tails.values()]).then(() => undefined);
  }
}
