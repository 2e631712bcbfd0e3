// Failed logins, for every service that takes a password (SMTP AUTH now; IMAP, POP3 and the web page
// later): one guard per process, shared by all of them, so a guesser cannot spread its tries over
// protocols. The rules (issue 6):
// - An attempt counts before the password is hashed: an attempt in flight counts as a failure until it
//   succeeds, so N parallel attempts from one address never get more than the limit checked.
// - Per client address: each failure is answered after a delay that doubles (authFailureDelayMs up to
//   authFailureMaxDelayMs); at authFailureLimit failures within the window the address is refused
//   (454 4.7.0 over SMTP) until the oldest of them leaves the window. A success does not wipe them: one
//   known account must not reset the penalty between guesses at others.
// - Per account (the name tried, known or not, so a refusal says nothing about which names exist):
//   failures from addresses that have not logged in to it lately count towards authAccountFailureLimit
//   within the window; past it, those addresses are refused for that account. An address that logged in
//   to the account successfully within authKnownAddressSeconds (the account keeps its last few) is not
//   counted and not refused, so guessing from many addresses slows the attacker to the account's limit
//   without locking the real user out. The price: while an account is under attack, its user cannot log in
//   from an address never seen before (a phone on a new network) until the window passes.
// - The state survives a restart: it is saved through LoginGuardPersistence at most once a second after a
//   change, and at stop(), bounded in size (MAX_SAVED entries of each kind).
// Everything is kept in bounded maps, so a scan from many addresses or at many names cannot grow it
// without limit (the least recently touched entries go first).
import { normalizeAddress } from './address.js';
import type { SettingsStore } from './interfaces.js';

export interface LoginGuardSettings {
  authFailureDelayMs: number;
  authFailureMaxDelayMs: number;
  /** Failures (and attempts in flight) per client address within the window before it is refused. */
  authFailureLimit: number;
  authFailureWindowSeconds: number;
  /** Failures per account, from addresses it does not know, within the window before they are refused. */
  authAccountFailureLimit: number;
  /** How long an address that logged in to an account stays known to it. */
  authKnownAddressSeconds: number;
}

/** Where the guard keeps its state between runs (a settings key of the store, see settingsPersistence). */
export interface LoginGuardPersistence {
  load(): Promise<unknown>;
  save(state: SavedLoginGuard): Promise<void>;
}

/** The saved form: times in seconds before `savedAt` (ms since the epoch), to keep it small. */
export interface SavedLoginGuard {
  version: 1;
  savedAt: number;
  addresses: [address: string, agoSeconds: number[]][];
  accounts: [account: string, agoSeconds: number[]][];
  known: [account: string, [address: string, agoSeconds: number][]][];
}

/** One login attempt that was let through to the password check. Settle it exactly once. */
export interface LoginAttempt {
  succeeded(): void;
  /** Counts the failure; returns how long to wait (ms) before telling the client. */
  failed(): number;
  /** The check could not be made (a fault of ours, or too busy): counts as neither. */
  abandoned(): void;
}

export type LoginAdmission = { admitted: true; attempt: LoginAttempt } | { admitted: false; refused: 'address' | 'account' };

/** Entries of each kind kept in memory; beyond it the least recently touched is forgotten. */
const MAX_TRACKED = 10_000;
/** Entries of each kind saved; the most recently touched. */
export const MAX_SAVED = 1_000;
/** Addresses an account remembers as having logged in to it. */
export const KNOWN_PER_ACCOUNT = 8;
const SAVE_EVERY_MS = 1_000;

interface Failures {
  /** Times of recent failures, oldest first; at most as many as the limit (more would not change anything). */
  at: number[];
  inFlight: number;
}

export class LoginGuard {
  private readonly addresses = new Map<string, Failures>();
  private readonly accounts = new Map<string, Failures>();
  /** Per account, the addresses that logged in to it and when they last did, most recent last. */
  private readonly known = new Map<string, Map<string, number>>();
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private dirty = false;
  private saveFailing = false;
  private stopped = false;
  private sweptAt = 0;

  constructor(
    private readonly settings: LoginGuardSettings,
    private readonly persistence?: LoginGuardPersistence,
    private readonly now: () => number = Date.now,
    /** Told when saving starts failing (once until a save succeeds again); the guard works on from memory. */
    private readonly saveFailed: (err: unknown) => void = () => {},
  ) {}

  /** Takes up the state saved by an earlier run; anything malformed in it is skipped. */
  async load(): Promise<void> {
    const saved = await this.persistence?.load();
    if (!isSaved(saved)) return;
    const toTime = (ago: number) => saved.savedAt - ago * 1000;
    for (const [address, agos] of saved.addresses) this.restore(this.addresses, address, agos.map(toTime), this.settings.authFailureLimit);
    for (const [account, agos] of saved.accounts) this.restore(this.accounts, account, agos.map(toTime), this.settings.authAccountFailureLimit);
    for (const [account, entries] of saved.known) {
      const known = new Map<string, number>();
      for (const [address, ago] of entries.slice(-KNOWN_PER_ACCOUNT)) if (toTime(ago) > this.knownSince()) known.set(address, toTime(ago));
      if (known.size > 0) this.known.set(account, known);
    }
  }

  /** Asks to check a password for `username` from `address`: refused, or let through as an attempt in flight. */
  begin(address: string, username: string): LoginAdmission {
    this.sweep();
    const account = accountKey(username);
    const byAddress = this.touch(this.addresses, address);
    if (this.count(byAddress) >= this.settings.authFailureLimit) return { admitted: false, refused: 'address' };
    const knownHere = this.isKnown(account, address);
    const byAccount = knownHere ? undefined : this.touch(this.accounts, account);
    if (byAccount && this.count(byAccount) >= this.settings.authAccountFailureLimit) return { admitted: false, refused: 'account' };
    byAddress.inFlight += 1;
    if (byAccount) byAccount.inFlight += 1;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      byAddress.inFlight -= 1;
      if (byAccount) byAccount.inFlight -= 1;
      return true;
    };
    return {
      admitted: true,
      attempt: {
        succeeded: () => {
          if (!settle()) return;
          this.remember(account, address);
        },
        failed: () => {
          if (!settle()) return 0;
          const failures = this.record(byAddress, this.settings.authFailureLimit);
          if (byAccount) this.record(byAccount, this.settings.authAccountFailureLimit);
          this.changed();
          const delay = this.settings.authFailureDelayMs * 2 ** (failures - 1);
          return Math.min(delay, this.settings.authFailureMaxDelayMs);
        },
        abandoned: () => void settle(),
      },
    };
  }

  /** Saves what is pending and stops saving. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await this.saving;
    if (this.dirty) await this.save();
  }

  /** The saved form of the state now (also what tests look at). */
  toSaved(): SavedLoginGuard {
    const savedAt = this.now();
    const ago = (at: number) => Math.max(0, Math.round((savedAt - at) / 1000));
    const failures = (map: Map<string, Failures>): [string, number[]][] =>
      [...map].filter(([, f]) => this.recent(f).length > 0).slice(-MAX_SAVED).map(([key, f]) => [key, this.recent(f).map(ago)]);
    const known = [...this.known].slice(-MAX_SAVED).map(([account, addresses]): [string, [string, number][]] => [account, [...addresses].map(([address, at]) => [address, ago(at)])]);
    return { version: 1, savedAt, addresses: failures(this.addresses), accounts: failures(this.accounts), known };
  }

  private windowStart(): number {
    return this.now() - this.settings.authFailureWindowSeconds * 1000;
  }

  private knownSince(): number {
    return this.now() - this.settings.authKnownAddressSeconds * 1000;
  }

  private recent(failures: Failures): number[] {
    const since = this.windowStart();
    if (failures.at.length > 0 && failures.at[0]! <= since) failures.at = failures.at.filter((at) => at > since);
    return failures.at;
  }

  private count(failures: Failures): number {
    return this.recent(failures).length + failures.inFlight;
  }

  private record(failures: Failures, limit: number): number {
    const recent = this.recent(failures);
    recent.push(this.now());
    if (recent.length > limit) recent.splice(0, recent.length - limit);
    return recent.length;
  }

  /** The entry for `key`, made if need be, moved to the most recently touched end. */
  private touch(map: Map<string, Failures>, key: string): Failures {
    const failures = map.get(key) ?? { at: [], inFlight: 0 };
    map.delete(key);
    map.set(key, failures);
    if (map.size > MAX_TRACKED) map.delete(map.keys().next().value as string);
    return failures;
  }

  private restore(map: Map<string, Failures>, key: string, times: number[], limit: number): void {
    const since = this.windowStart();
    const at = times.filter((time) => time > since && time <= this.now()).sort((a, b) => a - b).slice(-limit);
    if (at.length > 0) this.touch(map, key).at = at;
  }

  private isKnown(account: string, address: string): boolean {
    const at = this.known.get(account)?.get(address);
    return at !== undefined && at > this.knownSince();
  }

  private remember(account: string, address: string): void {
    const known = this.known.get(account) ?? new Map<string, number>();
    known.delete(address);
    known.set(address, this.now());
    if (known.size > KNOWN_PER_ACCOUNT) known.delete(known.keys().next().value as string);
    this.known.delete(account);
    this.known.set(account, known);
    if (this.known.size > MAX_TRACKED) this.known.delete(this.known.keys().next().value as string);
    this.changed();
  }

  /**
   * Forgets what no longer counts, once a window: a scanner that failed once and never came back would
   * otherwise stay for good, and port 587 sees thousands of them a day.
   */
  private sweep(): void {
    const now = this.now();
    if (now - this.sweptAt < this.settings.authFailureWindowSeconds * 1000) return;
    this.sweptAt = now;
    for (const map of [this.addresses, this.accounts]) {
      for (const [key, failures] of map) if (failures.inFlight === 0 && this.recent(failures).length === 0) map.delete(key);
    }
    const since = this.knownSince();
    for (const [account, known] of this.known) {
      for (const [address, at] of known) if (at <= since) known.delete(address);
      if (known.size === 0) this.known.delete(account);
    }
  }

  private changed(): void {
    this.dirty = true;
    if (!this.persistence || this.stopped || this.saveTimer || this.saving) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save();
    }, SAVE_EVERY_MS);
    this.saveTimer.unref();
  }

  private async save(): Promise<void> {
    if (!this.persistence) return;
    this.dirty = false;
    this.saving = this.persistence.save(this.toSaved()).then(
      () => void (this.saveFailing = false),
      (err: unknown) => {
        this.dirty = true;
        if (!this.saveFailing) this.saveFailed(err);
        this.saveFailing = true;
      },
    );
    await this.saving;
    this.saving = undefined;
    // Changes made while that save ran go in the next one, a second later.
    if (this.dirty) this.changed();
  }
}

/** The name a login was tried for, as the directory would look it up (so `Alice@` and `alice@` are one). */
function accountKey(username: string): string {
  return normalizeAddress(username.normalize('NFC'));
}

function isSaved(value: unknown): value is SavedLoginGuard {
  if (typeof value !== 'object' || value === null) return false;
  const saved = value as Partial<SavedLoginGuard>;
  const entries = (list: unknown, valid: (entry: unknown) => boolean) => Array.isArray(list) && list.every((e) => Array.isArray(e) && typeof e[0] === 'string' && valid(e[1]));
  const numbers = (list: unknown) => Array.isArray(list) && list.every((n) => typeof n === 'number' && Number.isFinite(n));
  return (
    saved.version === 1 &&
    typeof saved.savedAt === 'number' &&
    entries(saved.addresses, numbers) &&
    entries(saved.accounts, numbers) &&
    entries(saved.known, (list) => entries(list, (n) => typeof n === 'number' && Number.isFinite(n)))
  );
}

/** The guard's state kept under one key of the store's settings (written in a synced batch). */
export function settingsPersistence(settings: SettingsStore, key = 'login-guard'): LoginGuardPersistence {
  return {
    load: () => settings.getSetting<unknown>(key),
    save: (state) => settings.putSetting(key, state),
  };
}
