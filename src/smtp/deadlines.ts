// Deadlines that a slow client cannot stretch (issue 6, slowloris). smtp-server's own timeout restarts
// with every byte, so a line, a NOOP loop or a DATA body trickled at a byte a second would stay forever.
// Per connection:
// - a command: after each reply, the whole next command line must arrive within commandTimeoutSeconds;
// - DATA: once as long as a command may take has passed, the body must average at least minDataRate
//   bytes a second (checked by receive.ts as the bytes come, through dataTooSlow());
// - the session: sessionTimeoutSeconds at most, whatever it does;
// - junk: at most junkCommandLimit NOOP, RSET, HELP, VRFY, EXPN, HELO and EHLO.
// A client past one of them is told `421 4.4.2` (or 4.7.0 for junk) and the connection closed. While one
// of our hooks works on its command (hashing a password, committing a message) nothing is cut short: the
// client is waiting for us, not the other way round.
import type { ConnectionHandle, ConnectionObserver } from './connection-hooks.js';

export interface DeadlineSettings {
  commandTimeoutSeconds: number;
  minDataRate: number;
  sessionTimeoutSeconds: number;
  junkCommandLimit: number;
}

const JUNK = new Set(['NOOP', 'RSET', 'HELP', 'VRFY', 'EXPN', 'HELO', 'EHLO']);
/** How long to look again when a deadline falls while our hook is busy. */
const BUSY_RECHECK_MS = 1_000;

export class SessionClock implements ConnectionObserver {
  private commandTimer: NodeJS.Timeout | undefined;
  private readonly sessionTimer: NodeJS.Timeout;
  private junk = 0;
  private closed = false;

  constructor(
    private readonly connection: ConnectionHandle,
    private readonly settings: DeadlineSettings,
    /** Told which deadline ended the session. */
    private readonly expired: (what: string) => void,
  ) {
    this.sessionTimer = setTimeout(() => this.end('session time limit', '4.4.2 Session time limit exceeded, closing connection'), settings.sessionTimeoutSeconds * 1000);
    this.sessionTimer.unref();
    this.armCommand();
  }

  command(name: string): void {
    clearTimeout(this.commandTimer);
    this.commandTimer = undefined;
    if (JUNK.has(name) && ++this.junk > this.settings.junkCommandLimit) {
      this.end('too many junk commands', '4.7.0 Too many commands without mail, closing connection');
    }
  }

  reply(code: number): void {
    // 354: the body follows, timed by dataTooSlow(); 334: an AUTH challenge, answered like a command.
    if (code === 354 || code === 221 || code === 421) clearTimeout(this.commandTimer);
    else this.armCommand();
  }

  /** Whether a DATA transfer that began at `startedAt` and has brought `received` bytes is too slow. */
  dataTooSlow(startedAt: number, received: number, now = Date.now()): boolean {
    // A client may pause before the body as long as before a command.
    const elapsed = now - startedAt - this.settings.commandTimeoutSeconds * 1000;
    return elapsed > 0 && received < (elapsed / 1000) * this.settings.minDataRate;
  }

  /** Ends a DATA transfer that dataTooSlow() found too slow. */
  endSlowData(): void {
    // During DATA our hook is busy by definition (it is reading the body): the client is the slow one.
    this.end('DATA too slow', `4.4.2 Data transfer too slow (under ${this.settings.minDataRate} bytes a second), closing connection`, true);
  }

  dispose(): void {
    this.closed = true;
    clearTimeout(this.commandTimer);
    clearTimeout(this.sessionTimer);
  }

  private armCommand(): void {
    // A reply can still be sent after the connection closed (our DATA hook answering a client that left):
    // a timer armed then would hold the whole connection for commandTimeoutSeconds.
    if (this.closed) return;
    clearTimeout(this.commandTimer);
    this.commandTimer = setTimeout(() => this.end('command time limit', '4.4.2 Timeout waiting for a command, closing connection'), this.settings.commandTimeoutSeconds * 1000);
    this.commandTimer.unref();
  }

  private end(what: string, text: string, force = false): void {
    if (this.closed) return;
    if (this.connection.busy && !force) {
      setTimeout(() => this.end(what, text), BUSY_RECHECK_MS).unref();
      return;
    }
    this.expired(what);
    this.connection.send(421, text);
    this.connection.close();
    this.dispose();
  }
}
