// The server's fixed words: the CAPABILITY list as a connection stands, and the texts of its greeting
// and BYEs (what a user may see in a client's error box, so plain English).

export const texts = {
  greeting: 'Letterbox ready',
  shuttingDown: 'Server shutting down',
  autologout: 'Autologout; idle for too long', // RFC 3501 5.4
  tooManyBad: 'Too many invalid commands',
  tooManyLoginFailures: 'Too many failed logins',
  tooManyConnections: 'Too many connections from your address',
  logout: 'Logging out',
  // Dovecot's words for the same event, which clients have seen before.
  folderGone: 'Selected mailbox was deleted, have to disconnect',
  internal: 'Internal error',
} as const;

/** Where a connection stands, for its CAPABILITY list. */
export interface CapabilityState {
  /** TLS on the connection now. */
  secure: boolean;
  /** Port 143 (STARTTLS may be offered) rather than 993. */
  startTlsPort: boolean;
  /** A client on loopback may log in without TLS. */
  local: boolean;
  authenticated: boolean;
  compressed: boolean;
  /** RFC 7889 APPENDLIMIT once logged in. */
  appendLimit: number;
}

/** Offered before login too: what a client needs to choose how to log in. */
const BASE = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE'];

/** Offered once logged in (Dovecot, too, keeps the long list for after login, RFC 3501 7.2.1 allows it). */
const AFTER_LOGIN = [
  'NAMESPACE', 'UNSELECT', 'UIDPLUS', 'MOVE', 'CHILDREN', 'SPECIAL-USE', 'LIST-EXTENDED', 'LIST-STATUS',
  'CONDSTORE', 'QRESYNC', 'ESEARCH', 'BINARY', 'QUOTA', 'QUOTA=RES-STORAGE', 'UTF8=ACCEPT',
];

export function capabilityList(state: CapabilityState): string[] {
  const caps = [...BASE];
  if (state.authenticated) {
    caps.push(...AFTER_LOGIN, `APPENDLIMIT=${state.appendLimit}`);
    // RFC 4978 3: not offered again once it is active.
    if (!state.compressed) caps.push('COMPRESS=DEFLATE');
    return caps;
  }
  if (state.startTlsPort && !state.secure) caps.push('STARTTLS');
  // RFC 3501 6.2.3, 7.2.1: LOGINDISABLED, and no AUTH= mechanism, where a password may not be sent.
  if (state.secure || state.local) caps.push('AUTH=PLAIN');
  else caps.push('LOGINDISABLED');
  return caps;
}

/**
 * Addresses that count as this machine: 127.0.0.0/8 and ::1, plain or IPv4-mapped. A password sent over
 * loopback never crosses a wire, so LOGIN is allowed there before TLS.
 */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}
