// What `letterbox doctor` reports: a list of findings, each ok, warning or problem, with one line of
// advice when it is not ok. Every check is a small function that returns findings; the command line
// and (later) the web page show the same report.

export type Level = 'ok' | 'warning' | 'problem';

export interface Finding {
  /** Which check: `domain`, `mx`, `spf`, `dmarc`, `hostname`, `ptr`, `outbound`, `smarthost`, `tls`, `clock`, `disk`, `listener`. */
  check: string;
  /** What it is about: a domain, the hostname, an address, a listener. */
  subject: string;
  level: Level;
  /** What was found, in one line. */
  summary: string;
  /** What to do about it; present unless the level is ok. */
  advice?: string;
}

export interface DoctorReport {
  hostname: string;
  problems: number;
  warnings: number;
  findings: Finding[];
}

/** What the doctor needs to know of the box that the store does not hold; built by main.ts from the config. */
export interface DoctorSetup {
  hostname: string;
  /** `dns.servers` ("IP", "IP:port", "[IPv6]:port"); empty for the system resolver. */
  dnsServers: readonly string[];
  /** Per DNS query try. */
  dnsTimeoutMs: number;
  /** The TLS certificate served by the listeners (PEM, possibly with its chain). */
  certificatePath: string;
  /** The store's directory, whose size is reported. */
  storePath: string;
  /** Free bytes below which the SMTP service refuses new mail. */
  storeReserveBytes: number;
}

export function ok(check: string, subject: string, summary: string): Finding {
  return { check, subject, level: 'ok', summary };
}

export function warning(check: string, subject: string, summary: string, advice: string): Finding {
  return { check, subject, level: 'warning', summary, advice };
}

export function problem(check: string, subject: string, summary: string, advice: string): Finding {
  return { check, subject, level: 'problem', summary, advice };
}

export function report(hostname: string, findings: Finding[]): DoctorReport {
  return {
    hostname,
    problems: findings.filter((f) => f.level === 'problem').length,
    warnings: findings.filter((f) => f.level === 'warning').length,
    findings,
  };
}
