// Waiting for an event, never for a while. Each wait has a limit, far above what a loaded machine needs,
// only so that a hang fails the test with what it was waiting for instead of at tap's time-out.

/**
 * Polls `probe` until it returns something other than undefined or false, and returns that; a probe
 * that throws counts as not yet. For what announces no change (a child process, another program's files).
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Something a test watches that tells when it changes (the lines a child printed, the events on a bus,
 * the calls a fake received): its owner calls `changed()`, and every `until()` looks again at once.
 */
export class Changes {
  private waiters: (() => void)[] = [];

  changed(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /**
   * Resolves once `check()` holds, looking again after every change (and at least every `recheckMs`).
   * After `limitMs` it rejects with `failure()`, which should say what was awaited and what was seen.
   */
  async until(check: () => boolean, failure: () => string, limitMs = 30_000, recheckMs = 250): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(failure());
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          const at = this.waiters.indexOf(wake);
          if (at >= 0) this.waiters.splice(at, 1);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, recheckMs));
        this.waiters.push(wake);
      });
    }
  }
}
