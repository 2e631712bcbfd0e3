// Rate limits for log lines about client behaviour (a refused connection, a TLS handshake dropped, a
// client leaving mid-message, a failed login), shared by every service that talks to the network, so a
// flood from one address cannot turn into a flood of log (issue 6, 2.3 MB in 20 s before this):
// - per source (a client address) and kind: at most `linesPerWindow` lines a window; the rest are counted;
// - per kind, over all sources: at most `linesPerWindowAllSources`, so many addresses cannot add up to a flood;
// - when a window in which lines were held back ends, `report` is told how many, once: the caller writes one
//   line for them. Windows that end quietly are found by a timer (or flush()).
// The table of sources is bounded: past `maxSources` a new source is counted against its kind's total only.

export interface LogThrottleSettings {
  linesPerWindow: number;
  linesPerWindowAllSources: number;
  windowMs: number;
  maxSources: number;
}

export const DEFAULT_LOG_THROTTLE: LogThrottleSettings = {
  linesPerWindow: 10,
  linesPerWindowAllSources: 50,
  windowMs: 60_000,
  maxSources: 10_000,
};

/** What `report` is told: `source` is undefined for the total over all sources. */
export interface Suppressed {
  kind: string;
  source: string | undefined;
  suppressed: number;
}

interface Window extends Suppressed {
  startedAt: number;
  lines: number;
}

export class LogThrottle {
  private readonly bySource = new Map<string, Window>();
  private readonly byKind = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: LogThrottleSettings,
    private readonly report: (suppressed: Suppressed) => void,
    private readonly now: () => number = Date.now,
    /** Look for ended windows on a timer; off when the caller calls flush() itself (tests). */
    timed = true,
  ) {
    if (timed) {
      this.timer = setInterval(() => this.flush(), settings.windowMs);
      this.timer.unref();
    }
  }

  /** Whether a line of `kind` about `source` may be written now; if not it is counted. */
  admit(source: string, kind: string): boolean {
    const total = this.current(this.byKind, kind, kind, undefined);
    const key = `${kind} ${source}`;
    const tracked = this.bySource.has(key) || this.bySource.size < this.settings.maxSources;
    const own = tracked ? this.current(this.bySource, key, kind, source) : undefined;
    if (own && own.lines >= this.settings.linesPerWindow) {
      own.suppressed += 1;
      return false;
    }
    if (total.lines >= this.settings.linesPerWindowAllSources) {
      total.suppressed += 1;
      return false;
    }
    total.lines += 1;
    if (own) own.lines += 1;
    return true;
  }

  /** Reports and forgets every window that has ended. */
  flush(): void {
    for (const map of [this.bySource, this.byKind]) {
      for (const [key, window] of map) {
        if (!this.ended(window)) continue;
        map.delete(key);
        this.tell(window);
      }
    }
  }

  /** Stops the timer, reporting what was held back so far. */
  dispose(): void {
    clearInterval(this.timer);
    for (const map of [this.bySource, this.byKind]) {
      for (const window of map.values()) this.tell(window);
      map.clear();
    }
  }

  private ended(window: Window): boolean {
    return this.now() - window.startedAt >= this.settings.windowMs;
  }

  private tell(window: Window): void {
    if (window.suppressed > 0) this.report({ kind: window.kind, source: window.source, suppressed: window.suppressed });
  }

  /** The window of `key` now: a new one when the last has ended (reporting what it held back). */
  private current(map: Map<string, Window>, key: string, kind: string, source: string | undefined): Window {
    const window = map.get(key);
    if (window && !this.ended(window)) return window;
    if (window) this.tell(window);
    const next = { kind, source, startedAt: this.now(), lines: 0, suppressed: 0 };
    map.set(key, next);
    return next;
  }
}
